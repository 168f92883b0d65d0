"""The grounding guard: every claim of a draft checked against the product's data."""

from __future__ import annotations

import re

from shopai.core.grounding.api import Flag, GroundingResult
from shopai.core.grounding.lexicons import (
    BASIC_ZH_COLOUR,
    CAPITALISED,
    INSTRUCTION,
    KIND_REASON,
    LATIN_TOKEN,
    SENTENCE_START,
    SIZE_LIST,
    SIZE_ORDER,
    SIZE_RANGE,
    SIZE_SINGLE,
    SIZE_TOKEN,
    WHITELIST,
    active_terms,
    canonical_size,
    is_negated,
    singular_forms,
    title_like,
)
from shopai.core.grounding.links import flag_links
from shopai.core.grounding.quantities import (
    CJK,
    CN_DIGITS,
    CODE,
    CURRENCY,
    DIGITS,
    DIMENSIONS,
    HAS_CJK,
    NUMBER_HYPHEN_WORD,
    NUMBER_THEN_UNIT,
    RATIO,
    digits_value,
    normalise,
    overlaps,
    unit_of,
)
from shopai.core.grounding.source import (
    SourceFacts,
    analyse_source,
    format_number,
    in_source_words,
    nearest_written,
    quantities_in,
    supported_by,
)
from shopai.core.language import detect_language

# --------------------------------------------------------------------------------------------
# The guard


def check_text(draft: str, source: str, *, language: str | None = None) -> GroundingResult:
    """Flag what ``draft`` states that ``source`` (the product's facts) does not support."""
    language = language or detect_language(draft or "")
    result = GroundingResult(language=language)
    if not draft or not draft.strip():
        return result
    text, index = normalise(draft)
    facts = analyse_source(source or "")
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
    for match in INSTRUCTION.finditer(text):
        flag(
            match.start(),
            match.end(),
            "'{phrase}' is an instruction to a model, not a fact about the product",
            "instruction",
        )

    # 2. Links, e-mail addresses, phone numbers and markup the product's data does not give; the
    # ones it gives are consumed, so that their digits and words are not read as numbers or names.
    flag_links(text, facts, consumed, flag)

    # 3. Prices.
    for match in CURRENCY.finditer(text):
        value = digits_value(match.group("before") or match.group("after"))
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

    # 4. Sizes (before numbers and codes: "XS-XXL", "3XL").
    for match in list(SIZE_RANGE.finditer(text)) + list(SIZE_LIST.finditer(text)) + list(SIZE_SINGLE.finditer(text)):
        if overlaps(consumed, match.start(), match.end()):
            continue
        if re.search(r"\d\s*$", text[max(0, match.start() - 2) : match.start()]):
            continue  # "5.2 L" is a volume
        sizes = [canonical_size(s) for s in SIZE_TOKEN.findall(text[match.start() : match.end()])]
        missing = [s for s in sizes if s not in facts.sizes]
        if missing:
            known = [s for s in SIZE_ORDER if s in facts.sizes]
            if known:
                reason = f"the product data lists sizes {', '.join(known)}, not {{phrase}}"
            else:
                reason = "the product data lists no letter sizes, so '{phrase}' is not supported"
            flag(match.start(), match.end(), reason, "size")
        else:
            consumed.append((match.start(), match.end()))

    # 5. Ratios (90/10 down, 1:16 scale) and codes (IPX7, VG-10, B12).
    for match in RATIO.finditer(text):
        if overlaps(consumed, match.start(), match.end()):
            continue
        if match.group().replace(" ", "") in facts.compact:
            consumed.append((match.start(), match.end()))
        else:
            flag(match.start(), match.end(), "'{phrase}' is not in the product's data", "number")
    for match in CODE.finditer(text):
        token = match.group()
        if overlaps(consumed, match.start(), match.end()):
            continue
        if re.search(r"\d[ \t]*[A-Za-z]+/$", text[max(0, match.start() - 12) : match.start()]):
            continue  # the "m2" of "240 g/m2" is part of a unit
        if (
            NUMBER_THEN_UNIT.fullmatch(token)
            or NUMBER_HYPHEN_WORD.fullmatch(token)
            or DIMENSIONS.fullmatch(token)
            or re.fullmatch(DIGITS, token)
        ):
            continue  # a quantity, read below
        if re.sub(r"[\s\-_]+", "", token.lower()) in facts.compact:
            consumed.append((match.start(), match.end()))
        else:
            flag(match.start(), match.end(), "'{phrase}' is not in the product's data", "number")

    # 6. Numbers, with or without units.
    for quantity in quantities_in(text, consumed, source=False):
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
        known = nearest_written(facts.quantities.get(quantity.dimension, []), unsupported[0] * quantity.factor)
        if known:
            reason = f"the product data gives {' / '.join(known)}, not {{phrase}}"
        else:
            missing = ", ".join(format_number(v) for v in unsupported)
            if quantity.dimension:
                reason = "'{phrase}' is not in the product's data"
            else:
                reason = f"the product data never gives the number {missing} ('{{phrase}}')"
        flag(quantity.start, quantity.end, reason, "number")

    # 7. Lexicon terms: materials, colours, claims, health, promises, origins, brands. A supported
    # term does not hide an overlapping, more specific one ("羽绒" is supported, "白鹅绒" is not).
    known: list[tuple[int, int]] = []
    for term in active_terms():
        for match in term.draft.finditer(text):
            start, end = match.start(), match.end()
            if start == end or overlaps(consumed, start, end):
                continue
            if is_negated(text, start)[0]:
                known.append((start, end))
                continue  # "not waterproof" claims nothing
            phrase_text = match.group()
            negated_snippet = None
            if term.label == "free from":
                supported, negated_snippet = supported_by(_free_from_support(phrase_text), facts)
            elif term.support is None:
                supported = (
                    in_source_words(phrase_text, facts)
                    if phrase_text.isascii()
                    else (phrase_text.lower() in facts.text.lower())
                )
                if term.kind == "colour" and not supported:
                    supported = _colour_supported(phrase_text, facts)
            else:
                supported, negated_snippet = supported_by(term.support, facts)
            if supported:
                known.append((start, end))
                continue
            if negated_snippet:
                reason = f"the product data says the opposite: '{negated_snippet}'"
            elif term.weaker is not None and (weaker := term.weaker.search(facts.text)):
                reason = f"the product data only says '{weaker.group()}', which does not support '{{phrase}}'"
            else:
                reason = KIND_REASON.get(term.kind, KIND_REASON["claim"])
            flag(start, end, reason, term.kind)
    consumed.extend(known)

    # 8. Ingredients a Chinese draft says are added or contained (添加鸡蛋, 含夏威夷果).
    _flag_ingredients(text, facts, consumed, flag)

    # 9. Names: capitalised words in English sentences, Latin words in Chinese text.
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
    if chinese and HAS_CJK.search(lowered):
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
_ITEM_LEADING = re.compile(rf"^(?:了|有|多种|各种|多款|[{CN_DIGITS}\d.]+[个只件块片包袋种双套份款]?)")


