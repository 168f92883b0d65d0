"""Offline evaluation of the assistant: FAQ retrieval, calibration, handoff, and intents."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction

from shopai.assistant.answers import answer_question, confidence_from
from shopai.assistant.faqs import assistant_backend
from shopai.assistant.intents import get_intent_classifier, parent_intent
from shopai.conf import shopai_settings
from shopai.models import FAQ


@dataclass
class Judged:
    """One labelled question and what the assistant gave the shopper."""

    question: str
    language: str
    expected: str | None  # FAQ question, or None when no FAQ answers it
    top: str | None  # the FAQ the assistant ranked first (None: it did not look at FAQs)
    answered: str | None  # the FAQ it answered with (None: no FAQ answer)
    handoff: bool
    handoff_reason: str
    intent: str
    confidence: float
    features: dict[str, float]

    @property
    def in_scope(self) -> bool:
        return self.expected is not None

    @property
    def top1(self) -> bool:
        return self.in_scope and self.top == self.expected

    @property
    def right(self) -> bool:
        """Answered with the right FAQ and not handed over."""
        return self.in_scope and not self.handoff and self.answered == self.expected

    @property
    def wrong(self) -> bool:
        """Given something that is not the answer (another FAQ, a product or order reply), no handoff."""
        return not self.handoff and not self.right

    def answered_at(self, threshold: float, weights: dict[str, float] | None = None) -> bool:
        """Would the top FAQ be given with these calibration weights and this threshold?"""
        if not self.features or self.handoff_reason in {"very_negative", "asked_for_human"}:
            return False
        return confidence_from(self.features, weights, language=self.language) >= threshold


def read_labelled(path: Path, *, split: str | None = None) -> list[tuple[str, str | None, str]]:
    """(question, expected FAQ question or None, language) from CSV columns question,expected_question,
    language (and split, to keep only ``split``)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        missing = {"question", "expected_question", "language"} - columns
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}.")
        if split and "split" not in columns:
            raise ValueError(f"{path} has no split column to pick {split!r} from.")
        return [
            (row["question"].strip(), (row["expected_question"] or "").strip() or None, row["language"].strip())
            for row in reader
            if row["question"].strip() and (not split or row["split"].strip() == split)
        ]


def judge(rows: list[tuple[str, str | None, str]], *, progress=None) -> list[Judged]:
    """Ask every question as ``POST /api/shopai/ask`` does (``answer_question``: language, intent
    routing, retrieval, confidence, handoff); the exchanges it logs are rolled back."""
    faq_ids = dict(FAQ.objects.values_list("pk", "question"))
    judged = []
    with transaction.atomic():
        for question, expected, language in rows:
            reply = answer_question(question=question, session_id="shopai-eval")
            top = reply.sources[0].get("faq_id") if reply.sources else None
            judged.append(
                Judged(
                    question=question,
                    language=language,
                    expected=expected,
                    top=faq_ids.get(top) if top else None,
                    answered=faq_ids.get(reply.faq_id) if reply.faq_id else None,
                    handoff=reply.handoff,
                    handoff_reason=reply.handoff_reason,
                    intent=reply.intent,
                    confidence=reply.confidence,
                    features=reply.features,
                )
            )
            if progress:
                progress(1)
        transaction.set_rollback(True)
    return judged


def missing_expected(rows: list[tuple[str, str | None, str]]) -> list[str]:
    known = set(FAQ.objects.filter(is_published=True).values_list("question", flat=True))
    return sorted({expected for _, expected, _ in rows if expected and expected not in known})


def report(judged: list[Judged], *, threshold: float) -> dict:
    """Per language: top-1, answered and right, answered and wrong, handed off; out-of-scope
    handoff; the calibration table (confidence bucket -> observed share right)."""
    by_language: dict[str, dict] = {}
    for language in sorted({item.language for item in judged}):
        items = [item for item in judged if item.language == language and item.in_scope]
        outside = [item for item in judged if item.language == language and not item.in_scope]
        row = {"questions": len(items), "out_of_scope_questions": len(outside)}
        if items:
            row.update(
                top1=_share(items, lambda item: item.top1),
                answered_right=_share(items, lambda item: item.right),
                answered_wrong=_share(items, lambda item: item.wrong),
                handed_off=_share(items, lambda item: item.handoff),
            )
        if outside:
            row["out_of_scope_handed_off"] = _share(outside, lambda item: item.handoff)
        by_language[language] = row
    out_of_scope = [item for item in judged if not item.in_scope]
    answered = [item for item in judged if not item.handoff]
    buckets = defaultdict(list)
    for item in judged:
        if item.features:
            buckets[min(int(item.confidence * 10), 9)].append(item)
    return {
        "threshold": threshold,
        "per_language": by_language,
        "out_of_scope": {
            "questions": len(out_of_scope),
            "handed_off": _share(out_of_scope, lambda item: item.handoff) if out_of_scope else None,
        },
        "answer_precision": _share(answered, lambda item: item.right) if answered else None,
        "calibration": [
            {
                "bucket": f"{index / 10:.1f}-{(index + 1) / 10:.1f}",
                "questions": len(items),
                "mean_confidence": float(np.mean([item.confidence for item in items])),
                "observed_accuracy": _share(items, lambda item: item.top1),
            }
            for index, items in sorted(buckets.items())
        ],
    }


