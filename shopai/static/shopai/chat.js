/* shopai storefront assistant: talks to POST <ask> and POST <ask>/<id>/feedback and, while a
 * colleague holds the chat (a case is open), polls GET <messages>?after=<id> for their replies.
 *
 * Everything the API returns is shop text, so it only ever reaches the page through
 * textContent (never innerHTML); link targets are limited to http(s), mailto and tel.
 *
 * Its own words come from shopai's JavaScript catalogue (Django's JavaScriptCatalog, which the
 * {% shopai_chat %} tag loads first); without one on the page they stay English.
 */
(function () {
  "use strict";

  var SESSION_KEY = "shopai-chat-session";
  // While a case with staff is open: "1", so that a reload goes on polling.
  var CASE_KEY = "shopai-chat-case";
  // The id of the last staff message shown: a reload asks only for newer ones.
  var AFTER_KEY = "shopai-chat-after";
  var ERROR_POLL_SECONDS = 60;
  var MIN_POLL_SECONDS = 2;
  // What the "Talk to a human" button asks for when the page has no catalogue: the page's language.
  var HUMAN_REQUEST = { en: "I want to talk to a person", zh: "我想找人工客服" };
  var SAFE_PROTOCOLS = ["http:", "https:", "mailto:", "tel:"];

  /* The catalogue's translation (window.gettext, defined by the catalogue script), else the English. */
  function gettext(text) {
    return typeof window.gettext === "function" ? window.gettext(text) : text;
  }

  function pageLanguage() {
    return (document.documentElement.lang || "en").toLowerCase().split("-")[0];
  }

  function readStored(key) {
    try {
      return window.sessionStorage.getItem(key) || "";
    } catch (e) {
      return ""; // storage disabled: every question starts a new conversation
    }
  }

  function store(key, value) {
    try {
      if (value) window.sessionStorage.setItem(key, value);
      else window.sessionStorage.removeItem(key);
    } catch (e) {
      /* storage disabled */
    }
  }

  function readSession() {
    return readStored(SESSION_KEY);
  }

  function storeSession(value) {
    store(SESSION_KEY, value);
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHref(url) {
    if (typeof url !== "string" || !url) return null;
    try {
      var parsed = new URL(url, window.location.href);
      return SAFE_PROTOCOLS.indexOf(parsed.protocol) >= 0 ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function capitalise(text) {
    text = String(text || "");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function ChatError(message) {
    this.message = message;
  }

  function Chat(root) {
    this.root = root;
    this.data = root.dataset;
    this.toggle = root.querySelector(".shopai-chat-toggle");
    this.panel = root.querySelector(".shopai-chat-panel");
    this.messages = root.querySelector(".shopai-chat-messages");
    this.loading = root.querySelector(".shopai-chat-loading");
    this.form = root.querySelector(".shopai-chat-form");
    this.input = root.querySelector(".shopai-chat-input");
    this.send = root.querySelector(".shopai-chat-send");
    this.human = root.querySelector(".shopai-chat-human");
    this.busy = false;
    this.session = "";
    // Polling for staff replies: kept here too in case storage is disabled.
    this.polling = false;
    this.pollTimer = null;
    this.pollPaused = false;
    this.inFlight = false;
    this.after = Number(readStored(AFTER_KEY)) || 0;
    this.bind();
    if (readStored(CASE_KEY) && readSession()) this.startPolling(0); // replies sent while the page reloaded
  }

  Chat.prototype.text = function (name, fallback) {
    return this.data[name] || fallback;
  };

  Chat.prototype.bind = function () {
    var chat = this;
    this.toggle.addEventListener("click", function () {
      chat.setOpen(chat.panel.hidden);
    });
    this.root.querySelector(".shopai-chat-close").addEventListener("click", function () {
      chat.setOpen(false);
    });
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") chat.setOpen(false);
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      chat.ask(chat.input.value);
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        chat.ask(chat.input.value);
      }
    });
    this.human.addEventListener("click", function () {
      var phrase = chat.data.humanRequest || gettext("I want to talk to a person");
      if (phrase === HUMAN_REQUEST.en) phrase = HUMAN_REQUEST[pageLanguage()] || phrase;
      chat.ask(phrase, { keepInput: true });
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && chat.pollPaused) {
        chat.pollPaused = false;
        chat.poll();
      }
    });
  };

  Chat.prototype.setOpen = function (open) {
    this.panel.hidden = !open;
    this.toggle.setAttribute("aria-expanded", open ? "true" : "false");
    this.root.classList.toggle("shopai-chat--open", open);
    if (open) {
      this.setUnread(false);
      this.input.focus();
      this.scrollToEnd();
    } else {
      this.toggle.focus();
    }
  };

  Chat.prototype.scrollToEnd = function () {
    this.messages.scrollTop = this.messages.scrollHeight;
  };

  Chat.prototype.setBusy = function (busy) {
    this.busy = busy;
    this.loading.hidden = !busy;
    this.send.disabled = busy;
    this.human.disabled = busy;
    this.root.classList.toggle("shopai-chat--busy", busy);
    if (busy) this.scrollToEnd();
  };

  Chat.prototype.csrfToken = function () {
    var name = this.data.csrfCookie || "csrftoken";
    var cookies = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < cookies.length; i++) {
      var pair = cookies[i].trim();
      if (pair.indexOf(name + "=") === 0) return decodeURIComponent(pair.slice(name.length + 1));
    }
    // CSRF_COOKIE_HTTPONLY or CSRF_USE_SESSIONS: fall back to the form's token.
    var field = this.form.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  };

  /* POST JSON; resolves with the parsed body (or null), rejects with a ChatError a person can read. */
  Chat.prototype.post = function (url, payload) {
    var chat = this;
    return window
      .fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": this.csrfToken(),
        },
        body: JSON.stringify(payload),
      })
      .catch(function () {
        throw new ChatError(
          chat.text("textNetworkError", gettext("We could not reach the shop. Check your connection and try again."))
        );
      })
      .then(function (response) {
        return response.text().then(function (body) {
          var data = null;
          try {
            data = body ? JSON.parse(body) : null;
          } catch (e) {
            data = null;
          }
          if (!response.ok) {
            var message = data && typeof data.error === "string" && data.error.trim() ? data.error : "";
            if (!message) {
              message = chat
                .text(
                  "textServerError",
                  gettext("Something went wrong on our side (HTTP {status}). Please try again in a moment.")
                )
                .replace("{status}", String(response.status));
            }
            throw new ChatError(message);
          }
          return data;
        });
      });
  };

  Chat.prototype.ask = function (question, options) {
    question = String(question || "").trim();
    if (!question || this.busy) return;
    var keepInput = options && options.keepInput;
    var chat = this;
    if (!keepInput) this.input.value = "";
    this.addUserMessage(question);
    var payload = { question: question };
    var session = readSession() || this.session;
    if (session) payload.session_id = session;
    this.setBusy(true);
    this.post(this.data.askUrl, payload)
      .then(function (data) {
        if (!data || typeof data.reply !== "string") {
          throw new ChatError(
            chat
              .text(
                "textServerError",
                gettext("Something went wrong on our side (HTTP {status}). Please try again in a moment.")
              )
              .replace("{status}", "200")
          );
        }
        if (data.session_id) {
          var previous = readSession() || chat.session;
          chat.session = String(data.session_id); // kept here too in case storage is disabled
          storeSession(chat.session);
          if (previous && previous !== chat.session) chat.stopPolling(); // a new conversation
        }
        chat.addReply(data);
        chat.followCase(data.case);
      })
      .catch(function (error) {
        chat.addError(error instanceof ChatError ? error.message : String(error));
        // Give the question back so that the shopper can send it again.
        if (!keepInput && !chat.input.value) chat.input.value = question;
      })
      .then(function () {
        chat.setBusy(false);
        chat.input.focus();
      });
  };

  Chat.prototype.append = function (item) {
    this.messages.appendChild(item);
    this.scrollToEnd();
    return item;
  };

  Chat.prototype.addUserMessage = function (question) {
    var item = element("li", "shopai-chat-msg shopai-chat-msg--user");
    item.appendChild(element("p", "shopai-chat-text", question));
    return this.append(item);
  };

  Chat.prototype.addError = function (message) {
    var item = element("li", "shopai-chat-msg shopai-chat-msg--error");
    item.appendChild(element("p", "shopai-chat-text", message));
    return this.append(item);
  };

  Chat.prototype.confidenceText = function (confidence) {
    var value = Math.max(0, Math.min(1, Number(confidence) || 0));
    var word;
    if (value >= 0.9) word = this.text("textVerySure", gettext("very sure"));
    else if (value >= 0.7) word = this.text("textFairlySure", gettext("fairly sure"));
    else if (value >= 0.5) word = this.text("textNotVerySure", gettext("not very sure"));
    else word = this.text("textUnsure", gettext("unsure"));
    return word + " · " + Math.round(value * 100) + "%";
  };

  Chat.prototype.addReply = function (data) {
    var item = element("li", "shopai-chat-msg shopai-chat-msg--bot");
    if (data.language) item.lang = String(data.language);
    if (data.handoff) {
      item.classList.add("shopai-chat-msg--handoff");
      item.appendChild(
        element("p", "shopai-chat-handoff", this.text(
            "textHandoff",
            gettext("A colleague will take over — they will get back to you here or by email.")
          ))
      );
    }
    item.appendChild(element("p", "shopai-chat-text", data.reply));
    item.appendChild(element("p", "shopai-chat-confidence", this.confidenceText(data.confidence)));

    var sources = Array.isArray(data.sources) ? data.sources : [];
    var names = sources
      .map(function (source) {
        return source && (source.question || source.name);
      })
      .filter(Boolean);
    if (names.length) {
      var box = element("div", "shopai-chat-sources");
      box.appendChild(element("p", "shopai-chat-sources-title", this.text("textSources", gettext("Sources"))));
      var list = element("ul", "shopai-chat-sources-list");
      names.forEach(function (name) {
        list.appendChild(element("li", null, name));
      });
      box.appendChild(list);
      item.appendChild(box);
    }

    var links = (Array.isArray(data.links) ? data.links : []).filter(function (link) {
      return link && safeHref(link.url);
    });
    if (links.length) {
      var linkList = element("ul", "shopai-chat-links");
      links.forEach(function (link) {
        var anchor = element("a", "shopai-chat-link", capitalise(link.label || link.url));
        anchor.href = safeHref(link.url);
        var entry = element("li");
        entry.appendChild(anchor);
        linkList.appendChild(entry);
      });
      item.appendChild(linkList);
    }

    if (data.id !== undefined && data.id !== null) {
      item.appendChild(this.feedbackControls(data.id, String(data.session_id || "")));
    }
    return this.append(item);
  };

  Chat.prototype.feedbackControls = function (exchangeId, sessionId) {
    var chat = this;
    var row = element("div", "shopai-chat-feedback");
    var prompt = element("span", "shopai-chat-feedback-prompt", this.text("textHelpful", gettext("Was this helpful?")));
    var yes = element("button", "shopai-chat-feedback-yes", "👍");
    var no = element("button", "shopai-chat-feedback-no", "👎");
    var status = element("span", "shopai-chat-feedback-status");
    yes.type = no.type = "button";
    yes.title = this.text("textHelpfulYes", gettext("Yes, this helped"));
    no.title = this.text("textHelpfulNo", gettext("No, this did not help"));
    yes.setAttribute("aria-label", yes.title);
    no.setAttribute("aria-label", no.title);
    yes.setAttribute("aria-pressed", "false");
    no.setAttribute("aria-pressed", "false");
    row.appendChild(prompt);
    row.appendChild(yes);
    row.appendChild(no);
    row.appendChild(status);

    function vote(helpful, button) {
      yes.disabled = no.disabled = true;
      status.className = "shopai-chat-feedback-status";
      status.textContent = "";
      var url = chat.data.feedbackUrl.replace("{id}", encodeURIComponent(String(exchangeId)));
      chat
        .post(url, { helpful: helpful, session_id: sessionId })
        .then(function () {
          yes.setAttribute("aria-pressed", helpful ? "true" : "false");
          no.setAttribute("aria-pressed", helpful ? "false" : "true");
          button.classList.add("shopai-chat-feedback--chosen");
          status.textContent = chat.text("textThanks", gettext("Thanks for your feedback."));
        })
        .catch(function (error) {
          yes.disabled = no.disabled = false;
          status.className = "shopai-chat-feedback-status shopai-chat-feedback-status--error";
          status.textContent = error instanceof ChatError ? error.message : String(error);
        });
    }
    yes.addEventListener("click", function () {
      vote(true, yes);
    });
    no.addEventListener("click", function () {
      vote(false, no);
    });
    return row;
  };

  /* After a reply: poll while the chat's case with staff is unresolved. */
  Chat.prototype.followCase = function (caseState) {
    if (caseState && caseState.status && caseState.status !== "resolved") this.startPolling();
    else if (caseState && caseState.status === "resolved") this.stopPolling();
  };

  Chat.prototype.pollSeconds = function () {
    var seconds = Number(this.data.pollSeconds);
    return Math.max(MIN_POLL_SECONDS, isFinite(seconds) && seconds > 0 ? seconds : 10);
  };

  Chat.prototype.startPolling = function (delaySeconds) {
    if (!this.data.messagesUrl) return; // an overridden template without the attribute: no polling
    store(CASE_KEY, "1");
    if (this.polling) return;
    this.polling = true;
    this.schedulePoll(delaySeconds === undefined ? this.pollSeconds() : delaySeconds);
  };

  Chat.prototype.stopPolling = function () {
    this.polling = false;
    this.pollPaused = false;
    window.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    store(CASE_KEY, "");
  };

  Chat.prototype.schedulePoll = function (seconds) {
    var chat = this;
    window.clearTimeout(this.pollTimer);
    this.pollTimer = window.setTimeout(function () {
      chat.pollTimer = null;
      chat.poll();
    }, seconds * 1000);
  };

  Chat.prototype.poll = function () {
    var chat = this;
    window.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (!this.polling) return;
    if (this.inFlight) {
      this.schedulePoll(this.pollSeconds()); // a poll started before a stop and a restart is still out
      return;
    }
    if (document.hidden) {
      this.pollPaused = true; // the visibilitychange listener picks it up again
      return;
    }
    var session = readSession() || this.session;
    if (!session) {
      this.stopPolling();
      return;
    }
    var after = Math.max(this.after, Number(readStored(AFTER_KEY)) || 0);
    var url =
      this.data.messagesUrl.replace("{session}", encodeURIComponent(session)) +
      "?after=" +
      encodeURIComponent(String(after));
    this.inFlight = true;
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404) return { stop: true }; // not this visitor's chat, or it ended
        if (!response.ok) throw new ChatError(String(response.status));
        return response.json();
      })
      .then(function (data) {
        chat.inFlight = false;
        if (!chat.polling) return;
        if (!data || data.stop) {
          chat.stopPolling();
          return;
        }
        chat.addStaffMessages(Array.isArray(data.messages) ? data.messages : []);
        if (!data.case || data.case.status === "resolved") {
          chat.stopPolling();
          if (data.case) {
            var closed = gettext("Our colleague has closed this conversation. Ask me anything else.");
            chat.addNotice(chat.text("textCaseResolved", closed));
          }
          return;
        }
        chat.schedulePoll(chat.pollSeconds());
      })
      .catch(function () {
        chat.inFlight = false;
        if (chat.polling) chat.schedulePoll(ERROR_POLL_SECONDS); // offline, throttled or a bad body: back off
      });
  };

  Chat.prototype.addStaffMessages = function (messages) {
    var chat = this;
    var added = 0;
    messages.forEach(function (message) {
      var id = Number(message && message.id);
      if (!id || id <= chat.after || typeof message.body !== "string") return;
      chat.after = id;
      store(AFTER_KEY, String(id));
      chat.addStaffMessage(message);
      added += 1;
    });
    if (added && this.panel.hidden) this.setUnread(true);
  };

  Chat.prototype.addStaffMessage = function (message) {
    var item = element("li", "shopai-chat-msg shopai-chat-msg--staff");
    var author = typeof message.author === "string" && message.author ? message.author : "";
    if (!author) author = this.text("textStaff", gettext("Customer service"));
    item.appendChild(element("p", "shopai-chat-author", author));
    item.appendChild(element("p", "shopai-chat-text", message.body));
    return this.append(item);
  };

  Chat.prototype.addNotice = function (message) {
    var item = element("li", "shopai-chat-msg shopai-chat-msg--notice");
    item.appendChild(element("p", "shopai-chat-text", message));
    return this.append(item);
  };

  /* A staff reply arrived while the panel was closed: a dot on the button, and its name says so. */
  Chat.prototype.setUnread = function (unread) {
    this.root.classList.toggle("shopai-chat--unread", unread);
    var label = this.text("textUnread", gettext("New reply from our team"));
    var badge = this.toggle.querySelector(".shopai-chat-unread");
    if (unread && !badge) {
      badge = element("span", "shopai-chat-unread");
      badge.appendChild(element("span", "shopai-chat-visually-hidden", label));
      this.toggle.appendChild(badge);
    } else if (!unread && badge) {
      badge.parentNode.removeChild(badge);
    }
  };

  function start() {
    var roots = document.querySelectorAll("[data-shopai-chat]");
    for (var i = 0; i < roots.length; i++) {
      if (!roots[i].shopaiChat) roots[i].shopaiChat = new Chat(roots[i]);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
