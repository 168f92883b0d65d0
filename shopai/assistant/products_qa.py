"""Questions about one product ("is the Storm Break jacket machine washable?"), answered from its text."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from shopai.adapters import get_product_adapter
from shopai.assistant.faqs import assistant_backend
from shopai.core.language import split_sentences
from shopai.search import search_products

_WORD = re.compile(r"[a-z0-9]+")
_STOP = set(
    "a an the is are was do does did can could will would of for to in on at with and or my your this that it "
    "its be how what which who when where why i me you we they he she there any some much many".split()
)


def _terms(text: str) -> set[str]:
    """Words for Latin text, character bigrams for Chinese."""
    lowered = text.lower()
    words = {w for w in _WORD.findall(lowered) if w not in _STOP and len(w) > 2}
    cjk = "".join(ch for ch in lowered if "\u4e00" <= ch <= "\u9fff")
    return words | {cjk[i : i + 2] for i in range(len(cjk) - 1)}


def find_product(question: str) -> tuple[Any, float] | None:
    """The product the question names: semantic candidates re-ranked by name overlap."""
    adapter = get_product_adapter()
    asked = _terms(question)
    best, best_overlap = None, 0.0
    for hit in search_products(query=question, k=10):
        name_terms = _terms(str(adapter.get_field(hit.product, "name") or ""))
        if not name_terms:
            continue
        overlap = len(name_terms & asked) / len(name_terms)
        if overlap > best_overlap:
            best, best_overlap = hit.product, overlap
    # At least a third of the product's name must appear in the question.
    return (best, best_overlap) if best is not None and best_overlap >= 0.34 else None


def answer(*, question: str, vector: np.ndarray, language: str) -> tuple[dict, str, float] | None:
    """(product, best sentence of its text, confidence) or None when no product is named."""
    found = find_product(question)
    if found is None:
        return None
    product, _ = found
    adapter = get_product_adapter()
    info = adapter.to_result(product)
    name_terms = _terms(info["name"])
    # Sentences of the product's text, without the lines that only repeat its name or category.
    sentences = [s for s in split_sentences(adapter.get_text(product)) if len(_terms(s) - name_terms) > 1]
    if not sentences:
        return info, "", 0.0
    asked = _terms(question) - name_terms
    shared = [len(asked & _terms(sentence)) for sentence in sentences]
    scores = assistant_backend().embed_stored_texts(sentences) @ vector + 0.05 * np.asarray(shared)
    best = int(np.argmax(scores))
    # Similarity alone cannot tell "the text says" from "the text is about something close",
    # so the question's own words (beyond the product name) must appear in the sentence.
    confidence = {0: 0.3, 1: 0.75}.get(shared[best], 0.9)
    return info, sentences[best], confidence
