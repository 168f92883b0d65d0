"""How well the grounding guard tells drafts that invent facts from faithful ones, on labelled drafts.

``read_drafts`` reads a CSV (sku, language, field, draft, label faithful|invented, invented
phrases, split), ``evaluate`` runs the guard on each draft against its product's facts and scores
precision, recall and F1 overall and per language. ``shopai_eval_grounding`` prints it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from shopai.adapters import get_product_adapter
from shopai.conf import shopai_settings
from shopai.core.grounding import Flag, check_text
from shopai.core.language import detect_language

REQUIRED = ("sku", "draft", "label")
LABELS = ("faithful", "invented")
SPLITS = ("dev", "test", "all")


class DraftFileError(ValueError):
    """The file cannot be used as a whole."""


@dataclass
class Draft:
    line: int
    sku: str
    language: str
    field: str
    text: str
    invented: bool
    phrases: list[str]
    split: str


@dataclass
class Judged:
    draft: Draft
    flags: list[Flag] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def read_drafts(path: Path, split: str = "all") -> tuple[list[Draft], list[tuple[int, str]]]:
    """Rows of ``path`` in ``split``, and (line, reason) for each row that cannot be used."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DraftFileError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    rejected: list[tuple[int, str]] = []
    drafts: list[Draft] = []
    with handle:
        try:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DraftFileError(f"{path.name} is not a UTF-8 CSV file ({exc}).") from exc
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise DraftFileError(
                f"{path.name} lacks the column(s) {', '.join(missing)}; expected a header "
                "sku,language,field,draft,label,invented[,split] (label faithful|invented, invented phrases "
                "separated by |)."
            )
        if split != "all" and "split" not in columns:
            raise DraftFileError(f"{path.name} has no split column; run with --split all.")
        try:
            next_line = reader.line_num + 1
            for row in reader:
                line, next_line = next_line, reader.line_num + 1  # where the row starts (drafts span lines)
                sku = (row.get("sku") or "").strip()
                text = row.get("draft") or ""
                label = (row.get("label") or "").strip().lower()
                if not sku or not text.strip():
                    rejected.append((line, "empty sku or draft"))
                    continue
                if label not in LABELS:
                    rejected.append((line, f"label {label!r} is not faithful or invented"))
                    continue
                row_split = (row.get("split") or "dev").strip().lower()
                if split != "all" and row_split != split:
                    continue
                phrases = [p.strip() for p in (row.get("invented") or "").split("|") if p.strip()]
                drafts.append(
                    Draft(
                        line=line,
                        sku=sku,
                        language=(row.get("language") or "").strip().lower() or detect_language(text),
                        field=(row.get("field") or "").strip(),
                        text=text,
                        invented=label == "invented",
                        phrases=phrases,
                        split=row_split,
                    )
                )
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DraftFileError(f"{path.name} could not be read as CSV near line {reader.line_num}: {exc}") from exc
    return drafts, rejected


def products_by_sku(skus: set[str]) -> dict[str, object]:
    adapter = get_product_adapter()
    path = shopai_settings.PRODUCT_FIELDS.get("sku", "sku").replace(".", "__")
    queryset = adapter.get_queryset().filter(**{f"{path}__in": sorted(skus)})
    return {str(adapter.get_field(product, "sku")): product for product in queryset}


def _scores(judged: list[Judged]) -> dict:
    tp = sum(1 for j in judged if j.draft.invented and j.flagged)
    fp = sum(1 for j in judged if not j.draft.invented and j.flagged)
    fn = sum(1 for j in judged if j.draft.invented and not j.flagged)
    tn = sum(1 for j in judged if not j.draft.invented and not j.flagged)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    phrases = caught = exact = 0
    for j in judged:
        for phrase in j.draft.phrases:
            phrases += 1
            position = j.draft.text.find(phrase)
            if position < 0:
                continue
            end = position + len(phrase)
            overlapping = [f for f in j.flags if f.start < end and position < f.end]
            caught += bool(overlapping)
            exact += any(f.phrase.strip().lower() == phrase.strip().lower() for f in overlapping)
    return {
        "drafts": len(judged),
        "invented": tp + fn,
        "faithful": fp + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "invented_phrases": phrases,
        "phrases_caught": caught,
        "phrase_catch_rate": round(caught / phrases, 4) if phrases else 0.0,
        "phrases_exact": exact,
        "phrase_exact_rate": round(exact / phrases, 4) if phrases else 0.0,
    }


def evaluate(drafts: list[Draft], products: dict[str, object]) -> tuple[list[Judged], dict]:
    adapter = get_product_adapter()
    facts: dict[str, str] = {}
    judged: list[Judged] = []
    for draft in drafts:
        product = products.get(draft.sku)
        if product is None:
            continue
        if draft.sku not in facts:
            facts[draft.sku] = adapter.get_facts(product)
        result = check_text(draft.text, facts[draft.sku], language=draft.language)
        judged.append(Judged(draft, result.flags))
    by_language: dict[str, list[Judged]] = defaultdict(list)
    for j in judged:
        by_language[j.draft.language].append(j)
    scores = {"overall": _scores(judged)}
    for language in sorted(by_language):
        scores[language] = _scores(by_language[language])
    return judged, scores


def error_row(j: Judged) -> dict:
    return {
        "line": j.draft.line,
        "sku": j.draft.sku,
        "language": j.draft.language,
        "field": j.draft.field,
        "draft": j.draft.text,
        "invented": j.draft.phrases,
        "flags": [{"phrase": f.phrase, "reason": f.reason, "kind": f.kind} for f in j.flags],
    }
