"""What the shopper wants: a classifier over sentence embeddings, trained on shipped examples."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.core.cache import cache

from shopai.conf import shopai_settings

logger = logging.getLogger(__name__)

INTENTS = (
    "faq",
    "order_status",
    "cancel_order",
    "return_refund",
    "shipping",
    "payment",
    "account",
    "product_question",
    "human_agent",
    "out_of_scope",
    # Problems with the shopper's own parcel: finer than order_status / shipping, which they refine.
    "delivery_late",
    "delivery_lost",
    "delivery_damaged",
    "delivery_address",
)
# Each fine intent's coarse one; sets labelled with the coarse intents only (Bitext through
# eval/bitext_intent_map.json, eval/intent_test.csv) are scored on these (shopai_eval_intents --parents).
PARENT_INTENTS = {
    "delivery_late": "order_status",
    "delivery_lost": "order_status",
    "delivery_damaged": "order_status",
    "delivery_address": "shipping",
}
DEFAULT_EXAMPLES = Path(__file__).resolve().parent / "data" / "intents.json"


def parent_intent(intent: str) -> str:
    """The coarse intent this one refines (``delivery_late`` -> ``order_status``); itself otherwise."""
    return PARENT_INTENTS.get(intent, intent)


@dataclass(frozen=True)
class IntentPrediction:
    intent: str
    confidence: float


@dataclass
class IntentClassifier:
    """Multinomial logistic regression on normalised sentence vectors (weights kept as arrays)."""

    model_name: str
    labels: list[str]
    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = np.atleast_2d(vectors) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, vector: np.ndarray) -> IntentPrediction:
        probs = self.probabilities(vector)[0]
        best = int(probs.argmax())
        return IntentPrediction(intent=self.labels[best], confidence=float(probs[best]))

    def predict_many(self, vectors: np.ndarray) -> list[IntentPrediction]:
        probs = self.probabilities(vectors)
        return [IntentPrediction(self.labels[int(row.argmax())], float(row.max())) for row in probs]


def load_examples(path: Path | None = None) -> list[tuple[str, str, str]]:
    """(text, intent, language) triples from the examples file ({"en": {intent: [...]}, "zh": ...})."""
    path = Path(path or shopai_settings.ASSISTANT.get("INTENT_EXAMPLES") or DEFAULT_EXAMPLES)
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        (text, intent, language)
        for language, by_intent in data.items()
        for intent, texts in by_intent.items()
        for text in texts
    ]


def train_intent_classifier(*, backend, examples: list[tuple[str, str, str]]) -> IntentClassifier:
    from sklearn.linear_model import LogisticRegression

    texts = [text for text, _, _ in examples]
    labels = [intent for _, intent, _ in examples]
    vectors = backend.embed_queries(texts)
    model = LogisticRegression(C=20.0, max_iter=2000)
    model.fit(vectors, labels)
    return IntentClassifier(
        model_name=backend.name,
        labels=[str(label) for label in model.classes_],
        coef=np.asarray(model.coef_, dtype=np.float32),
        intercept=np.asarray(model.intercept_, dtype=np.float32),
    )


_lock = threading.Lock()
_classifiers: dict[str, IntentClassifier] = {}


def _examples_digest() -> tuple[str, list[tuple[str, str, str]] | None]:
    """A digest of the examples file, re-read only when the file changes."""
    path = Path(shopai_settings.ASSISTANT.get("INTENT_EXAMPLES") or DEFAULT_EXAMPLES)
    stamp = (str(path), path.stat().st_mtime_ns)
    if _digests.get("stamp") != stamp:
        examples = load_examples(path)
        digest = hashlib.sha256(json.dumps(examples, ensure_ascii=False).encode()).hexdigest()[:16]
        _digests.update(stamp=stamp, digest=digest)
        return digest, examples
    return _digests["digest"], None


_digests: dict = {}


def forget_classifiers() -> None:
    """Drop the classifiers and the examples' digest held by this process (SHOPAI changed)."""
    with _lock:
        _classifiers.clear()
        _digests.clear()


def get_intent_classifier(backend) -> IntentClassifier:
    """Trained once per model and examples file; shared by processes through the cache."""
    digest, examples = _examples_digest()
    key = f"shopai:intents:{backend.name}:{digest}"
    classifier = _classifiers.get(key)
    if classifier is not None:
        return classifier
    with _lock:
        classifier = _classifiers.get(key)
        if classifier is None:
            stored = cache.get(key)
            if stored is not None:
                classifier = IntentClassifier(**stored)
            else:
                examples = examples or load_examples()
                logger.info("Training the intent classifier on %d examples with %s", len(examples), backend.name)
                classifier = train_intent_classifier(backend=backend, examples=examples)
                cache.set(key, vars(classifier), timeout=None)
            _classifiers.clear()
            _classifiers[key] = classifier
    return classifier
