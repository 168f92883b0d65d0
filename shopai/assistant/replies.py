"""What a reply is made of: the fixed phrases (translated in shopai/locale), the reply object, links,
and the ``Turn`` the flows (orders, delivery, after-sales) share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _

from shopai.backends.sentiment import Sentiment
from shopai.conf import shopai_settings

# The replies' fixed phrases, in English; shopai/locale holds their translations. A reply is in the
# language of the question, whatever the page's: a shopper who asks in Chinese on an English page
# reads Chinese (the FAQ answer and the product text quoted next to them are in that language too).
PHRASES = {
    "sorry": _("I'm sorry about the trouble."),
    "offer_human": _("If you'd rather talk to a person, just say so and I'll hand you over."),
    "handoff": _("I've passed your message to our customer service team; a colleague will get back to you."),
    "not_sure": _("I'm not sure I can answer that correctly, so I've passed your question to our team."),
    "asked_human": _("Of course — I'm handing you over to a colleague from our customer service team."),
    "sign_in": _("Please sign in so that I can look up your orders."),
    "order": _("Order {number} is {status}."),
    "tracking": _("Tracking number: {tracking}."),
    "order_unknown": _("I couldn't find order {number} on your account. Please check the number."),
    "recent": _("Your recent orders: {orders}."),
    "no_orders": _("I can't see any orders on your account yet."),
    "ask_number": _("Which order do you mean? Tell me its number, e.g. “order 1234”."),
    "cancel_next": _("You can cancel an order that has not shipped yet from your orders page."),
    "cancel_shipped": _(
        "Order {number} has already shipped, so it can no longer be cancelled; you can return it once it arrives."
    ),
    "returns_next": _("You can start a return from your orders page."),
    "product": _("About {name}: {sentence}"),
    "product_unknown": _("The description of {name} doesn't say, so I've asked a colleague to check."),
    # Conversations.
    "ack": _("You're welcome. Anything else I can help with?"),
    "nothing_changed": _("All right, I haven't changed anything."),
    "added_to_case": _("Thanks — I've added this to your conversation with our team; a colleague will reply here."),
    "offer_order_action": _("Tell me the order number and I can check it for you."),
    # Delivery problems.
    "not_shipped_yet": _("It hasn't shipped yet."),
    "on_its_way": _(
        "It's on its way and should arrive by {date}. If it hasn't arrived by then, tell me and I'll open a case."
    ),
    "late_case": _(
        "It should have arrived by {date}. I'm sorry — I've opened a case so a colleague can chase the carrier "
        "and get back to you."
    ),
    "delivered_on": _("Our records say it was delivered on {date}."),
    "delivered_missing": _(
        "If you can't find it, check with neighbours or your building's parcel room; "
        "I've opened a case so a colleague can look into it with the carrier."
    ),
    "lost_wait": _("Parcels sometimes pause in transit; if it hasn't arrived by {date}, tell me and I'll open a case."),
    "lost_case": _("I've opened a case so a colleague can start an investigation with the carrier."),
    "damaged_case": _(
        "I'm sorry it arrived damaged. I've opened a case; please keep the parcel and send photos of "
        "the box and the item — a colleague will tell you where."
    ),
    "address_before_shipping": _(
        "It hasn't shipped yet, so the address can still be changed: I've asked a colleague to do it. "
        "Please don't type your full address here — they will contact you."
    ),
    "address_after_shipping": _(
        "It has already shipped, so only the carrier can redirect it; I've opened a case so a colleague can try."
    ),
    # Returns and cancellations.
    "which_line": _("Which item of order {number} do you want to return? {lines}"),
    "confirm_return": _(
        "To confirm: return {item} from order {number} (returns are accepted until {date}). Shall I request it?"
    ),
    "confirm_cancel": _("To confirm: cancel order {number}. Shall I request it?"),
    "return_requested": _(
        "Done — I've requested the return of {item} from order {number}. A colleague will confirm it by e-mail."
    ),
    "cancel_requested": _("Done — I've requested the cancellation of order {number}. A colleague will confirm it."),
    "already_requested": _("That request is already with our team; you don't need to send it again."),
    "return_window_closed": _("Returns for order {number} closed on {date}, so I can't request one."),
    "return_not_delivered": _("Order {number} hasn't been delivered yet; you can return it once it arrives."),
    "already_cancelled": _("Order {number} has been cancelled already."),
    "already_returned": _("Order {number} has been returned already."),
    "contact_us_case": _(
        "I can't do that from here, so I've passed your request to our team; a colleague will get back to you."
    ),
    # Labels of the links a reply offers (ASSISTANT["LINKS"] names the pages).
    "link_orders": _("orders"),
    "link_returns": _("returns"),
    "link_contact": _("contact"),
    "link_login": _("sign in"),
    "link_order": _("order {number}"),
}
# detect_language()'s codes as Django language codes, for the catalogue.
REPLY_LANGUAGES = {"en": "en", "zh": "zh-hans"}


def phrases(language: str) -> dict[str, str]:
    """The fixed phrases in the reply's language (English for a language shopai has no catalogue for)."""
    with translation.override(REPLY_LANGUAGES.get(language, "en")):
        return {key: str(text) for key, text in PHRASES.items()}


def day(value, language: str) -> str:
    """A date as the reply's language writes it (1 March 2026 / 2026年3月1日)."""
    with translation.override(REPLY_LANGUAGES.get(language, "en")):
        return formats.date_format(value, "DATE_FORMAT")


@dataclass
class AssistantReply:
    reply: str
    answer: str | None
    confidence: float
    intent: str
    intent_confidence: float
    sentiment: Sentiment
    handoff: bool
    language: str
    session_id: str
    handoff_reason: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    id: int | None = None
    faq_id: int | None = None
    # What the FAQ confidence was computed from (evaluation and refitting read it; not shown).
    features: dict[str, float] = field(default_factory=dict)
    # The conversation's case with staff, if one is open: {"status": ...}.
    case: dict[str, str] | None = None
    # The facts the reply states (the FAQ's answer, the order's details): what a reply writer may use.
    source: str = ""
    # Replies whose exact words are the action (a confirmation, a refusal) are never rewritten.
    rewritable: bool = False


@dataclass
class Turn:
    """One message of a conversation, as the flows see it."""

    result: AssistantReply
    say: dict[str, str]
    user: Any
    conversation: Any
    state: dict
    now: datetime
    case_reason: str = ""  # set by a flow that hands over: the Exchange's handoff reason

    @property
    def language(self) -> str:
        return self.result.language

    @property
    def signed_in(self) -> bool:
        return self.user is not None and self.user.is_authenticated

    def hand_over(self, reason: str) -> None:
        self.result.handoff, self.result.handoff_reason = True, reason

    def ask(self, **pending) -> None:
        """The reply asks something; the next message may answer it."""
        self.state["pending"] = pending


def add_link(result: AssistantReply, label: str, name: str) -> None:
    """Offer ASSISTANT["LINKS"][name] under ``label``, unless the shop has no such page."""
    url = link(name)
    if url:
        result.links.append({"label": label, "url": url})


def link(name: str) -> str:
    """A link from ASSISTANT["LINKS"]: a path or URL as given, else a URL name to reverse; "" for none
    (sign-in falls back to Django's LOGIN_URL)."""
    target = shopai_settings.ASSISTANT["LINKS"].get(name, "")
    if not target and name == "login":
        target = str(settings.LOGIN_URL or "")
    if not target or "/" in target or target.startswith(("mailto:", "tel:", "http:", "https:")):
        return target
    try:
        return reverse(target)
    except NoReverseMatch:
        return target
