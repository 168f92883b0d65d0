"""The product's data, analysed once: the facts a draft may rely on."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from shopai.core.grounding.lexicons import (
    COLOURS_ZH,
    SIZE_TOKEN,
    canonical_size,
    drop_instructions,
    is_negated,
    singular_forms,
)
from shopai.core.grounding.quantities import (
    CN_DIGITS,
    CURRENCY,
    DIGITS,
    HAS_CJK,
    QUANTITY,
    SOURCE_ONLY_WORDS,
    WORD_AFTER,
    Quantity,
    digits_value,
    normalise,
    overlaps,
    parse_values,
    unit_of,
)

# --------------------------------------------------------------------------------------------
# The source, analysed once


@dataclass
class SourceFacts:
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
_PRICE_LINE = re.compile(r"^\s*(?:price|价格|售价)\s*:\s*(" + DIGITS + r")\s*$", re.I | re.M)
_COLOUR_LINE = re.compile(r"^\s*(?:colou?rs?|shades?|颜色|色号)\s*:\s*(.+)$", re.I | re.M)


def _prepare_source(source: str) -> str:
    text, _ = normalise(source or "")
    text = drop_instructions(text)
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


def quantities_in(text: str, consumed: list[tuple[int, int]] | None = None, *, source: bool) -> list[Quantity]:
    """Numbers of ``text`` with their units; the draft side ignores Chinese numerals without a unit."""
    found: list[Quantity] = []
    for match in QUANTITY.finditer(text):
        if consumed is not None and overlaps(consumed, match.start(), match.end()):
            continue
        numbers, unit_text = match.group("numbers"), match.group("unit")
        values = parse_values(numbers)
        if not values:
            continue
        unit = unit_of(unit_text) if unit_text else None
        first = numbers.strip()
        is_word = first[:1].isalpha() and not HAS_CJK.match(first[:1])
        is_chinese = first[:1] in CN_DIGITS
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
                after = WORD_AFTER.match(text, end)
                if after and not HAS_CJK.search(after.group()):
                    end = after.end()
            elif unit_text.lstrip().startswith("-"):
                after = WORD_AFTER.match(text, end)
                if after and after.group().startswith(" "):
                    end = after.end()
        dimension, factor = unit if unit else ("", 1.0)
        found.append(Quantity(values, dimension, factor, match.start(), end))
    return found


def _key_unit_quantities(line: str) -> list[tuple[Quantity, str]]:
    """ "weight_g: 210" is 210 g; returns the quantity and how to quote it ("210 g")."""
    match = _KEY_UNIT.match(line)
    if not match:
        return []
    unit_name = _KEY_UNIT_ALIASES.get(match.group(2).lower(), match.group(2).lower())
    unit = unit_of(unit_name)
    if unit is None:
        return []
    values = [digits_value(v) for v in re.findall(DIGITS, match.group(3))]
    written = f"{match.group(3).strip()} {match.group(2)}"
    return [(Quantity(values, unit[0], unit[1], 0, 0), written)] if values else []


@lru_cache(maxsize=512)
def analyse_source(source: str) -> SourceFacts:
    text = _prepare_source(source)
    compact = re.sub(r"[\s\-_]+", "", text.lower())
    words: set[str] = set()
    for word in re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower()):
        words |= singular_forms(word)
    quantities: dict[str, list[tuple[float, str]]] = {}
    plain: set[float] = set()
    every: set[float] = set()

    def add(quantity: Quantity, written: str, *, bookkeeping: bool = False) -> None:
        for value, base in zip(quantity.values, quantity.base, strict=True):
            every.add(round(value, 6))
            if quantity.dimension:
                quantities.setdefault(quantity.dimension, []).append((base, written))
            elif not bookkeeping:
                plain.add(round(value, 6))

    for line in text.splitlines():
        if _BOOKKEEPING_LINE.match(line):
            # "stock: 5" may back "5 left", never "5 litres".
            for quantity in quantities_in(line, source=True):
                add(quantity, "", bookkeeping=True)
            continue
        for quantity, written in _key_unit_quantities(line):
            add(quantity, written)
        for quantity in quantities_in(line, source=True):
            add(quantity, line[quantity.start : quantity.end].strip())
        for word, value in SOURCE_ONLY_WORDS.items():
            if re.search(rf"(?<![a-z]){word}(?![a-z])", line, re.I):
                plain.add(float(value))
                every.add(float(value))
        for match in CURRENCY.finditer(line):
            value = digits_value(match.group("before") or match.group("after"))
            every.add(value)
    prices = [m.group(1) for m in _PRICE_LINE.finditer(text)]
    price_values = {digits_value(p) for p in prices}
    for match in CURRENCY.finditer(text):
        price_values.add(digits_value(match.group("before") or match.group("after")))
        prices.append(match.group().strip())
    sizes = {canonical_size(m.group(1)) for m in SIZE_TOKEN.finditer(text)}
    colour_words = [m.group(1) for m in _COLOUR_LINE.finditer(text)]
    colour_words += re.findall(COLOURS_ZH, text)
    return SourceFacts(text, compact, words, quantities, plain, every, prices, price_values, sizes, colour_words)


def supported_by(pattern: re.Pattern, facts: SourceFacts) -> tuple[bool, str | None]:
    """(supported, the source's negating words if it only mentions the thing negated)."""
    negated_snippet = None
    for match in pattern.finditer(facts.text):
        negated, cue = is_negated(facts.text, match.start())
        if not negated:
            return True, None
        negated_snippet = negated_snippet or facts.text[cue : match.end()].strip()
    return False, negated_snippet


def in_source_words(phrase: str, facts: SourceFacts) -> bool:
    lowered = phrase.lower()
    if re.search(r"[\d\-\s]", lowered) and re.sub(r"[\s\-_]+", "", lowered) in facts.compact:
        return True
    return re.search(r"(?<![a-z0-9])" + re.escape(lowered) + r"(?![a-z0-9])", facts.text.lower()) is not None


def nearest_written(known: list[tuple[float, str]], base: float, limit: int = 3) -> list[str]:
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


def format_number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e7 else f"{value:,.0f}"
