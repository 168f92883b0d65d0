"""Short replies that only make sense after the assistant's last question: "1234", "yes", "the second
one", "还是没到". Read by fixed phrases (shipped in data/followups.json, ASSISTANT["FOLLOWUP_PHRASES"]
to use your own), never by the classifier: a two-word reply has too little meaning to classify."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shopai.conf import shopai_settings

DEFAULT_PHRASES = Path(__file__).resolve().parent / "data" / "followups.json"
NUMBER = re.compile(r"^(?:order|订单号?|单号|#|no\.?|number)?\s*[:：#]?\s*(\d{1,12})$", re.IGNORECASE)

Kind = Literal["order_number", "choice", "yes", "no", "still", "ack"]


@dataclass(frozen=True)
class FollowUp:
    kind: Kind
    value: str | None = None


@functools.lru_cache(maxsize=4)
def _phrases(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def phrases(language: str) -> dict:
    path = shopai_settings.ASSISTANT.get("FOLLOWUP_PHRASES") or DEFAULT_PHRASES
    data = _phrases(str(path))
    return data.get(language) or data.get("en", {})


def simplified(text: str) -> str:
    """Lower case, no punctuation or emoji at the ends, single spaces: "Yes, please!" → "yes please"."""
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = "".join(ch if (ch.isalnum() or ch.isspace() or ch in "'#") else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def _is_phrase(text: str, candidates: list[str], language: str) -> bool:
    """The whole message is one of the phrases ("yes please", not "yes, but only the socks"): a short
    reply is read only when nothing else was said with it."""
    if language == "zh":
        compact = text.replace(" ", "")
        return any(compact == simplified(c).replace(" ", "") for c in candidates)
    return any(text == simplified(c) for c in candidates)


def read_followup(*, text: str, pending: dict | None, language: str, focus_order: str | None = None) -> FollowUp | None:
    """What this short reply answers: the pending question's slot, a yes/no, or (with nothing pending)
    "still not here" about the order in focus and a plain "thanks". None: a new question."""
    plain = simplified(text)
    if not plain:
        return None
    words = phrases(language)
    if pending:
        slot = pending.get("slot")
        options = [str(option) for option in pending.get("options", [])]
        number = NUMBER.match(plain.replace(" ", "") if language == "zh" else plain)
        if number and slot == "line":
            # Items are offered as a numbered list: a bare number is the position, never an internal id.
            index = int(number.group(1))
            return FollowUp("choice", options[index - 1]) if 1 <= index <= len(options) else None
        if number and slot == "order_number":
            value = number.group(1)
            # One of the offered orders' numbers is that order; a one-digit number otherwise its position.
            if value not in options and options and len(value) == 1 and 1 <= int(value) <= len(options):
                return FollowUp("choice", options[int(value) - 1])
            return FollowUp("order_number", value)
        ordinal = _ordinal(plain, words.get("ordinals", {}), language)
        if ordinal is not None and options and slot in ("order_number", "line"):
            index = ordinal - 1 if ordinal > 0 else len(options) - 1
            if 0 <= index < len(options):
                return FollowUp("choice", options[index])
        if _is_phrase(plain, words.get("no", []), language):
            return FollowUp("no")
        if slot == "confirm" and _is_phrase(plain, words.get("yes", []), language):
            return FollowUp("yes")
        return None
    reference = NUMBER.match(plain.replace(" ", "") if language == "zh" else plain)
    if reference and (len(reference.group(1)) >= 3 or reference.group(0) != reference.group(1)):
        return FollowUp("order_number", reference.group(1))  # "order 1234", "#12": which order, said alone
    if focus_order and _is_phrase(plain, words.get("still", []), language):
        return FollowUp("still", focus_order)
    if _is_phrase(plain, words.get("ack", []) + words.get("yes", []), language):
        return FollowUp("ack" if not _is_phrase(plain, words.get("yes", []), language) else "yes")
    return None


def _ordinal(text: str, ordinals: dict[str, int], language: str) -> int | None:
    key = text.replace(" ", "") if language == "zh" else text
    for phrase, value in ordinals.items():
        if key == (phrase.replace(" ", "") if language == "zh" else phrase):
            return int(value)
    return None


def match_line(text: str, lines: list[list[str]], language: str) -> str | None:
    """The offered order line ([ref, name]) whose name the reply names: a shared word of 3+ letters
    ("the boots" → "Trail boots"), in Chinese a shared pair of characters. None when none or several."""
    plain = simplified(text)
    if language == "zh":
        pairs = {plain[i : i + 2] for i in range(len(plain) - 1)}
        found = [ref for ref, name in lines if any(name[i : i + 2] in pairs for i in range(len(name) - 1))]
    else:
        words = {word.rstrip("s") for word in plain.split() if len(word) >= 3}
        found = [
            ref
            for ref, name in lines
            if words & {word.rstrip("s") for word in simplified(name).split() if len(word) >= 3}
        ]
    return found[0] if len(found) == 1 else None
