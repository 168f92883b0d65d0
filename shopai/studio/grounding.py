"""Grounding guard: flag facts in generated copy that the product's own data does not support.

``check_text(draft, source)`` reads a marketing draft (description, title, meta description,
bullet highlights; English or Chinese) and the product's facts (``ProductAdapter.get_facts``:
name, category, description and ``key: value`` lines) and returns the phrases of the draft
that state something the facts do not: numbers and units, prices, sizes, materials, colours,
claims and certifications, health claims, promised outcomes and superlatives, places of origin
and brand or product-line names. Each flag quotes the phrase exactly as the draft writes it,
with a reason a shop owner can act on.

Rules, not a model: pure Python, deterministic, a few milliseconds per draft. The product's
text is only ever searched, never followed: a sentence in it that talks to a model ("ignore
previous instructions…") supports nothing, and the same words in a draft are flagged.

What it cannot see: a fact that is present in the source but attached to another part of the
product ("three-year warranty" on the motor when the source gives three years for the heating
plate), arithmetic (7 h + 21 h from the case = "28 hours"), and claims outside its lexicons
that use only ordinary words.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from shopai.adapters import get_product_adapter
from shopai.conf import shopai_settings
from shopai.core.language import detect_language, split_sentences

__all__ = ["Flag", "GroundingResult", "check_product_text", "check_text"]


@dataclass(frozen=True)
class Flag:
    """A phrase of the draft (verbatim) that the product's data does not support, and why."""

    phrase: str
    reason: str
    kind: str = "fact"  # number, price, size, material, colour, claim, health, promise, origin, name, instruction
    start: int = -1  # offsets of ``phrase`` in the draft
    end: int = -1


@dataclass
class GroundingResult:
    flags: list[Flag] = field(default_factory=list)
    language: str = "en"

    @property
    def grounded(self) -> bool:
        return not self.flags


# --------------------------------------------------------------------------------------------
# Text normalisation: NFKC (full-width digits and letters, ㎜, ℃, ²), one kind of dash, with a
# map back to the draft's own offsets so that flags quote the draft exactly.

_CHAR_MAP = {
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "～": "~",
    "×": "x",
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "\u00a0": " ",
    "\u3000": " ",
}


