"""Links, e-mail addresses, phone numbers and markup in a draft: flagged unless the product's data has them.

Copy is plain text that a shop publishes under its own name: a link, an address or a number to
call that the product's data does not give sends customers somewhere nobody checked, and markup
can run in the shop's pages. What the data gives, written in any of its usual forms, is grounded
("020 7946 0958" for "+44 20 7946 0958", "www.shop.example/" for "https://shop.example"), except
markup that runs code: the product's text is untrusted and cannot vouch for that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from shopai.core.grounding.lexicons import load_lexicon
from shopai.core.grounding.quantities import NUMBER_THEN_UNIT, overlaps
from shopai.core.grounding.source import SourceFacts

_DATA = load_lexicon("links")

REASONS = {
    "link": "'{phrase}' is a link that the product's data does not contain",
    "email": "'{phrase}' is an e-mail address that the product's data does not contain",
    "phone": "'{phrase}' is a phone number that the product's data does not contain",
    "markup": "'{phrase}' is markup (HTML) — copy is plain text",
    "markdown": "'{phrase}' is markup (a Markdown link) — copy is plain text",
    "active": "'{phrase}' is markup that runs code (HTML or a script link) — copy is plain text",
}

# --------------------------------------------------------------------------------------------
# Markup

_ACTIVE_TAGS = "|".join(_DATA["active_tags"])
_SCRIPT_LINK = r"(?<![A-Za-z0-9])(?:(?:java|vb|live)\s*script|data\s*:\s*text/html)\s*:[^\s<>\"']*"
_HANDLER = r"(?<![A-Za-z0-9_-])on[a-z]{3,20}\s*=\s*(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s<>]*)"
ACTIVE_ELEMENT = re.compile(rf"<({_ACTIVE_TAGS})\b[^<>]*>.*?</\1\s*>", re.I | re.S)  # a whole <script>…</script>
SCRIPTED = re.compile(rf"{_SCRIPT_LINK}|{_HANDLER}", re.I)
MARKUP = re.compile(
    r"<!--.*?-->"
    r"|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"  # a tag
    r"|<(?:a|img|script|iframe|svg|object|embed|form|input|video|audio)\s[^<>\n]*"  # one left open
    r"|&(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",  # an HTML entity
    re.S,
)
MARKDOWN_LINK = re.compile(
    r"!?\[[^\[\]\n]{1,200}\]\([^()\s]{1,500}(?:\s+\"[^\"\n]*\")?\)"  # [text](url)
    r"|^[ \t]*\[[^\[\]\n]{1,100}\]:[ \t]*\S+",  # [label]: url
    re.M,
)

# --------------------------------------------------------------------------------------------
# Links and e-mail addresses (on the normalised draft: full-width letters are already ASCII)

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])(?:mailto:)?[A-Za-z0-9._%+-]+@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}}(?![A-Za-z0-9-])",
    re.I,
)
SCHEME_URL = re.compile(rf"(?<![A-Za-z0-9])(?:https?|ftp)://{_URL_CHARS}+", re.I)
WWW_URL = re.compile(rf"(?<![A-Za-z0-9.@/_-])www\.{_LABEL}(?:\.{_LABEL})+(?:[/?#:]{_URL_CHARS}*)?", re.I)
BARE_URL = re.compile(
    rf"(?<![A-Za-z0-9.@/_-])(?:{_LABEL}\.)+(?P<tld>[A-Za-z]{{2,24}})(?![A-Za-z0-9-])(?P<path>/{_URL_CHARS}+)?"
)
_TLDS = frozenset(_DATA["tlds"])


def _bare_is_link(match: re.Match) -> bool:
    """ "shop.com", "evil.example/shop"; not "e.g.", "warm.It", "ASP.NET" or "Black.Navy/Grey"."""
    tld, path = match.group("tld"), match.group("path")
    if not tld.islower():
        return False
    return tld in _TLDS or bool(path and re.match(r"/[A-Za-z0-9_~%-]", path))


def _trim_url(url: str) -> str:
    while url and url[-1] in ".,;:!?'\"]}" or (url.endswith(")") and url.count("(") < url.count(")")):
        url = url[:-1]
    return url


def _urls(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pattern in (SCHEME_URL, WWW_URL, BARE_URL):
        for match in pattern.finditer(text):
            if pattern is BARE_URL and not _bare_is_link(match):
                continue
            end = match.start() + len(_trim_url(match.group()))
            if end > match.start() and not overlaps(spans, match.start(), end):
                spans.append((match.start(), end))
    return spans


def _url_key(url: str) -> str:
    key = re.sub(r"^[a-z]+://", "", url.lower())
    return re.sub(r"^www\.", "", key).rstrip("/")


def _email_key(address: str) -> str:
    return re.sub(r"^mailto:", "", address.lower())


# --------------------------------------------------------------------------------------------
# Phone numbers

_GROUP_SEP = r"(?:[ \t]?[.-][ \t]?|[ \t])"
PHONE_CANDIDATE = re.compile(
    rf"(?<![A-Za-z0-9.,+/_$€£¥-])(?:\+[ \t]?)?(?:\(\d{{1,5}}\)[ \t.-]?)?\d+"
    rf"(?:{_GROUP_SEP}(?:\(\d{{1,4}}\)[ \t.-]?)?\d+)*(?![A-Za-z0-9%°]|[.,/-]?\d)"
)
_CUE = re.compile(
    r"(?:(?<![A-Za-z])(?:"
    + "|".join(_DATA["phone_cues_en"])
    + r")(?![A-Za-z])|"
    + "|".join(_DATA["phone_cues_zh"])
    # a few words may stand between: "call us on", "电话：", "Hotline (free):"
    + r")[^.!?。！？\n\d]{0,25}$",
    re.I,
)

_OTHER_NUMBER = re.compile(
    r"(?i:(?<![A-Za-z])(?:"
    + "|".join(_DATA["number_cues_en"])
    + r")(?![A-Za-z])|"
    + "|".join(_DATA["number_cues_zh"])
    + r")[ \t]*(?i:number|no\.?)?[ \t]*[:#：]?[ \t]*$"  # "order 3707…", "article no. 123…"
    r"|(?<![A-Za-z])[A-Z]{2,5}(?:/[A-Z]{1,2})?[ \t]*$"  # a standard: "GB/T 22844-2009", "EN 13537"
)


def _phone_digits(text: str, match: re.Match) -> str | None:
    """The digits of a phone number, or None for a size, price, year, span, code or measure."""
    written = match.group()
    groups = re.findall(r"\d+", written)
    digits = "".join(groups)
    measure = NUMBER_THEN_UNIT.match(text, match.start() + written.rfind(groups[-1]))
    if measure and not re.match(r"[A-Za-z]", text[measure.end() : measure.end() + 1]):
        return None  # "1200 mAh"
    if written.startswith("+") or (written.startswith("00") and written[2:3] not in ("", "0")):
        international = digits[2:] if written.startswith("00") else digits
        return digits if 8 <= len(international) <= 15 else None
    before = text[max(0, match.start() - 30) : match.start()]
    if _CUE.search(before) and len(digits) >= 7 and len(groups[-1]) >= 3:
        return digits  # "call 555-1234"
    if _OTHER_NUMBER.search(before):
        return None  # an order, a model or a standard: the numbers check reads it
    if len(groups) == 1:
        return digits if 10 <= len(digits) <= 13 else None  # "5551234567", "13800138000"
    if not 9 <= len(digits) <= 12 or len(groups[-1]) < 4 or not 2 <= len(groups[0]) <= 5:
        return None  # "36 38 40 42 44", "2019-2024", "20 000"
    if any(len(group) < 3 for group in groups[1:]):
        return None
    if all(len(group) == 4 and group[:2] in ("19", "20") for group in groups):
        return None  # "2019 2020 2021"
    return digits


def _same_number(draft: str, known: str) -> bool:
    """Whether two numbers are one, written nationally or internationally (020 7946… / +44 20 7946…)."""
    a, b = draft.lstrip("0"), known.lstrip("0")
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 7 and longer.endswith(shorter)


# --------------------------------------------------------------------------------------------
# The product's data, read once


class _KnownContacts:
    def __init__(self, text: str) -> None:
        self.urls = {_url_key(text[a:b]) for a, b in _urls(text)}
        self.emails = {_email_key(m.group()) for m in EMAIL.finditer(text)}
        self.numbers = [
            digits for m in PHONE_CANDIDATE.finditer(text) if len(digits := re.sub(r"\D", "", m.group())) >= 7
        ]
        self.flat = " ".join(text.lower().split())

    def has_url(self, url: str) -> bool:
        key = _url_key(url)
        return key in self.urls or any(known.startswith(key + "/") for known in self.urls)

    def has_markup(self, markup: str) -> bool:
        return " ".join(markup.lower().split()) in self.flat


@lru_cache(maxsize=512)
def _known(text: str) -> _KnownContacts:
    return _KnownContacts(text)


# --------------------------------------------------------------------------------------------
# The check


def flag_links(
    text: str, facts: SourceFacts, consumed: list[tuple[int, int]], flag: Callable[[int, int, str, str], None]
) -> None:
    """Flag the markup, e-mail addresses, links and phone numbers of ``text`` that ``facts`` lacks;
    mark the ones it has as consumed, so that their words and digits are not read again."""
    known = _known(facts.text)

    def judge(start: int, end: int, grounded: bool, reason: str, kind: str) -> None:
        if grounded:
            consumed.append((start, end))
        else:
            flag(start, end, reason, kind)

    for match in ACTIVE_ELEMENT.finditer(text):
        if not overlaps(consumed, match.start(), match.end()):
            flag(match.start(), match.end(), REASONS["active"], "markup")
    for pattern, reason in ((MARKDOWN_LINK, REASONS["markdown"]), (MARKUP, REASONS["markup"]), (SCRIPTED, "")):
        for match in pattern.finditer(text):
            if overlaps(consumed, match.start(), match.end()):
                continue
            if SCRIPTED.search(match.group()):
                flag(match.start(), match.end(), REASONS["active"], "markup")
            else:
                judge(match.start(), match.end(), known.has_markup(match.group()), reason, "markup")
    for match in EMAIL.finditer(text):
        if not overlaps(consumed, match.start(), match.end()):
            judge(match.start(), match.end(), _email_key(match.group()) in known.emails, REASONS["email"], "email")
    for start, end in _urls(text):
        if not overlaps(consumed, start, end):
            judge(start, end, known.has_url(text[start:end]), REASONS["link"], "link")
    for match in PHONE_CANDIDATE.finditer(text):
        if overlaps(consumed, match.start(), match.end()):
            continue
        digits = _phone_digits(text, match)
        if digits is not None:
            grounded = any(_same_number(digits, number) for number in known.numbers)
            judge(match.start(), match.end(), grounded, REASONS["phone"], "phone")
