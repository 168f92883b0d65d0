"""Text normalisation, numbers, units and quantities, in English and Chinese."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Text normalisation: NFKC (full-width digits and letters, ㎜, ℃, ²), one kind of dash, no
# zero-width characters, with a map back to the draft's own offsets so that flags quote the
# draft exactly.

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
    # Invisible characters are dropped, so "ev\u200bil.example" is read as the link it shows.
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
}


def normalise(text: str) -> tuple[str, list[int]]:
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


CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAS_CJK = re.compile(f"[{CJK}]")

# --------------------------------------------------------------------------------------------
# Numbers

DIGITS = r"\d+(?:,\d{3})+(?:\.\d+)?(?![\d])|\d+(?:[.,]\d+)?"
CN_DIGITS = "零〇一二两三四五六七八九十百千万"
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
SOURCE_ONLY_WORDS = {"single": 1, "pair": 2, "pairs": 2, "twin": 2, "double": 2, "both": 2, "dozen": 12}
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


def digits_value(text: str) -> float:
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

_NUM = rf"(?:(?:{DIGITS})(?:\s*万)?|[{CN_DIGITS}]+|{_EN_WORD})"
_JOIN = r"[ \t]*(?:-|~|/|to|至|到|and|or|x|\+)[ \t]*"
QUANTITY = re.compile(
    rf"(?<![A-Za-z0-9.])(?<![A-Za-z]-)(?P<numbers>{_NUM}(?:{_JOIN}{_NUM})*)"
    rf"(?P<unit>(?:[ \t]*-?[ \t]*(?:{_UNITS_EN})(?![A-Za-z]))|(?:[ \t]*[多余几来]?(?:{_UNITS_CN})))?",
    re.I,
)
_NUMBER_PIECE = re.compile(rf"{DIGITS}(?:\s*万)?|[{CN_DIGITS}]+|{_EN_WORD}", re.I)
WORD_AFTER = re.compile(r"[ -]?(?:[A-Za-z][A-Za-z'-]*)")

CURRENCY = re.compile(
    rf"(?:(?:US\$|\$|€|£|¥|RMB|CNY|USD|EUR|GBP)\s*(?P<before>{DIGITS}))"
    rf"|(?:(?P<after>{DIGITS})\s*(?:元|块钱|美元|欧元|英镑|人民币|dollars?|euros?|USD|EUR|GBP|RMB|CNY)(?![A-Za-z]))",
    re.I,
)
RATIO = re.compile(r"(?<![\w.])\d+(?:[/:]\d+)+(?![\w.])")
# Codes and model numbers: letters and digits in one token (IPX4, VG-10, B12, 5.3K, SPF50+).
CODE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9.+-]*\d)(?=[A-Za-z0-9.+-]*[A-Za-z])"
    r"[A-Za-z0-9](?:[A-Za-z0-9.+]|-(?=[A-Za-z0-9]))*(?<![.-])"
)
NUMBER_THEN_UNIT = re.compile(rf"(?:{DIGITS})\s*-?\s*(?:{_UNITS_EN})", re.I)
NUMBER_HYPHEN_WORD = re.compile(rf"(?:{DIGITS})-[A-Za-z]+", re.I)
DIMENSIONS = re.compile(rf"(?:{DIGITS})(?:\s*x\s*(?:{DIGITS}))+(?:\s*(?:{_UNITS_EN}))?", re.I)


@dataclass
class Quantity:
    values: list[float]
    dimension: str  # "" for a plain number or a count
    factor: float
    start: int
    end: int

    @property
    def base(self) -> list[float]:
        return [value * self.factor for value in self.values]


def unit_of(text: str) -> tuple[str, float] | None:
    text = text.strip().lstrip("-").strip()
    text = re.sub(r"^[多余几来]", "", text)
    for pattern, dimension, factor in _UNIT_LOOKUP:
        if pattern.fullmatch(text):
            return dimension, factor
    return None


def parse_values(numbers: str) -> list[float]:
    values = []
    for piece in _NUMBER_PIECE.finditer(numbers):
        text = piece.group()
        if text[0].isdigit():
            values.append(digits_value(text))
        elif text[0] in CN_DIGITS:
            value = _cn_value(text)
            if value is not None:
                values.append(value)
        else:
            values.append(_en_word_value(text))
    return values


def overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start < b and a < end for a, b in spans)