def _normalise(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        mapped = _CHAR_MAP.get(char)
        if mapped is None:
            mapped = unicodedata.normalize("NFKC", char)
            mapped = "".join(_CHAR_MAP.get(c, c) for c in mapped)
        for piece in mapped:
            out.append(piece)
            index.append(position)
    index.append(len(text))
    return "".join(out), index


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")

# --------------------------------------------------------------------------------------------
# Numbers

_DIGITS = r"\d+(?:,\d{3})+(?:\.\d+)?(?![\d])|\d+(?:[.,]\d+)?"
_CN_DIGITS = "零〇一二两三四五六七八九十百千万"
_CN_VALUES = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_EN_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
# Words that only the source side reads as numbers ("a pair of poles" supports "two poles").
_SOURCE_ONLY_WORDS = {"single": 1, "pair": 2, "pairs": 2, "twin": 2, "double": 2, "both": 2, "dozen": 12}
_EN_WORD = (
    r"(?:(?:" + "|".join(_EN_TENS) + r")(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|" + "|".join(sorted(_EN_UNITS, key=len, reverse=True)) + r")(?:[- ](?:hundred|thousand))?"
)


def _en_word_value(word: str) -> float:
    word = word.lower()
    parts = re.split(r"[- ]", word)
    value = 0
    for part in parts:
        if part in _EN_UNITS:
            value += _EN_UNITS[part]
        elif part in _EN_TENS:
            value += _EN_TENS[part]
        elif part == "hundred":
            value = (value or 1) * 100
        elif part == "thousand":
            value = (value or 1) * 1000
    return float(value)


def _cn_value(text: str) -> float | None:
    if not text:
        return None
    if all(ch in _CN_VALUES for ch in text):
        if len(text) == 1:
            return float(_CN_VALUES[text])
        return float("".join(str(_CN_VALUES[ch]) for ch in text))  # 二零一九 -> 2019
    total, section, number = 0, 0, 0
    for ch in text:
        if ch in _CN_VALUES:
            number = _CN_VALUES[ch]
        elif ch == "十":
            section += (number or 1) * 10
            number = 0
        elif ch == "百":
            section += (number or 1) * 100
            number = 0
        elif ch == "千":
            section += (number or 1) * 1000
            number = 0
        elif ch == "万":
            total += (section + number or 1) * 10000
            section, number = 0, 0
    return float(total + section + number)


def _digits_value(text: str) -> float:
    text = text.strip()
    multiplier = 1
    if text.endswith("万"):
        multiplier, text = 10000, text[:-1].strip()
    if re.fullmatch(r"\d+(?:,\d{3})+(?:\.\d+)?", text):
        text = text.replace(",", "")
    else:
        text = text.replace(",", ".")  # 2,5 kg
    return float(text) * multiplier


# Units: (pattern, dimension, factor to the dimension's base). Latin units must not run into a
# letter ("5 mm" but not "5 mmm"); hyphenated compounds count ("5-year", "ten-minute").
_UNIT_TABLE: list[tuple[str, str, float]] = [
    (r"g/m2|g/sqm|gsm", "gsm", 1),
    (r"km/h|kph", "speed", 1),
    (r"mph", "speed", 1.609),
    (r"mah", "mah", 1),
    (r"wh", "wh", 1),
    (r"mg|milligrams?", "mass", 0.001),
    (r"kg|kgs|kilos?|kilograms?", "mass", 1000),
    (r"g|grams?|grammes?", "mass", 1),
    (r"lbs?", "mass", 453.592),
    (r"oz|ounces?", "mass", 28.3495),
    (r"mm|millimet(?:re|er)s?", "length", 1),
    (r"cm|centimet(?:re|er)s?", "length", 10),
    (r"km|kilomet(?:re|er)s?", "length", 1_000_000),
    (r"m|met(?:re|er)s?", "length", 1000),
    (r"inch(?:es)?|in\.|\"", "length", 25.4),
    (r"ft|feet|foot", "length", 304.8),
    (r"ml|millilit(?:re|er)s?", "volume", 1),
    (r"cl", "volume", 10),
    (r"l|lit(?:re|er)s?", "volume", 1000),
    (r"°c|degrees? c(?:elsius)?", "temperature", 1),
    (r"°f|degrees? f(?:ahrenheit)?", "fahrenheit", 1),
    (r"°|degrees?", "angle", 1),
    (r"seconds?|secs?", "time", 1),
    (r"minutes?|mins?", "time", 60),
    (r"hours?|hrs?|h", "time", 3600),
    (r"days?", "time", 86400),
    (r"weeks?", "time", 604800),
    (r"months?", "time", 2629800),
    (r"years?|yrs?", "time", 31557600),
    (r"kw|kilowatts?", "power", 1000),
    (r"w|watts?", "power", 1),
    (r"ghz", "frequency", 1e9),
    (r"mhz", "frequency", 1e6),
    (r"khz", "frequency", 1e3),
    (r"hz", "frequency", 1),
    (r"%|percent|per cent", "percent", 1),
    (r"momme", "momme", 1),
    (r"denier", "denier", 1),
    (r"lumens?|lm", "lumen", 1),
    (r"iu", "iu", 1),
    (r"atm", "atm", 1),
    (r"layers?|ply", "layer", 1),
    (r"fill[- ]power|fp", "fill", 1),
    (r"db", "db", 1),
    (r"mpx|mp|megapixels?", "megapixel", 1),
]
_CN_UNIT_TABLE: list[tuple[str, str, float]] = [
    ("毫安时|毫安", "mah", 1),
    ("毫克", "mass", 0.001),
    ("千克|公斤", "mass", 1000),
    ("克", "mass", 1),
    ("斤", "mass", 500),
    ("毫米", "length", 1),
    ("厘米|公分", "length", 10),
    ("公里|千米", "length", 1_000_000),
    ("英寸|寸", "length", 25.4),
    ("米", "length", 1000),
    ("毫升", "volume", 1),
    ("升", "volume", 1000),
    ("摄氏度|度", "temperature", 1),
    ("秒钟|秒", "time", 1),
    ("分钟", "time", 60),
    ("个小时|小时", "time", 3600),
    ("天", "time", 86400),
    ("个星期|星期|周", "time", 604800),
    ("个月", "time", 2629800),
    ("年", "time", 31557600),
    ("千瓦", "power", 1000),
    ("瓦", "power", 1),
    ("姆米", "momme", 1),
    ("流明", "lumen", 1),
    ("岁", "age", 1),
    ("层", "layer", 1),
    # Counters: a number of things, compared with plain numbers of the source.
    (
        "小包|个|只|件|块|片|包|袋|盒|瓶|罐|颗|粒|根|张|双|套|种|款|样|道|口|位|人|次|页|支|节|档|挡|台|组|"
        "滴|杯|份|段|条|把|枚|键|级|倍|色|号|泡|人份",
        "",
        1,
    ),
]
_UNITS_EN = "|".join(f"(?:{pattern})" for pattern, _, _ in _UNIT_TABLE)
_UNITS_CN = "|".join(f"(?:{pattern})" for pattern, _, _ in _CN_UNIT_TABLE)
_UNIT_LOOKUP = [(re.compile(f"(?:{p})", re.I), d, f) for p, d, f in _UNIT_TABLE + _CN_UNIT_TABLE]

_NUM = rf"(?:(?:{_DIGITS})(?:\s*万)?|[{_CN_DIGITS}]+|{_EN_WORD})"
_JOIN = r"[ \t]*(?:-|~|/|to|至|到|and|or|x|\+)[ \t]*"
_QUANTITY = re.compile(
    rf"(?<![A-Za-z0-9.])(?<![A-Za-z]-)(?P<numbers>{_NUM}(?:{_JOIN}{_NUM})*)"
    rf"(?P<unit>(?:[ \t]*-?[ \t]*(?:{_UNITS_EN})(?![A-Za-z]))|(?:[ \t]*[多余几来]?(?:{_UNITS_CN})))?",
    re.I,
)
_NUMBER_PIECE = re.compile(rf"{_DIGITS}(?:\s*万)?|[{_CN_DIGITS}]+|{_EN_WORD}", re.I)
_WORD_AFTER = re.compile(r"[ -]?(?:[A-Za-z][A-Za-z'-]*)")

_CURRENCY = re.compile(
    rf"(?:(?:US\$|\$|€|£|¥|RMB|CNY|USD|EUR|GBP)\s*(?P<before>{_DIGITS}))"
    rf"|(?:(?P<after>{_DIGITS})\s*(?:元|块钱|美元|欧元|英镑|人民币|dollars?|euros?|USD|EUR|GBP|RMB|CNY)(?![A-Za-z]))",
    re.I,
)
_RATIO = re.compile(r"(?<![\w.])\d+(?:[/:]\d+)+(?![\w.])")
# Codes and model numbers: letters and digits in one token (IPX4, VG-10, B12, 5.3K, SPF50+).
_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9.+-]*\d)(?=[A-Za-z0-9.+-]*[A-Za-z])"
    r"[A-Za-z0-9](?:[A-Za-z0-9.+]|-(?=[A-Za-z0-9]))*(?<![.-])"
)
_NUMBER_THEN_UNIT = re.compile(rf"(?:{_DIGITS})\s*-?\s*(?:{_UNITS_EN})", re.I)
_NUMBER_HYPHEN_WORD = re.compile(rf"(?:{_DIGITS})-[A-Za-z]+", re.I)
_DIMENSIONS = re.compile(rf"(?:{_DIGITS})(?:\s*x\s*(?:{_DIGITS}))+(?:\s*(?:{_UNITS_EN}))?", re.I)


