"""Offline evaluation of the assistant: FAQ retrieval, calibration, handoff, and intents."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopai.conf import shopai_settings
from shopai.models import FAQ
from shopai.services.assistant import calibrated_confidence
from shopai.services.faqs import assistant_backend, retrieve_faqs
from shopai.services.intents import get_intent_classifier

# Intents whose questions the assistant answers from the FAQs (the others go to orders,
# products or a human).
FAQ_ROUTES = {"faq", "shipping", "payment", "account", "return_refund", "cancel_order", "out_of_scope"}


@dataclass
class Judged:
    question: str
    language: str
    expected: str | None  # FAQ question, or None when out of scope
    ranked: list[str]
    top_score: float
    margin: float
    out_of_scope_p: float
    intent: str
    confidence: float

    @property
    def in_scope(self) -> bool:
        return self.expected is not None

    @property
    def top1(self) -> bool:
        return self.in_scope and bool(self.ranked) and self.ranked[0] == self.expected

    @property
    def top3(self) -> bool:
        return self.in_scope and self.expected in self.ranked[:3]

    def answered(self, threshold: float) -> bool:
        return self.intent in FAQ_ROUTES and self.confidence >= threshold


def read_labelled(path: Path) -> list[tuple[str, str | None, str]]:
    """(question, expected FAQ question or None, language) from CSV columns question,expected_question,language."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"question", "expected_question", "language"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}.")
        return [
            (row["question"].strip(), (row["expected_question"] or "").strip() or None, row["language"].strip())
            for row in reader
            if row["question"].strip()
        ]


def judge(rows: list[tuple[str, str | None, str]], *, weights: dict[str, float] | None = None) -> list[Judged]:
    backend = assistant_backend()
    classifier = get_intent_classifier(backend)
    vectors = backend.embed_queries([question for question, _, _ in rows])
    probabilities = classifier.probabilities(vectors)
    oos_index = classifier.labels.index("out_of_scope") if "out_of_scope" in classifier.labels else None
    judged = []
    for (question, expected, language), vector, probs in zip(rows, vectors, probabilities, strict=True):
        hits = retrieve_faqs(vector=vector, language=language, k=3, question=question)
        oos = float(probs[oos_index]) if oos_index is not None else 0.0
        top = hits[0].score if hits else 0.0
        second = hits[1].score if len(hits) > 1 else top - 0.1
        judged.append(
            Judged(
                question=question,
                language=language,
                expected=expected,
                ranked=[hit.faq.question for hit in hits],
                top_score=top,
                margin=top - second,
                out_of_scope_p=oos,
                intent=classifier.labels[int(np.argmax(probs))],
                confidence=calibrated_confidence(hits, out_of_scope=oos, weights=weights),
            )
        )
    return judged


def missing_expected(rows: list[tuple[str, str | None, str]]) -> list[str]:
    known = set(FAQ.objects.filter(is_published=True).values_list("question", flat=True))
    return sorted({expected for _, expected, _ in rows if expected and expected not in known})


def report(judged: list[Judged], *, threshold: float) -> dict:
    by_language: dict[str, dict] = {}
    for language in sorted({item.language for item in judged}):
        items = [item for item in judged if item.language == language and item.in_scope]
        if items:
            by_language[language] = {
                "questions": len(items),
                "top1": sum(item.top1 for item in items) / len(items),
                "top3": sum(item.top3 for item in items) / len(items),
                "answer_rate": sum(item.answered(threshold) for item in items) / len(items),
                "answered_correctly": sum(item.answered(threshold) and item.top1 for item in items) / len(items),
            }
    out_of_scope = [item for item in judged if not item.in_scope]
    should_hand_off = [item for item in judged if not item.top1]
    handed_off = [item for item in judged if not item.answered(threshold)]
    right_handoffs = [item for item in handed_off if not item.top1]
    in_scope = [item for item in judged if item.in_scope]
    answered = [item for item in judged if item.answered(threshold)]
    buckets = defaultdict(list)
    for item in judged:
        buckets[min(int(item.confidence * 10), 9)].append(item)
    return {
        "threshold": threshold,
        "per_language": by_language,
        "out_of_scope": {
            "questions": len(out_of_scope),
            "handed_off": (sum(not item.answered(threshold) for item in out_of_scope) / len(out_of_scope))
            if out_of_scope
            else None,
        },
        "in_scope_answer_rate": sum(item.answered(threshold) for item in in_scope) / len(in_scope)
        if in_scope
        else None,
        "answer_precision": sum(item.top1 for item in answered) / len(answered) if answered else None,
        "handoff_precision": len(right_handoffs) / len(handed_off) if handed_off else None,
        "handoff_recall": len(right_handoffs) / len(should_hand_off) if should_hand_off else None,
        "calibration": [
            {
                "bucket": f"{index / 10:.1f}-{(index + 1) / 10:.1f}",
                "questions": len(items),
                "mean_confidence": float(np.mean([item.confidence for item in items])),
                "observed_accuracy": sum(item.top1 for item in items) / len(items),
            }
            for index, items in sorted(buckets.items())
        ],
    }


def fit_calibration(judged: list[Judged]) -> dict[str, float]:
    """Logistic regression of "top FAQ is right" on the retrieval features."""
    from sklearn.linear_model import LogisticRegression

    features = np.array([[item.top_score, item.margin, item.out_of_scope_p] for item in judged])
    labels = np.array([item.top1 for item in judged], dtype=int)
    if len(set(labels)) < 2:
        raise ValueError("The tuning set needs both right and wrong top answers to fit a calibration.")
    model = LogisticRegression(C=100.0, max_iter=5000).fit(features, labels)
    top, margin, oos = (float(value) for value in model.coef_[0])
    return {"intercept": float(model.intercept_[0]), "top_score": top, "margin": margin, "out_of_scope": oos}


def choose_threshold(judged: list[Judged], *, out_of_scope_handoff: float = 0.95) -> float:
    """The lowest threshold that hands off at least this share of out-of-scope questions."""
    out_of_scope = [item for item in judged if not item.in_scope]
    for threshold in np.arange(0.05, 0.96, 0.01):
        rate = sum(not item.answered(threshold) for item in out_of_scope) / max(len(out_of_scope), 1)
        if rate >= out_of_scope_handoff:
            return round(float(threshold), 2)
    return 0.95


def evaluate_intents(rows: list[tuple[str, str]]) -> dict:
    """Accuracy of the intent classifier on (text, expected intent) pairs."""
    backend = assistant_backend()
    classifier = get_intent_classifier(backend)
    predictions = []
    batch = 128
    for start in range(0, len(rows), batch):
        vectors = backend.embed_queries([text for text, _ in rows[start : start + batch]])
        predictions += [prediction.intent for prediction in classifier.predict_many(vectors)]
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
    }


def current_threshold() -> float:
    return float(shopai_settings.ASSISTANT["CONFIDENCE_THRESHOLD"])


def dump(data: dict, path: Path | None) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