def _share(items, test) -> float:
    return sum(1 for item in items if test(item)) / len(items)


def fit_calibration(judged: list[Judged]) -> dict[str, dict[str, float]]:
    """Per language, a logistic regression of "the top FAQ is right" on the retrieval features of
    the questions that reached the FAQs (out-of-scope ones count as wrong)."""
    from sklearn.linear_model import LogisticRegression

    fitted = {}
    for language in sorted({item.language for item in judged}):
        reached = [item for item in judged if item.features and item.language == language]
        names = sorted(reached[0].features) if reached else []
        features = np.array([[item.features[name] for name in names] for item in reached])
        labels = np.array([item.top1 for item in reached], dtype=int)
        if len(set(labels)) < 2:
            raise ValueError(f"The {language} questions need both right and wrong top answers to fit a calibration.")
        model = LogisticRegression(C=100.0, max_iter=5000).fit(features, labels)
        fitted[language] = {
            "intercept": float(model.intercept_[0]),
            **dict(zip(names, map(float, model.coef_[0]), strict=True)),
        }
    return fitted


def choose_threshold(
    judged: list[Judged], *, weights: dict[str, dict[str, float]] | None = None, out_of_scope_handoff: float = 0.97
) -> dict[str, float]:
    """Per language, the lowest threshold that hands off at least this share of its out-of-scope
    questions (0.95 where a language has none). The target is above the 95 % a shop wants
    because a threshold placed on one set of such questions hands off fewer of the next
    (0.95 on 30 development questions gave 0.92 on 100 new ones)."""
    chosen = {}
    for language in sorted({item.language for item in judged}):
        own = (weights or {}).get(language)
        outside = [item for item in judged if not item.in_scope and item.language == language]
        chosen[language] = 0.95
        for threshold in np.arange(0.05, 0.991, 0.005):
            rate = sum(not item.answered_at(threshold, own) for item in outside) / max(len(outside), 1)
            if outside and rate >= out_of_scope_handoff:
                chosen[language] = round(float(threshold), 3)
                break
    return chosen


def evaluate_intents(rows: list[tuple[str, str]], *, parents: bool = False) -> dict:
    """Accuracy of the intent classifier on (text, expected intent) pairs. With ``parents``, the
    predictions and the labels are first mapped to their coarse intents (PARENT_INTENTS), so that
    a set labelled with coarse intents only is scored fairly (``delivery_late`` for ``order_status``)."""
    backend = assistant_backend()
    classifier = get_intent_classifier(backend)
    predictions = []
    batch = 128
    for start in range(0, len(rows), batch):
        vectors = backend.embed_queries([text for text, _ in rows[start : start + batch]])
        predictions += [prediction.intent for prediction in classifier.predict_many(vectors)]
    if parents:
        rows = [(text, parent_intent(expected)) for text, expected in rows]
        predictions = [parent_intent(predicted) for predicted in predictions]
    per_intent: dict[str, list[bool]] = defaultdict(list)
    confusion: Counter = Counter()
    for (_, expected), predicted in zip(rows, predictions, strict=True):
        per_intent[expected].append(predicted == expected)
        if predicted != expected:
            confusion[(expected, predicted)] += 1
    correct = sum(sum(values) for values in per_intent.values())
    return {
        "questions": len(rows),
        "accuracy": correct / len(rows) if rows else None,
        "per_intent": {intent: sum(values) / len(values) for intent, values in sorted(per_intent.items())},
        "most_confused": [
            {"expected": expected, "predicted": predicted, "count": count}
            for (expected, predicted), count in confusion.most_common(8)
        ],
        "model": backend.name,
        "parents": parents,
    }


def current_threshold():
    """The configured threshold: one number, or one per language."""
    return shopai_settings.ASSISTANT["CONFIDENCE_THRESHOLD"]