@dataclass
class _Quantity:
    values: list[float]
    dimension: str  # "" for a plain number or a count
    factor: float
    start: int
    end: int

    @property
    def base(self) -> list[float]:
        return [value * self.factor for value in self.values]


def _unit_of(text: str) -> tuple[str, float] | None:
    text = text.strip().lstrip("-").strip()
    text = re.sub(r"^[多余几来]", "", text)
    for pattern, dimension, factor in _UNIT_LOOKUP:
        if pattern.fullmatch(text):
            return dimension, factor
    return None


def _values(numbers: str) -> list[float]:
    values = []
    for piece in _NUMBER_PIECE.finditer(numbers):
        text = piece.group()
        if text[0].isdigit():
            values.append(_digits_value(text))
        elif text[0] in _CN_DIGITS:
            value = _cn_value(text)
            if value is not None:
                values.append(value)
        else:
            values.append(_en_word_value(text))
    return values


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start < b and a < end for a, b in spans)


# --------------------------------------------------------------------------------------------
# Negation and instructions

_EN_NEGATION = re.compile(
    r"(?<![A-Za-z])(?:not(?! only)|no(?![-\w])|never|without|cannot|can't|isn't|aren't|doesn't|don't|won't|nor|"
    r"free (?:from|of))(?![A-Za-z])",
    re.I,
)
_ZH_NEGATION = re.compile(
    "不(?!仅|但|同|断|少|错|久|论|管|易|紧|粘|沾|泛|掉|闷|痛|黏|拔|伤)|没有|没|无(?!线|论|缝|需|限|比)|非(?!常)|未(?!来)|勿|别|禁止|避免"
)
_CLAUSE_END = re.compile(r"[.!?;:,，。！？；：、\n]|\bbut\b|\bwhile\b|\bso\b", re.I)


def _negated(text: str, start: int) -> tuple[bool, int]:
    """Whether a negation governs the word at ``start`` (same clause, close before it)."""
    window_start = max(0, start - 40)
    clause_start = window_start
    for match in _CLAUSE_END.finditer(text, window_start, start):
        clause_start = match.end()
    before = text[clause_start:start]
    if _HAS_CJK.search(text[max(0, start - 1) : start + 1]):
        near = before[-6:]
        found = list(_ZH_NEGATION.finditer(near))
        if found:
            return True, start - len(near) + found[-1].start()
    found = list(_EN_NEGATION.finditer(before[-40:]))
    if found:
        return True, start - len(before[-40:]) + found[-1].start()
    return False, -1


_INSTRUCTION = re.compile(
    r"(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|preceding)"
    r"\s+(?:instructions?|prompts?|rules|messages?)"
    r"|system prompt|(?:you are|act as)\s+(?:an?\s+)?(?:ai|assistant|language model|chatbot|chatgpt)"
    r"|as an ai\b|new instructions?:"
    r"|(?:忽略|无视|忘记)(?:之前|以上|前面|上述|先前|所有)(?:的)?(?:所有)?(?:指令|指示|提示|规则|内容)"
    r"|系统提示|你现在是|你是一个",
    re.I,
)


def _drop_instructions(text: str) -> str:
    """The source without sentences addressed to a model: they are data, never facts."""
    lines = []
    for line in text.splitlines():
        if _INSTRUCTION.search(line):
            line = " ".join(s for s in split_sentences(line) if not _INSTRUCTION.search(s))
        lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Lexicons: what a draft may claim, and what in the source supports it.


@dataclass(frozen=True)
class _Term:
    kind: str
    label: str
    draft: re.Pattern
    support: re.Pattern | None  # None: supported when the draft's own words occur in the source
    weaker: re.Pattern | None = None  # something the source may say instead that does not support it


def _en(*alternatives: str) -> str:
    return r"(?<![A-Za-z0-9])(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9])"


def _term(
    kind: str,
    label: str,
    en: tuple[str, ...] = (),
    zh: tuple[str, ...] = (),
    support_en: tuple[str, ...] | None = None,
    support_zh: tuple[str, ...] | None = None,
    weaker: str | None = None,
    same_words: bool = False,
) -> _Term:
    def combine(latin: tuple[str, ...], chinese: tuple[str, ...]) -> str:
        parts = []
        if latin:
            parts.append(_en(*latin))
        parts += list(chinese)
        return "|".join(parts)

    support = None
    if not same_words:
        support = re.compile(
            combine(en if support_en is None else support_en, zh if support_zh is None else support_zh), re.I
        )
    return _Term(
        kind=kind,
        label=label,
        draft=re.compile(combine(en, zh), re.I),
        support=support,
        weaker=re.compile(weaker, re.I) if weaker else None,
    )


_LEXICONS = Path(__file__).resolve().parent / "lexicons"


def _lexicon(name: str) -> dict:
    with (_LEXICONS / f"{name}.toml").open("rb") as handle:
        return tomllib.load(handle)


