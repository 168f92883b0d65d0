"""Negation and instructions; the lexicons (data/*.toml) as terms; sizes and names."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shopai.conf import shopai_settings
from shopai.core.grounding.quantities import HAS_CJK
from shopai.core.language import split_sentences

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


def is_negated(text: str, start: int) -> tuple[bool, int]:
    """Whether a negation governs the word at ``start`` (same clause, close before it)."""
    window_start = max(0, start - 40)
    clause_start = window_start
    for match in _CLAUSE_END.finditer(text, window_start, start):
        clause_start = match.end()
    before = text[clause_start:start]
    if HAS_CJK.search(text[max(0, start - 1) : start + 1]):
        near = before[-6:]
        found = list(_ZH_NEGATION.finditer(near))
        if found:
            return True, start - len(near) + found[-1].start()
    found = list(_EN_NEGATION.finditer(before[-40:]))
    if found:
        return True, start - len(before[-40:]) + found[-1].start()
    return False, -1


INSTRUCTION = re.compile(
    r"(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|preceding)"
    r"\s+(?:instructions?|prompts?|rules|messages?)"
    r"|system prompt|(?:you are|act as)\s+(?:an?\s+)?(?:ai|assistant|language model|chatbot|chatgpt)"
    r"|as an ai\b|new instructions?:"
    r"|(?:忽略|无视|忘记)(?:之前|以上|前面|上述|先前|所有)(?:的)?(?:所有)?(?:指令|指示|提示|规则|内容)"
    r"|系统提示|你现在是|你是一个",
    re.I,
)


def drop_instructions(text: str) -> str:
    """The source without sentences addressed to a model: they are data, never facts."""
    lines = []
    for line in text.splitlines():
        if INSTRUCTION.search(line):
            line = " ".join(s for s in split_sentences(line) if not INSTRUCTION.search(s))
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


_LEXICONS = Path(__file__).resolve().parent / "data"


def load_lexicon(name: str) -> dict:
    with (_LEXICONS / f"{name}.toml").open("rb") as handle:
        return tomllib.load(handle)


def _terms_from_data() -> list[_Term]:
    """The lexicons in shopai/core/grounding/data/*.toml as terms, in the order the guard tries them."""
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
        for entry in load_lexicon("terms")["term"]
    ]
    for entry in load_lexicon("materials")["material"]:
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
    terms.append(_term("colour", "colour", en=(_COLOURS_EN,), zh=(COLOURS_ZH,), same_words=True))
    for group in load_lexicon("origins")["origins"]:
        latin = tuple(word.replace(" ", r"\s+") for word in group if word.isascii())
        chinese = tuple(word for word in group if not word.isascii())
        terms.append(_term("origin", group[0], en=latin, zh=chinese))
    terms.append(_term("name", "brand", en=(_BRANDS_EN,), zh=(_BRANDS_ZH,), same_words=True))
    return terms


_COLOURS = load_lexicon("colours")
_COLOURS_EN = "|".join(_COLOURS["en"])
COLOURS_ZH = "|".join(_COLOURS["zh"])
BASIC_ZH_COLOUR = _COLOURS["basic_zh"]
_BRAND_WORDS = load_lexicon("brands")
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


def active_terms() -> tuple[_Term, ...]:
    """The shipped lexicons, plus the shop's own brands (SHOPAI["COPY"]["EXTRA_BRANDS"])."""
    return _terms_with(tuple(shopai_settings.COPY.get("EXTRA_BRANDS") or ()))


KIND_REASON = {
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
SIZE_ORDER = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "4XL"]
SIZE_RANGE = re.compile(rf"(?<![A-Za-z0-9])({_SIZE})\s*(?:-|~|to|到|至)\s*({_SIZE})(?![A-Za-z0-9])")
SIZE_LIST = re.compile(rf"(?<![A-Za-z0-9/])({_SIZE})(?:\s*[,/、]\s*(?:and\s+|or\s+)?{_SIZE})+(?![A-Za-z0-9/])")
SIZE_SINGLE = re.compile(rf"(?:sizes?|尺码|码数)\s*:?\s*({_SIZE})(?![A-Za-z0-9])", re.I)
SIZE_TOKEN = re.compile(rf"(?<![A-Za-z0-9])({_SIZE})(?![A-Za-z0-9])")


def canonical_size(size: str) -> str:
    return {"2XL": "XXL", "3XL": "XXXL"}.get(size, size)


# --------------------------------------------------------------------------------------------
# Names

CAPITALISED = re.compile(r"(?<![A-Za-z0-9'])(?:[A-Z][A-Za-z]*|[a-z]+[A-Z][A-Za-z]*)(?:['-][A-Za-z]+)*")
LATIN_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z'+]*(?:-[A-Za-z]+)*")
WHITELIST = {"i", "eu", "us", "ok", "am", "pm", "diy", "tv", "faq", "uk"}
SENTENCE_START = re.compile(r"(?:^|[.!?:;(\"'\-•*·|/]|\n)\s*$")


def title_like(line: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", line)
    if len(words) < 3:
        return False
    capitalised = sum(1 for word in words if word[0].isupper())
    return capitalised / len(words) >= 0.6


def singular_forms(word: str) -> set[str]:
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
