"""Replace e-mail addresses, phone numbers and payment card numbers before a conversation is stored."""

from __future__ import annotations

import re

EMAIL_TOKEN = "[email]"
PHONE_TOKEN = "[phone]"
CARD_TOKEN = "[card]"
REDACTION_TOKENS = (EMAIL_TOKEN, PHONE_TOKEN, CARD_TOKEN)

# ASCII classes on purpose: Python's \w also matches Chinese characters, and shoppers write
# "邮箱是zhang.san@example.com谢谢" or "卡号4111…" with no space between the languages.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# Either 13–19 digits in a row, or groups of 3–6 digits joined by single spaces or dashes
# (4-4-4-4, Amex 4-6-5, 19-digit 4-4-4-4-3). Requiring 3+ digits per group keeps two dates
# such as "2026-11-28 2026-12-05" from adding up to a 16-digit candidate.
_CARD = re.compile(r"(?<![0-9A-Za-z+])(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){2,5})(?![0-9A-Za-z])")

_PHONE_PATTERNS = (
    # International: +country code, then digit groups with optional separators or a (0) / (555) group.
    r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}",
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567, 1-800-555-0199 — separators required,
    # so a bare 10-digit order number is not mistaken for a phone.
    r"(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}",
    # Chinese mobile: 1[3-9]x then 8 digits, written 13812345678 or 138 1234 5678 / 138-1234-5678.
    r"1[3-9]\d(?:[ .-]?\d{4}){2}",
    # Trunk-prefixed national numbers: 020 7946 0958, 010-12345678, (021) 6123 4567.
    r"(?:\(0\d{1,3}\)|0\d{1,3})[ .-]?\d{3,4}[ .-]?\d{4}",
)
_PHONE = re.compile(r"(?<![0-9A-Za-z+-])(?:" + "|".join(_PHONE_PATTERNS) + r")(?![0-9A-Za-z])")

# A number right after "order", "order #", "order no.", "订单", "订单号：" is the shopper's order
# reference; the assistant needs it, and long marketplace order numbers can look like phones.
_ORDER_CONTEXT = re.compile(
    r"(?:\border|订单)(?:\s*(?:number|num|no\.?|id|ref\.?|#|号|编号|[:：]))*\s*$",
    re.IGNORECASE,
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _passes_luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_order_reference(text: str, start: int) -> bool:
    return bool(_ORDER_CONTEXT.search(text, max(0, start - 24), start))


def _card(match: re.Match[str]) -> str:
    digits = _digits(match.group())
    # Luhn rejects ~90% of random digit runs (tracking numbers, long order numbers).
    if 13 <= len(digits) <= 19 and _passes_luhn(digits) and not _is_order_reference(match.string, match.start()):
        return CARD_TOKEN
    return match.group()


def _phone(match: re.Match[str]) -> str:
    if not 8 <= len(_digits(match.group())) <= 15:  # E.164 allows at most 15 digits
        return match.group()
    if _is_order_reference(match.string, match.start()):
        return match.group()
    return PHONE_TOKEN


def redact(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers and card numbers replaced by tokens."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_TOKEN, text)
    # Cards before phones: a 16-digit card also fits the loose international phone shape.
    text = _CARD.sub(_card, text)
    return _PHONE.sub(_phone, text)