def _terms_from_data() -> list[_Term]:
    """The lexicons in shopai/studio/lexicons/*.toml as terms, in the order the guard tries them."""
    terms = [
        _term(
            entry["kind"],
            entry["label"],
            en=tuple(entry.get("en", ())),
            zh=tuple(entry.get("zh", ())),
            support_en=tuple(entry["support_en"]) if "support_en" in entry else None,
            support_zh=tuple(entry["support_zh"]) if "support_zh" in entry else None,
            weaker=entry.get("weaker"),
            same_words=entry.get("same_words", False),
        )
        for entry in _lexicon("terms")["term"]
    ]
    for entry in _lexicon("materials")["material"]:
        terms.append(
            _term(
                "material",
                entry["label"],
                en=tuple(entry["en"]),
                zh=tuple(entry["zh"]),
                support_en=tuple(entry["support_en"]) if "support_en" in entry else None,
                support_zh=tuple(entry["support_zh"]) if "support_zh" in entry else None,
            )
        )
    terms.append(_term("colour", "colour", en=(_COLOURS_EN,), zh=(_COLOURS_ZH,), same_words=True))
    for group in _lexicon("origins")["origins"]:
        latin = tuple(word.replace(" ", r"\s+") for word in group if word.isascii())
        chinese = tuple(word for word in group if not word.isascii())
        terms.append(_term("origin", group[0], en=latin, zh=chinese))
    terms.append(_term("name", "brand", en=(_BRANDS_EN,), zh=(_BRANDS_ZH,), same_words=True))
    return terms


_COLOURS = _lexicon("colours")
_COLOURS_EN = "|".join(_COLOURS["en"])
_COLOURS_ZH = "|".join(_COLOURS["zh"])
_BASIC_ZH_COLOUR = _COLOURS["basic_zh"]
_BRAND_WORDS = _lexicon("brands")
_BRANDS_EN = "|".join(_BRAND_WORDS["en"])
_BRANDS_ZH = "|".join(_BRAND_WORDS["zh"])
_TERMS: list[_Term] = _terms_from_data()


@lru_cache(maxsize=8)
def _terms_with(extra_brands: tuple[str, ...]) -> tuple[_Term, ...]:
    latin = tuple(re.escape(brand) for brand in extra_brands if brand.isascii())
    chinese = tuple(re.escape(brand) for brand in extra_brands if not brand.isascii())
    if not latin and not chinese:
        return tuple(_TERMS)
    return (*_TERMS, _term("name", "brand", en=latin, zh=chinese, same_words=True))


def _active_terms() -> tuple[_Term, ...]:
    """The shipped lexicons, plus the shop's own brands (SHOPAI["COPY"]["EXTRA_BRANDS"])."""
    return _terms_with(tuple(shopai_settings.COPY.get("EXTRA_BRANDS") or ()))


_KIND_REASON = {
    "material": "'{phrase}' is not in the product's data",
    "colour": "'{phrase}' is not a colour the product's data gives",
    "claim": "'{phrase}' is a claim the product's data does not make",
    "health": "'{phrase}' is a health claim the product's data does not make",
    "promise": "'{phrase}' promises more than the product's data states",
    "origin": "'{phrase}' (origin) is not in the product's data",
    "name": "'{phrase}' is not in the product's data",
}

# --------------------------------------------------------------------------------------------
# Sizes

_SIZE = r"(?:XXXL|XXL|XXS|XS|XL|2XL|3XL|4XL|S|M|L)"
_SIZE_ORDER = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "4XL"]
_SIZE_RANGE = re.compile(rf"(?<![A-Za-z0-9])({_SIZE})\s*(?:-|~|to|到|至)\s*({_SIZE})(?![A-Za-z0-9])")
_SIZE_LIST = re.compile(rf"(?<![A-Za-z0-9/])({_SIZE})(?:\s*[,/、]\s*(?:and\s+|or\s+)?{_SIZE})+(?![A-Za-z0-9/])")
_SIZE_SINGLE = re.compile(rf"(?:sizes?|尺码|码数)\s*:?\s*({_SIZE})(?![A-Za-z0-9])", re.I)
_SIZE_TOKEN = re.compile(rf"(?<![A-Za-z0-9])({_SIZE})(?![A-Za-z0-9])")


def _canonical_size(size: str) -> str:
    return {"2XL": "XXL", "3XL": "XXXL"}.get(size, size)


# --------------------------------------------------------------------------------------------
# Names

_CAPITALISED = re.compile(r"(?<![A-Za-z0-9'])(?:[A-Z][A-Za-z]*|[a-z]+[A-Z][A-Za-z]*)(?:['-][A-Za-z]+)*")
_LATIN_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z'+]*(?:-[A-Za-z]+)*")
_WHITELIST = {"i", "eu", "us", "ok", "am", "pm", "diy", "tv", "faq", "uk"}
_SENTENCE_START = re.compile(r"(?:^|[.!?:;(\"'\-•*·|/]|\n)\s*$")