def _cjk_bigrams(text: str) -> set[str]:
    grams = set()
    for run in re.findall(f"[{CJK}]+", text):
        grams |= {run[i : i + 2] for i in range(len(run) - 1)}
    return grams


def _flag_ingredients(text: str, facts: SourceFacts, consumed, flag) -> None:
    source_grams = _cjk_bigrams(facts.text)
    for match in _ZH_INGREDIENT.finditer(text):
        if overlaps(consumed, match.start(), match.end()) or re.search(r"[0零无不]$", text[: match.start()]):
            continue
        if is_negated(text, match.start())[0]:
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
            cjk = re.sub(f"[^{CJK}]", "", item)
            if len(cjk) < 2 or len(cjk) > 8 or not HAS_CJK.match(item[:1]):
                continue
            end = start + len(item)
            if overlaps(consumed, start, end) or item.lower() in facts.text.lower():
                continue
            grams = _cjk_bigrams(item)
            if grams and len(grams & source_grams) / len(grams) >= 0.67:
                continue
            flag(start, end, "'{phrase}' is not among the ingredients or parts in the product's data", "material")


def _colour_supported(colour: str, facts: SourceFacts) -> bool:
    if not HAS_CJK.search(colour):
        return False
    bases = [ch for ch in colour if ch in BASIC_ZH_COLOUR]
    return bool(bases) and any(base in word for base in bases for word in facts.colour_words)


def _flag_names(text: str, facts: SourceFacts, language: str, consumed, flag) -> None:
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    if language == "zh" or HAS_CJK.search(text):
        for match in LATIN_TOKEN.finditer(text):
            token = match.group()
            if overlaps(consumed, match.start(), match.end()):
                continue
            if len(token.strip("'+")) < 2 or token.lower() in WHITELIST or SIZE_TOKEN.fullmatch(token):
                continue
            if unit_of(token) is not None:
                continue
            if language == "en" and not HAS_CJK.search(text[max(0, match.start() - 3) : match.end() + 3]):
                continue  # English words in an English sentence are judged below
            if in_source_words(token, facts):
                continue
            flag(match.start(), match.end(), "'{phrase}' is not in the product's data", "name")
        if language == "zh":
            return
    for line_start, line_end in zip(line_starts, line_starts[1:] + [len(text)], strict=True):
        line = text[line_start:line_end]
        title = title_like(line)
        tokens = list(CAPITALISED.finditer(line))
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
            if overlaps(consumed, start, end):
                run = [t for t in run if not overlaps(consumed, line_start + t.start(), line_start + t.end())]
                if not run:
                    continue
                start, end = line_start + run[0].start(), line_start + run[-1].end()
            missing = []
            for token in run:
                word = token.group()
                if word.lower() in WHITELIST or SIZE_TOKEN.fullmatch(word) or unit_of(word) is not None:
                    continue
                parts = [p for p in re.split(r"[-']", word) if p]
                if in_source_words(word, facts) or any(form in facts.words for form in singular_forms(word)):
                    continue
                if parts and all(any(f in facts.words for f in singular_forms(p)) for p in parts):
                    continue
                missing.append(token)
            if not missing:
                continue
            shaped = any(_brand_shaped(t.group()) for t in missing)
            first_is_start = bool(SENTENCE_START.search(line[: run[0].start()]))
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
