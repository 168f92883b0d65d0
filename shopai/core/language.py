"""Tell Chinese from English text and split answers into sentences, without any model."""

from __future__ import annotations

import re

from shopai.core.chinese_words import chinese_words

# A share rather than "any Chinese character": shoppers paste product names across languages
# ("Is the 冲锋衣 waterproof?"), and a Chinese message still reads as Chinese with an English
# word or an order number in it ("我的order 1234在哪里").
CHINESE_SHARE = 0.3

_CJK_RANGES = (
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0x3400, 0x4DBF),  # Extension A
    (0x20000, 0x2EBEF),  # Extensions B–F
    (0xF900, 0xFAFF),  # Compatibility Ideographs
)


# English function words: where a text mixing Latin words and ideographs has one of these,
# its sentence is English ("Is the 冲锋衣 waterproof?").
_ENGLISH_GRAMMAR = frozenset(
    "a an the is are was were be do does did can could will would should may i you he she it we they "
    "my your his her its our their me him us them this that these those what which who where when why "
    "how to of in on at for with from by and or but not no if there have has had am".split()
)
_LATIN_WORD = re.compile(r"[a-z]+")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def detect_language(text: str) -> str:
    """ "zh" when at least 30% of the letters and ideographs are Chinese, else "en" (also for empty text)."""
    letters = 0
    chinese = 0
    for char in text or "":
        # Ideographs count as alphabetic; digits, punctuation and spaces carry no language.
        if char.isalpha():
            letters += 1
            if _is_cjk(char):
                chinese += 1
    if not letters:
        return "en"
    if chinese / letters >= CHINESE_SHARE:
        return "zh"
    if chinese and not _ENGLISH_GRAMMAR.intersection(_LATIN_WORD.findall(text.lower())):
        # Chinese with English words in it ("forgot password 怎么办", "payment 一直 failed"): the
        # English is nouns and verbs, the sentence around them Chinese.
        return "zh"
    return "en"


# Words whose trailing period does not end a sentence, lower-case, dotted forms ("e.g.", "U.S.")
# without their final period. Titles and Latin never end one; "No." only before a number
# ("No. 5", but "No. It isn't."); "etc." and the like only before a lower-case word.
_ALWAYS_ABBREVIATED = frozenset(
    {"e.g", "i.e", "cf", "vs", "approx", "incl", "excl", "mr", "mrs", "ms", "dr", "st", "jr", "sr", "dept", "fig"}
)
_BEFORE_NUMBER = frozenset({"no", "nr", "nos"})
_BEFORE_LOWER_CASE = frozenset({"etc", "a.m", "p.m", "u.s", "u.k"})

# Chinese sentence ends (and ! ? typed in ASCII) end a sentence wherever they stand; closing
# quotes and brackets stay with the sentence they close.
_CLOSERS = re.escape("\"'”’」』）)]")
_ZH_END = re.compile(rf"[。！？；!?]+[{_CLOSERS}]*")
_PERIOD_END = re.compile(rf"\.+[{_CLOSERS}]*")
_WORD_BEFORE = re.compile(r"(?<![A-Za-z.])[A-Za-z][A-Za-z.]*$")
_NEXT_WORD = re.compile(r"\s*(\S)")


def _period_ends_sentence(text: str, start: int, end: int, language: str) -> bool:
    following = text[end : end + 1]
    if following and not following.isspace():
        # "3.5", "shopai.com" and "e.g.," stay whole; in Chinese text a period straight before
        # an ideograph ("尺码偏大.建议选小一码") still ends the sentence.
        return language == "zh" and _is_cjk(following)
    if end - start > 1 or not following:  # an ellipsis, or the end of the line
        return True
    word = _WORD_BEFORE.search(text, max(0, start - 16), start)
    if word is None:
        return True
    word_text = word.group().lower()
    next_char = _NEXT_WORD.match(text, end)
    next_char = next_char.group(1) if next_char else ""
    if word_text in _ALWAYS_ABBREVIATED:
        return False
    if word_text in _BEFORE_NUMBER:
        return not next_char.isdigit()
    if word_text in _BEFORE_LOWER_CASE:
        return not (next_char.islower() or next_char.isdigit())
    return True


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Sentences of ``text`` with their end punctuation, stripped, empty pieces dropped.

    Splits on . ! ? and 。！？； and on line breaks; decimals (3.5) and common abbreviations
    (e.g., etc., No.) do not end a sentence. ``language`` defaults to ``detect_language(text)``.
    """
    if not text:
        return []
    language = language or detect_language(text)
    sentences: list[str] = []
    for line in text.splitlines():
        start = 0
        cuts: list[int] = [match.end() for match in _ZH_END.finditer(line)]
        cuts += [
            match.end()
            for match in _PERIOD_END.finditer(line)
            if _period_ends_sentence(line, match.start(), match.end(), language)
        ]
        for cut in sorted(set(cuts)):
            sentences.append(line[start:cut])
            start = cut
        sentences.append(line[start:])
    return [sentence.strip() for sentence in sentences if sentence.strip()]


_KEYWORD = re.compile(r"[a-z0-9]+")


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def keyword_text(text: str) -> str:
    """``text`` with each run of Chinese characters written as its words separated by spaces
    (SEARCH["CHINESE_SEGMENTER"]: "出差的小箱子" -> "出差 的 小箱 箱子 小箱子"), so that a full-text
    parser made for space-separated words indexes Chinese too. Other text is left to the parser."""
    return _CJK_RUN.sub(lambda run: f" {' '.join(chinese_words(run.group()))} ", text)


def chinese_keywords(text: str) -> list[str]:
    """The Chinese words of ``text``, run by run, in order (repeats kept)."""
    return [word for run in _CJK_RUN.findall(text) for word in chinese_words(run)]


def keyword_terms(text: str) -> set[str]:
    """Search keywords: Latin words of 3+ characters, and Chinese words (SEARCH["CHINESE_SEGMENTER"])."""
    lowered = text.lower()
    return {w for w in _KEYWORD.findall(lowered) if len(w) > 2} | set(chinese_keywords(lowered))