def _title_like(line: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", line)
    if len(words) < 3:
        return False
    capitalised = sum(1 for word in words if word[0].isupper())
    return capitalised / len(words) >= 0.6


def _singular_forms(word: str) -> set[str]:
    word = word.lower().removesuffix("'s").removesuffix("s'")
    forms = {word}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    forms.add(word + "s")
    return forms


# --------------------------------------------------------------------------------------------
# The source, analysed once


@dataclass
class _SourceFacts:
    text: str  # normalised, instructions dropped
    compact: str  # lower case without spaces, hyphens and underscores, for codes
    words: set[str]
    quantities: dict[str, list[tuple[float, str]]]  # dimension -> [(base value, as written)]
    plain: set[float]  # values written without a unit (or as counts)
    every_value: set[float]
    prices: list[str]
    price_values: set[float]
    sizes: set[str]
    colour_words: list[str]


_KEY_UNIT = re.compile(r"^\s*([^:\n]{1,40}?)_([A-Za-z]+|天|小时|寸)\s*:\s*(.+)$")
_KEY_UNIT_ALIASES = {"c": "°c", "days": "days", "hours": "hours", "min": "min", "in": "inch", "天": "天", "寸": "寸"}
_BOOLEAN_LINE = re.compile(r"^\s*([^:\n]{1,40})\s*:\s*(true|false|yes|no|none)\s*$", re.I)
_KEY_VALUE = re.compile(r"^\s*[^\s:][^:\n]{0,40}:\s*\S")
_BOOKKEEPING_LINE = re.compile(r"^\s*(?:sku|stock|id|pk|ean|upc|gtin|库存|货号)\s*:", re.I)
_PRICE_LINE = re.compile(r"^\s*(?:price|价格|售价)\s*:\s*(" + _DIGITS + r")\s*$", re.I | re.M)
_COLOUR_LINE = re.compile(r"^\s*(?:colou?rs?|shades?|颜色|色号)\s*:\s*(.+)$", re.I | re.M)


def _prepare_source(source: str) -> str:
    text, _ = _normalise(source or "")
    text = _drop_instructions(text)
    lines: list[str] = []
    for line in text.splitlines():
        if (
            lines
            and re.match(r"\s*[a-z]", line)
            and not _KEY_VALUE.match(line)
            and not _KEY_VALUE.match(lines[-1])
            and not re.search(r"[.!?:;。！？：；]\s*$", lines[-1])
        ):
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"  # a sentence wrapped over two lines
            continue
        boolean = _BOOLEAN_LINE.match(line)
        if boolean:
            key = boolean.group(1).replace("_", " ").strip()
            line = key if boolean.group(2).lower() in ("true", "yes") else f"not {key}"
        lines.append(line)
    return "\n".join(lines)


def _quantities_in(text: str, consumed: list[tuple[int, int]] | None = None, *, source: bool) -> list[_Quantity]:
    """Numbers of ``text`` with their units; the draft side ignores Chinese numerals without a unit."""
    found: list[_Quantity] = []
    for match in _QUANTITY.finditer(text):
        if consumed is not None and _overlaps(consumed, match.start(), match.end()):
            continue
        numbers, unit_text = match.group("numbers"), match.group("unit")
        values = _values(numbers)
        if not values:
            continue
        unit = _unit_of(unit_text) if unit_text else None
        first = numbers.strip()
        is_word = first[:1].isalpha() and not _HAS_CJK.match(first[:1])
        is_chinese = first[:1] in _CN_DIGITS
        end = match.end()
        if not source:
            if is_chinese and unit is None:
                continue  # 一应俱全, 三合一: only 三层, 十四天 and the like are facts
            if is_word:
                lowered = first.lower()
                hyphen_word = text[match.end() : match.end() + 1] == "-"
                if unit is None and lowered in ("one", "zero") and not hyphen_word:
                    continue
            # A plain number reads better with the word it counts: "eight cups", "four-season".
            if unit is None or unit[0] in ("", "percent"):
                after = _WORD_AFTER.match(text, end)
                if after and not _HAS_CJK.search(after.group()):
                    end = after.end()
            elif unit_text.lstrip().startswith("-"):
                after = _WORD_AFTER.match(text, end)
                if after and after.group().startswith(" "):
                    end = after.end()
        dimension, factor = unit if unit else ("", 1.0)
        found.append(_Quantity(values, dimension, factor, match.start(), end))
    return found


def _key_unit_quantities(line: str) -> list[tuple[_Quantity, str]]:
    """ "weight_g: 210" is 210 g; returns the quantity and how to quote it ("210 g")."""
    match = _KEY_UNIT.match(line)
    if not match:
        return []
    unit_name = _KEY_UNIT_ALIASES.get(match.group(2).lower(), match.group(2).lower())
    unit = _unit_of(unit_name)
    if unit is None:
        return []
    values = [_digits_value(v) for v in re.findall(_DIGITS, match.group(3))]
    written = f"{match.group(3).strip()} {match.group(2)}"
    return [(_Quantity(values, unit[0], unit[1], 0, 0), written)] if values else []


@lru_cache(maxsize=512)
def _analyse_source(source: str) -> _SourceFacts:
    text = _prepare_source(source)
    compact = re.sub(r"[\s\-_]+", "", text.lower())
    words: set[str] = set()
    for word in re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower()):
        words |= _singular_forms(word)
    quantities: dict[str, list[tuple[float, str]]] = {}
    plain: set[float] = set()
    every: set[float] = set()

    def add(quantity: _Quantity, written: str, *, bookkeeping: bool = False) -> None:
        for value, base in zip(quantity.values, quantity.base, strict=True):
            every.add(round(value, 6))
            if quantity.dimension:
                quantities.setdefault(quantity.dimension, []).append((base, written))
            elif not bookkeeping:
                plain.add(round(value, 6))

    for line in text.splitlines():
        if _BOOKKEEPING_LINE.match(line):
            # "stock: 5" may back "5 left", never "5 litres".
            for quantity in _quantities_in(line, source=True):
                add(quantity, "", bookkeeping=True)
            continue
        for quantity, written in _key_unit_quantities(line):
            add(quantity, written)
        for quantity in _quantities_in(line, source=True):
            add(quantity, line[quantity.start : quantity.end].strip())
        for word, value in _SOURCE_ONLY_WORDS.items():
            if re.search(rf"(?<![a-z]){word}(?![a-z])", line, re.I):
                plain.add(float(value))
                every.add(float(value))
        for match in _CURRENCY.finditer(line):
            value = _digits_value(match.group("before") or match.group("after"))
            every.add(value)
    prices = [m.group(1) for m in _PRICE_LINE.finditer(text)]
    price_values = {_digits_value(p) for p in prices}
    for match in _CURRENCY.finditer(text):
        price_values.add(_digits_value(match.group("before") or match.group("after")))
        prices.append(match.group().strip())
    sizes = {_canonical_size(m.group(1)) for m in _SIZE_TOKEN.finditer(text)}
    colour_words = [m.group(1) for m in _COLOUR_LINE.finditer(text)]
    colour_words += re.findall(_COLOURS_ZH, text)
    return _SourceFacts(text, compact, words, quantities, plain, every, prices, price_values, sizes, colour_words)


