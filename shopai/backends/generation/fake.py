"""Deterministic, instant generation for unit tests."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from shopai.backends.generation.base import GenerationBackend, GenerationRejected, TransientError, cut_at_stop

_FACT = re.compile(r"^\s*(?:[-*•]\s*)?([^\W\d_][\w /]{0,40}?)\s*[:：]\s*(.+?)\s*$")


_MARKER = re.compile(r"^\W{3}.*\W{3}$|^\W*$")  # fences such as <<<PRODUCT DATA>>>, ---, ```


_WORD = re.compile(r"\S+")


class FakeGenerationBackend(GenerationBackend):
    """Deterministic, instant copy for unit tests, built from the prompt.

    The last user message's ``key: value`` lines are its facts; the output is
    ``"{name}. {Key}: {value}. ..."``, ``name`` coming from a "name"/"product" fact, else
    from the first other line that is not a fence such as ``<<<PRODUCT DATA>>>``. One
    whitespace-separated word counts as one "token"; the text is cut to the token budget
    and at stop strings. ``calls`` counts generate attempts and ``requests`` keeps each
    request's messages and options. CONFIG ``fail_first`` (0): the first N attempts raise
    TransientError, to test retries. ``context_tokens`` (none): a prompt whose tokens plus the
    token budget exceed it is rejected (GenerationRejected), as llama.cpp rejects one longer than
    n_ctx. ``reject_containing`` (none): a prompt containing this text is rejected, as a server
    refuses a request (HTTP 400). ``delay`` (0 s): each attempt sleeps this long first, as a slow
    model does. ``replies`` (none): ``{text: reply}``; the first whose text occurs in the prompt
    is the reply (its words, to the token budget), so a test can make the model say anything.
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.fail_first = self._number("fail_first", 0, int, minimum=0)
        self.context_tokens = self._number("context_tokens", 0, int, minimum=0) or None
        self.reject_containing = str(config.get("reject_containing") or "")
        self.delay = self._number("delay", 0.0, float, minimum=0.0)
        self.replies = config.get("replies") or {}
        if not isinstance(self.replies, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in self.replies.items()
        ):
            raise ImproperlyConfigured(f"{self.setting('replies')} must map prompt texts to replies (strings).")
        if "retry_backoff" not in config:
            self.retry_backoff = 0.0
        self.calls = 0
        self.requests: list[dict[str, Any]] = []
        self._calls_lock = threading.Lock()

    @property
    def name(self) -> str:
        return str(self.config.get("name", "fake-generation"))

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is to this backend: its whitespace-separated words."""
        return len(_WORD.findall(text))

    def compose(self, messages: list[dict[str, str]]) -> str:
        """The full text this backend writes for ``messages``, before the token budget."""
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        lines = [line.strip() for line in user.splitlines() if not _MARKER.match(line.strip())]
        facts = [(m.group(1).strip(), m.group(2)) for m in map(_FACT.match, lines) if m]
        title = next((value for key, value in facts if key.lower() in ("name", "product")), None)
        if title is None:
            title = next((line for line in lines if not _FACT.match(line)), "Product")
        parts = [title.rstrip(".") + "."]
        parts += [f"{key[:1].upper()}{key[1:]}: {value.rstrip('.')}." for key, value in facts if value != title]
        return " ".join(parts)

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        with self._calls_lock:
            self.calls += 1
            attempt = self.calls
            self.requests.append(
                {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "stop": stop}
            )
        if self.delay:
            time.sleep(self.delay)
        if attempt <= self.fail_first:
            raise TransientError(f"fake failure {attempt} of {self.fail_first}")
        prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
        if self.context_tokens and prompt_tokens + max_tokens > self.context_tokens:
            raise GenerationRejected(
                f"Requested tokens ({prompt_tokens} + {max_tokens}) exceed context window of {self.context_tokens}",
                status=400,
            )
        if self.reject_containing and any(self.reject_containing in m["content"] for m in messages):
            raise GenerationRejected(
                f"The request was refused (400): it contains {self.reject_containing!r}", status=400
            )
        prompt = "\n".join(m["content"] for m in messages)
        reply = next((value for key, value in self.replies.items() if key in prompt), None)
        words = _WORD.findall(self.compose(messages) if reply is None else reply)
        finish = "length" if len(words) > max_tokens else "stop"
        text, stopped = cut_at_stop(" ".join(words[:max_tokens]), stop)
        if stopped:
            finish = "stop"
        return text.strip(), prompt_tokens, len(_WORD.findall(text)), finish, self.name
