"""Replace e-mail addresses, phone numbers and payment card numbers before a shopper's words are stored or embedded."""

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
# such as "2026-11-28 2026-12-05" from adding up to a 16-digit candidate. No card number starts
# with 0, and a phone dialled abroad does ("0086 138 1234 5678" may pass Luhn).
_CARD = re.compile(r"(?<![0-9A-Za-z+])(?=[1-9])(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){2,5})(?![0-9A-Za-z])")

_PHONE_PATTERNS = (
    # International: +country code or its 00 dialling prefix, then digit groups with optional
    # separators or a (0) / (555) group: +44 20 7946 0958, 0044 20 7946 0958, +8613812345678.
    r"(?:\+|00[ .-]?)\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}",
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567, 1-800-555-0199.
    r"(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}",
    # Chinese mobile: 1[3-9]x then 8 digits, written 138 1234 5678 / 138-1234-5678.
    r"1[3-9]\d(?:[ .-]?\d{4}){2}",
    # Trunk-prefixed national numbers: 020 7946 0958, 010-12345678, (021) 6123 4567.
    r"(?:\(0\d{1,3}\)|0\d{1,3})[ .-]?\d{3,4}[ .-]?\d{4}",
    # Run together: 10 or 11 digits is how shoppers type a phone (5551234567, 13812345678,
    # 02079460958). Shorter runs stay: order numbers, postcodes, years. An order number this long
    # survives when the shopper calls it one ("order 5551234567", see _ORDER_CONTEXT).
    r"\d{10,11}",
)
# Not inside a word, a longer number, a SKU ("OUT-5551234567") or a decimal ("0.0044…", "1,0044…").
_PHONE = re.compile(r"(?<![0-9A-Za-z+-])(?<!\d[.,])(?:" + "|".join(_PHONE_PATTERNS) + r")(?![0-9A-Za-z])(?![.,]\d)")

# A number right after "order", "order #", "order no.", "订单", "订单号：" is the shopper's order
# reference; the assistant needs it, and long marketplace order numbers look like phones. Cards are
# not spared: a Luhn-valid 13–19 digit number is redacted wherever it stands.
_ORDER_CONTEXT = re.compile(
    r"(?:\border|订单)(?:\s*(?:number|num|no\.?|id|ref\.?|#|号|编号|[:：]))*\s*$",
    re.IGNORECASE,
)
_MASK = "\x00"  # stands in for a span already found, so later patterns neither match nor join across it


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


def _is_card(match: re.Match[str]) -> bool:
    digits = _digits(match.group())
    # Luhn rejects ~90% of random digit runs (tracking numbers, long order numbers).
    return 13 <= len(digits) <= 19 and _passes_luhn(digits)


def _is_phone(match: re.Match[str]) -> bool:
    # E.164 allows at most 15 digits; fewer than 8 is an order number, a price or a size.
    return 8 <= len(_digits(match.group())) <= 15 and not _is_order_reference(match.string, match.start())


def personal_data_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, token)`` of each e-mail address, card number and phone number in ``text``, in order."""
    spans: list[tuple[int, int, str]] = []
    masked = text
    # Cards before phones: a 16-digit card also fits the loose international phone shape.
    for pattern, keep, token in (
        (_EMAIL, None, EMAIL_TOKEN),
        (_CARD, _is_card, CARD_TOKEN),
        (_PHONE, _is_phone, PHONE_TOKEN),
    ):
        found = [m.span() for m in pattern.finditer(masked) if keep is None or keep(m)]
        for start, end in found:
            masked = masked[:start] + _MASK * (end - start) + masked[end:]
        spans += [(start, end, token) for start, end in found]
    return sorted(spans)


def redact(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers and card numbers replaced by tokens."""
    if not text:
        return text
    parts, last = [], 0
    for start, end, token in personal_data_spans(text):
        parts += [text[last:start], token]
        last = end
    return "".join(parts) + text[last:]