def _supported_by(pattern: re.Pattern, facts: _SourceFacts) -> tuple[bool, str | None]:
    """(supported, the source's negating words if it only mentions the thing negated)."""
    negated_snippet = None
    for match in pattern.finditer(facts.text):
        negated, cue = _negated(facts.text, match.start())
        if not negated:
            return True, None
        negated_snippet = negated_snippet or facts.text[cue : match.end()].strip()
    return False, negated_snippet


def _in_source_words(phrase: str, facts: _SourceFacts) -> bool:
    lowered = phrase.lower()
    if re.search(r"[\d\-\s]", lowered) and re.sub(r"[\s\-_]+", "", lowered) in facts.compact:
        return True
    return re.search(r"(?<![a-z0-9])" + re.escape(lowered) + r"(?![a-z0-9])", facts.text.lower()) is not None


def _nearest_written(known: list[tuple[float, str]], base: float, limit: int = 3) -> list[str]:
    """How the source writes its figures of the same kind, closest first; none far off in scale."""
    by_value: dict[float, str] = {}
    for value, written in known:
        by_value.setdefault(round(value, 6), written.strip(" ,.;:，。"))
    close = [
        (abs(math.log((abs(value) + 1e-9) / (abs(base) + 1e-9))), written)
        for value, written in by_value.items()
        if value and base and 1 / 50 <= abs(value / base) <= 50
    ]
    return list(dict.fromkeys(written for _, written in sorted(close)))[:limit]


def _format_number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e7 else f"{value:,.0f}"


# --------------------------------------------------------------------------------------------
# The guard


