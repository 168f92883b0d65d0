"""The product's text made unable to imitate the prompt's data fence, however it writes the marker."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from shopai.core.grounding.lexicons import load_lexicon

_CONFUSABLES = load_lexicon("fences")
_BRACKETS: dict[str, str] = _CONFUSABLES["brackets"]
_LETTERS: dict[str, str] = _CONFUSABLES["letters"]


def _as_read(text: str) -> tuple[str, list[int]]:
    """``text`` as a reader sees it: NFKC, look-alike brackets and letters folded, invisible characters
    dropped, lower case; with each character's offset in ``text``."""
    out: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char):
            if unicodedata.category(piece) == "Cf":
                continue  # zero-width spaces and joiners, word joiners, BOMs, direction marks
            piece = _BRACKETS.get(piece) or piece.casefold()
            piece = "".join(_LETTERS.get(c, c) for c in piece)
            out.append(piece)
            index.extend([position] * len(piece))
    return "".join(out), index


@lru_cache(maxsize=8)
def _marker_pattern(fence: str) -> re.Pattern:
    """The fence's words with any brackets around them, and any run of two or more like brackets."""
    words = r"[^\S\n]*".join(re.escape(word) for word in re.findall(r"\w+", _as_read(fence)[0]))
    gap = r"[^\S\n]*"
    named = rf"/?{gap}(?:end{gap}(?:of{gap})?(?:the{gap})?)?{words}"
    return re.compile(
        rf"(?:[<>]{gap})+{named}(?:{gap}[<>])*"  # <<<PRODUCT DATA>>>, <</product  data>, <<<END OF …
        rf"|{named}(?:{gap}[<>])+"  # PRODUCT DATA>>>
        rf"|<(?:{gap}<)+|>(?:{gap}>)+"  # <<< or >>> on their own, however spaced
    )


def without_fence_lookalikes(text: str, fence: str) -> str:
    """``text`` with every sequence that reads as ``fence`` (or part of one) replaced by a space.

    Matched on the text as read (case, spacing, full-width and look-alike characters, zero-width
    characters inserted), replaced in the text as written; everything else is left as it was.
    """
    seen, index = _as_read(text)
    pieces: list[str] = []
    done = 0
    for match in _marker_pattern(fence).finditer(seen):
        start, end = index[match.start()], index[match.end() - 1] + 1
        if start < done:
            continue
        pieces += [text[done:start], " "]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)