def check_text(draft: str, source: str, *, language: str | None = None) -> GroundingResult:
    """Flag what ``draft`` states that ``source`` (the product's facts) does not support."""
    language = language or detect_language(draft or "")
    result = GroundingResult(language=language)
    if not draft or not draft.strip():
        return result
    text, index = _normalise(draft)
    facts = _analyse_source(source or "")
    consumed: list[tuple[int, int]] = []
    flags: list[Flag] = []

    def flag(start: int, end: int, reason: str, kind: str) -> None:
        while end > start and text[end - 1] in " ,.;:，。、":
            end -= 1
        original_start, original_end = index[start], index[end - 1] + 1 if end > start else index[start]
        phrase = draft[original_start:original_end]
        flags.append(
            Flag(phrase=phrase, reason=reason.format(phrase=phrase), kind=kind, start=original_start, end=original_end)
        )
        consumed.append((start, end))

    # 1. Text that talks to a model is never product copy.
    for match in _INSTRUCTION.finditer(text):
        flag(
            match.start(),
            match.end(),
            "'{phrase}' is an instruction to a model, not a fact about the product",
            "instruction",
        )

    # 2. Prices.
    for match in _CURRENCY.finditer(text):
        value = _digits_value(match.group("before") or match.group("after"))
        if any(abs(value - known) < 0.005 for known in facts.price_values):
            consumed.append((match.start(), match.end()))
            continue
        if facts.prices:
            flag(
                match.start(),
                match.end(),
                f"the product data gives a price of {facts.prices[0]}, not {{phrase}}",
                "price",
            )
        else:
            flag(
                match.start(), match.end(), "the product data gives no price, so '{phrase}' cannot be checked", "price"
            )

    # 3. Sizes (before numbers and codes: "XS-XXL", "3XL").
    for match in list(_SIZE_RANGE.finditer(text)) + list(_SIZE_LIST.finditer(text)) + list(_SIZE_SINGLE.finditer(text)):
        if _overlaps(consumed, match.start(), match.end()):
            continue
        if re.search(r"\d\s*$", text[max(0, match.start() - 2) : match.start()]):
            continue  # "5.2 L" is a volume
        sizes = [_canonical_size(s) for s in _SIZE_TOKEN.findall(text[match.start() : match.end()])]
        missing = [s for s in sizes if s not in facts.sizes]
        if missing:
            known = [s for s in _SIZE_ORDER if s in facts.sizes]
            if known:
                reason = f"the product data lists sizes {', '.join(known)}, not {{phrase}}"
            else:
                reason = "the product data lists no letter sizes, so '{phrase}' is not supported"
            flag(match.start(), match.end(), reason, "size")
        else:
            consumed.append((match.start(), match.end()))

    # 4. Ratios (90/10 down, 1:16 scale) and codes (IPX7, VG-10, B12).
    for match in _RATIO.finditer(text):
        if _overlaps(consumed, match.start(), match.end()):
            continue
        if match.group().replace(" ", "") in facts.compact:
            consumed.append((match.start(), match.end()))
        else:
            flag(match.start(), match.end(), "'{phrase}' is not in the product's data", "number")
    for match in _CODE.finditer(text):
        token = match.group()
        if _overlaps(consumed, match.start(), match.end()):
            continue
        if re.search(r"\d[ \t]*[A-Za-z]+/$", text[max(0, match.start() - 12) : match.start()]):
            continue  # the "m2" of "240 g/m2" is part of a unit
        if (
            _NUMBER_THEN_UNIT.fullmatch(token)
            or _NUMBER_HYPHEN_WORD.fullmatch(token)
            or _DIMENSIONS.fullmatch(token)
            or re.fullmatch(_DIGITS, token)
        ):
            continue  # a quantity, read below
        if re.sub(r"[\s\-_]+", "", token.lower()) in facts.compact:
            consumed.append((match.start(), match.end()))
        else:
            flag(match.start(), match.end(), "'{phrase}' is not in the product's data", "number")

    # 5. Numbers, with or without units.
    for quantity in _quantities_in(text, consumed, source=False):
        unsupported = []
        for value, base in zip(quantity.values, quantity.base, strict=True):
            if not quantity.dimension and value == 1:
                ok = True  # "一件", "a single": one of something is not a claim
            elif not quantity.dimension:
                ok = round(value, 6) in facts.every_value
            else:
                ok = any(
                    abs(base - known) <= 1e-6 * max(1.0, abs(known))
                    for known, _ in facts.quantities.get(quantity.dimension, [])
                )
                ok = ok or round(value, 6) in facts.plain
            if not ok:
                unsupported.append(value)
        if not unsupported:
            consumed.append((quantity.start, quantity.end))
            continue
        known = _nearest_written(facts.quantities.get(quantity.dimension, []), unsupported[0] * quantity.factor)
        if known:
            reason = f"the product data gives {' / '.join(known)}, not {{phrase}}"
        else:
            missing = ", ".join(_format_number(v) for v in unsupported)
            if quantity.dimension:
                reason = "'{phrase}' is not in the product's data"
            else:
                reason = f"the product data never gives the number {missing} ('{{phrase}}')"
        flag(quantity.start, quantity.end, reason, "number")

    # 6. Lexicon terms: materials, colours, claims, health, promises, origins, brands. A supported
    # term does not hide an overlapping, more specific one ("羽绒" is supported, "白鹅绒" is not).
    known: list[tuple[int, int]] = []
    for term in _active_terms():
        for match in term.draft.finditer(text):
            start, end = match.start(), match.end()
            if start == end or _overlaps(consumed, start, end):
                continue
            if _negated(text, start)[0]:
                known.append((start, end))
                continue  # "not waterproof" claims nothing
            phrase_text = match.group()
            negated_snippet = None
            if term.label == "free from":
                supported, negated_snippet = _supported_by(_free_from_support(phrase_text), facts)
            elif term.support is None:
                supported = (
                    _in_source_words(phrase_text, facts)
                    if phrase_text.isascii()
                    else (phrase_text.lower() in facts.text.lower())
                )
                if term.kind == "colour" and not supported:
                    supported = _colour_supported(phrase_text, facts)
            else:
                supported, negated_snippet = _supported_by(term.support, facts)
            if supported:
                known.append((start, end))
                continue
            if negated_snippet:
                reason = f"the product data says the opposite: '{negated_snippet}'"
            elif term.weaker is not None and (weaker := term.weaker.search(facts.text)):
                reason = f"the product data only says '{weaker.group()}', which does not support '{{phrase}}'"
            else:
                reason = _KIND_REASON.get(term.kind, _KIND_REASON["claim"])
            flag(start, end, reason, term.kind)
    consumed.extend(known)

    # 7. Ingredients a Chinese draft says are added or contained (添加鸡蛋, 含夏威夷果).
    _flag_ingredients(text, facts, consumed, flag)

    # 8. Names: capitalised words in English sentences, Latin words in Chinese text.
    _flag_names(text, facts, language, consumed, flag)

    flags.sort(key=lambda f: f.start)
    result.flags = _merge_names(flags, draft)
    return result


def _merge_names(flags: list[Flag], draft: str) -> list[Flag]:
    """One flag for "Gore-Tex Pro", not one per word."""
    merged: list[Flag] = []
    for current in flags:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.kind == current.kind == "name"
            and previous.end <= current.start
            and not draft[previous.end : current.start].strip()
        ):
            phrase = draft[previous.start : current.end]
            merged[-1] = Flag(phrase, f"'{phrase}' is not in the product's data", "name", previous.start, current.end)
        else:
            merged.append(current)
    return merged


_FREE_FROM_SYNONYMS = {
    "sulfate": "sul(?:f|ph)ate",
    "sulphate": "sul(?:f|ph)ate",
    "colour": "colou?r",
    "color": "colou?r",
}


def _free_from_support(phrase: str) -> re.Pattern:
    """What in the source supports "无硅油" / "silicone-free": 不含硅油, free from silicone, no silicone…"""
    lowered = phrase.lower().strip()
    if lowered in ("无添加", "不添加", "0添加", "零添加"):
        return re.compile(r"(?:无|不|零|0)添加|no additives|additive[- ]free")
    chinese = re.fullmatch(r"(?:无|不含|不添加|不加|零|0)(.+)", lowered)
    if chinese and _HAS_CJK.search(lowered):
        thing = re.escape(chinese.group(1))
        return re.compile(rf"(?:无|不含|不添加|不加|零|0|免)[^，。；,;]{{0,8}}?{thing}|{thing}[- ]?free")
    english = re.fullmatch(r"(?:no added |no )?(.+?)(?:[- ]free)?", lowered)
    thing = english.group(1) if english else lowered
    thing = _FREE_FROM_SYNONYMS.get(thing, re.escape(thing))
    return re.compile(
        rf"{thing}[- ]?free|free (?:from|of) [^.;]{{0,40}}?{thing}|(?:no|without|zero) (?:added )?{thing}", re.I
    )


_ZH_INGREDIENT = re.compile(
    r"(?:添加了?|含有|富含|加入了?|配料(?:为|有|只有)?|内含|(?<!包)含(?!量|水|[^，。,]量))([^，。；！？,;!?\n]{1,30})"
)
_ITEM_LEADING = re.compile(rf"^(?:了|有|多种|各种|多款|[{_CN_DIGITS}\d.]+[个只件块片包袋种双套份款]?)")


def _cjk_bigrams(text: str) -> set[str]:
    grams = set()
    for run in re.findall(f"[{_CJK}]+", text):
        grams |= {run[i : i + 2] for i in range(len(run) - 1)}
    return grams


def _flag_ingredients(text: str, facts: _SourceFacts, consumed, flag) -> None:
    source_grams = _cjk_bigrams(facts.text)
    for match in _ZH_INGREDIENT.finditer(text):
        if _overlaps(consumed, match.start(), match.end()) or re.search(r"[0零无不]$", text[: match.start()]):
            continue
        if _negated(text, match.start())[0]:
            continue
        offset = match.start(1)
        for item_match in re.finditer(r"[^、和与及跟+/]+", match.group(1)):
            item = item_match.group()
            start = offset + item_match.start()
            leading = _ITEM_LEADING.match(item)
            if leading:
                item, start = item[leading.end() :], start + leading.end()
            item = re.sub(r"(?:等.*|提取物.*)$", "", item).rstrip()
            start += len(item) - len(item.lstrip())
            item = item.lstrip()
            cjk = re.sub(f"[^{_CJK}]", "", item)
            if len(cjk) < 2 or len(cjk) > 8 or not _HAS_CJK.match(item[:1]):
                continue
            end = start + len(item)
            if _overlaps(consumed, start, end) or item.lower() in facts.text.lower():
                continue
            grams = _cjk_bigrams(item)
            if grams and len(grams & source_grams) / len(grams) >= 0.67:
                continue
            flag(start, end, "'{phrase}' is not among the ingredients or parts in the product's data", "material")


def _colour_supported(colour: str, facts: _SourceFacts) -> bool:
    if not _HAS_CJK.search(colour):
        return False
    bases = [ch for ch in colour if ch in _BASIC_ZH_COLOUR]
    return bool(bases) and any(base in word for base in bases for word in facts.colour_words)


def _flag_names(text: str, facts: _SourceFacts, language: str, consumed, flag) -> None:
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    if language == "zh" or _HAS_CJK.search(text):
        for match in _LATIN_TOKEN.finditer(text):
            token = match.group()
            if _overlaps(consumed, match.start(), match.end()):
                continue
            if len(token.strip("'+")) < 2 or token.lower() in _WHITELIST or _SIZE_TOKEN.fullmatch(token):
                continue
            if _unit_of(token) is not None:
                continue
            if language == "en" and not _HAS_CJK.search(text[max(0, match.start() - 3) : match.end() + 3]):
                continue  # English words in an English sentence are judged below
            if _in_source_words(token, facts):
                continue
            flag(match.start(), match.end(), "'{phrase}' is not in the product's data", "name")
        if language == "zh":
            return
    for line_start, line_end in zip(line_starts, line_starts[1:] + [len(text)], strict=True):
        line = text[line_start:line_end]
        title = _title_like(line)
        tokens = list(_CAPITALISED.finditer(line))
        position = 0
        while position < len(tokens):
            run = [tokens[position]]
            while position + len(run) < len(tokens):
                following = tokens[position + len(run)]
                if line[run[-1].end() : following.start()] == " ":
                    run.append(following)
                else:
                    break
            position += len(run)
            start, end = line_start + run[0].start(), line_start + run[-1].end()
            if _overlaps(consumed, start, end):
                run = [t for t in run if not _overlaps(consumed, line_start + t.start(), line_start + t.end())]
                if not run:
                    continue
                start, end = line_start + run[0].start(), line_start + run[-1].end()
            missing = []
            for token in run:
                word = token.group()
                if word.lower() in _WHITELIST or _SIZE_TOKEN.fullmatch(word) or _unit_of(word) is not None:
                    continue
                parts = [p for p in re.split(r"[-']", word) if p]
                if _in_source_words(word, facts) or any(form in facts.words for form in _singular_forms(word)):
                    continue
                if parts and all(any(f in facts.words for f in _singular_forms(p)) for p in parts):
                    continue
                missing.append(token)
            if not missing:
                continue
            shaped = any(_brand_shaped(t.group()) for t in missing)
            first_is_start = bool(_SENTENCE_START.search(line[: run[0].start()]))
            if title and not shaped:
                continue
            if first_is_start and not shaped:
                # "Handmade in Italy": the first word may just open the sentence.
                missing = [t for t in missing if t is not run[0]]
                if not missing:
                    continue
                if len(run) > 1 and missing[0] is run[1]:
                    start = line_start + run[1].start()
            flag(start, end, "'{phrase}' is not in the product's data", "name")


def _brand_shaped(word: str) -> bool:
    """ALL-CAPS (YKK), inner capitals (aptX, GoreTex) or a capitalised hyphen pair (Gore-Tex)."""
    letters = re.sub(r"[^A-Za-z]", "", word)
    if len(letters) >= 2 and letters.isupper():
        return True
    if re.search(r"[a-z][A-Z]", word):
        return True
    return bool(re.fullmatch(r"[A-Z][a-z]+-[A-Z][a-z]+", word))


def check_product_text(product, draft: str, *, language: str | None = None) -> GroundingResult:
    """``check_text`` against the product's facts (``ProductAdapter.get_facts``)."""
    return check_text(draft, get_product_adapter().get_facts(product), language=language)
