"""Answer-extraction ("QA reader") backends: the passage of a text that answers a question.

``SentenceQABackend`` (the offline default) returns the sentence most similar to the question;
``TransformersQABackend`` runs any Hugging Face extractive question-answering model and returns
the exact span. Both only ever return text taken from the context, so nothing is invented.
Heavy libraries are imported on first use, never at import time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured

from shopai.backends import Backend, get_embedding_backend
from shopai.backends.embeddings import resolve_model_path
from shopai.conf import shopai_settings
from shopai.core.language import split_sentences


@dataclass(frozen=True)
class Span:
    """The answer found in a context: ``context[start:end] == text``; ``score`` in [0, 1]."""

    text: str
    score: float
    start: int
    end: int


class QABackend(Backend):
    """Base class. Subclasses implement ``extract``; a model, if any, is loaded lazily once."""

    def setting(self, key: str) -> str:
        """How a config key is spelled in the settings, for error messages."""
        return f'SHOPAI["QA"]["{self.alias}"]["CONFIG"]["{key}"]'

    def extract(
        self, question: str, context: str, *, language: str, question_vector: np.ndarray | None = None
    ) -> Span | None:
        """The span of ``context`` that best answers ``question``, or None when there is none."""
        raise NotImplementedError


def sentence_spans(context: str, language: str) -> list[tuple[str, int, int]]:
    """``(sentence, start, end)`` for each sentence of ``context``, offsets into ``context``."""
    spans = []
    cursor = 0
    for sentence in split_sentences(context, language):
        start = context.find(sentence, cursor)
        if start < 0:  # split_sentences only strips and cuts, so this should not happen
            continue
        cursor = start + len(sentence)
        spans.append((sentence, start, cursor))
    return spans


class SentenceQABackend(QABackend):
    """The sentence of the context closest in meaning to the question (no extra model).

    CONFIG: embeddings — alias in SHOPAI["EMBEDDINGS"] (default: the assistant's,
    SHOPAI["ASSISTANT"]["EMBEDDINGS"]). A ``question_vector`` passed to ``extract`` must
    come from that same embedding backend.
    """

    @property
    def embedder(self):
        return get_embedding_backend(self.config.get("embeddings") or shopai_settings.ASSISTANT["EMBEDDINGS"])

    def extract(
        self, question: str, context: str, *, language: str, question_vector: np.ndarray | None = None
    ) -> Span | None:
        spans = sentence_spans(context, language)
        if not spans:
            return None
        scores = self._similarity(question, [text for text, _, _ in spans], question_vector)
        best = int(np.argmax(scores))
        text, start, end = spans[best]
        return Span(text=text, score=scores[best], start=start, end=end)

    def _similarity(self, question: str, sentences: list[str], question_vector: np.ndarray | None) -> list[float]:
        embedder = self.embedder
        if question_vector is None:
            vector = embedder.embed_query(question)
        else:
            vector = np.asarray(question_vector, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm else vector
        cosines = embedder.embed_stored_texts(sentences) @ vector
        return [float(value) for value in np.clip(cosines, 0.0, 1.0)]


class TransformersQABackend(QABackend):
    """Any Hugging Face extractive question-answering model (BERT/RoBERTa/... fine-tuned on SQuAD-like data).

    CONFIG: model (``package:<module>``, a local folder or a hub id — hub ids only download
    when the operator has unset HF_HUB_OFFLINE), device ("cpu"), max_answer_length (64 tokens),
    min_score (0.0: below it no answer is returned), max_seq_length (384) and doc_stride (128)
    — long contexts are read in overlapping windows — and batch_size (16 windows).
    """

    requires_packages = ("torch", "transformers")

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        if not config.get("model"):
            raise ImproperlyConfigured(f'SHOPAI["QA"]["{alias}"]["CONFIG"] needs "model" (a folder or a hub id).')
        self.device = str(config.get("device", "cpu"))
        # Fast tokenizers change their truncation state per call; concurrent calls would clash.
        self._tokenizer_lock = threading.Lock()
        self.max_answer_length = self._number("max_answer_length", 64, int, minimum=1)
        self.max_seq_length = self._number("max_seq_length", 384, int, minimum=16)
        self.doc_stride = self._number("doc_stride", 128, int, minimum=0)
        self.batch_size = self._number("batch_size", 16, int, minimum=1)
        self.min_score = self._number("min_score", 0.0, float, minimum=0)
        if self.min_score > 1:
            raise ImproperlyConfigured(f"{self.setting('min_score')} must lie in [0, 1], got {self.min_score}.")

    def _number(self, key: str, default: Any, kind: type, *, minimum: float) -> Any:
        try:
            value = kind(self.config.get(key, default))
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"{self.setting(key)} must be a number.") from exc
        if value < minimum:
            raise ImproperlyConfigured(f"{self.setting(key)} must be at least {minimum}, got {value}.")
        return value

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = resolve_model_path(str(self.config["model"]))
        try:
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{type(self).__name__} ({self.setting('model')}) needs the transformers and torch packages."
            ) from exc
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForQuestionAnswering.from_pretrained(path)
        except (OSError, ValueError, KeyError) as exc:
            hint = "" if os.path.isdir(path) else " (a hub id only downloads when HF_HUB_OFFLINE is unset)"
            raise ImproperlyConfigured(f"{self.setting('model')} = {path!r} cannot be loaded{hint}: {exc}") from exc
        if not getattr(tokenizer, "is_fast", True):
            # Character offsets of the answer come from the fast (Rust) tokenizers only.
            raise ImproperlyConfigured(f"{self.setting('model')} = {path!r} has no fast tokenizer.")
        model.to(self.device)
        model.eval()
        # A window never longer than the model can take (small or custom models have short position tables).
        limits = [self.max_seq_length, getattr(tokenizer, "model_max_length", None)]
        limits.append(getattr(model.config, "max_position_embeddings", None))
        window = min(int(limit) for limit in limits if isinstance(limit, int) and limit > 0)
        return tokenizer, model, window

    def extract(
        self, question: str, context: str, *, language: str, question_vector: np.ndarray | None = None
    ) -> Span | None:
        if not question.strip() or not context.strip():
            return None
        import torch

        tokenizer, model, window_length = self.load()
        with self._tokenizer_lock:
            question, stride = self._fit_question(tokenizer, question, window_length)
            encoding = tokenizer(
                question,
                context,
                truncation="only_second",
                max_length=window_length,
                stride=stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=True,
                return_tensors="pt",
            )
        offsets = encoding.pop("offset_mapping").tolist()
        encoding.pop("overflow_to_sample_mapping", None)
        inputs = {key: value.to(self.device) for key, value in encoding.items()}
        windows = len(offsets)
        best: tuple[float, int, int] | None = None
        with torch.inference_mode():
            for first in range(0, windows, self.batch_size):
                batch = {key: value[first : first + self.batch_size] for key, value in inputs.items()}
                output = model(**batch)
                starts = output.start_logits.float().cpu().numpy()
                ends = output.end_logits.float().cpu().numpy()
                for row in range(starts.shape[0]):
                    window = first + row
                    in_context = np.asarray([sid == 1 for sid in encoding.sequence_ids(window)], dtype=bool)
                    found = self._best_in_window(starts[row], ends[row], in_context)
                    if found is None:
                        continue
                    score, start_token, end_token = found
                    if best is None or score > best[0]:
                        best = (score, offsets[window][start_token][0], offsets[window][end_token][1])
        if best is None:
            return None
        score, start, end = best
        text = context[start:end]
        stripped = text.strip()
        if not stripped or score < self.min_score:
            return None
        start += len(text) - len(text.lstrip())
        return Span(text=stripped, score=score, start=start, end=start + len(stripped))

    def _fit_question(self, tokenizer: Any, question: str, window_length: int) -> tuple[str, int]:
        """The question cut to half a window at most, and a stride that leaves room for context."""
        pieces = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        limit = window_length // 2
        if len(pieces) > limit:
            question = question[: pieces[limit - 1][1]]
        room = window_length - min(len(pieces), limit) - tokenizer.num_special_tokens_to_add(pair=True)
        return question, max(0, min(self.doc_stride, room // 2))

    def _best_in_window(
        self, start_logits: np.ndarray, end_logits: np.ndarray, in_context: np.ndarray
    ) -> tuple[float, int, int] | None:
        """(p_start · p_end, start token, end token) of the best span of context tokens in one window."""
        if not in_context.any():
            return None
        start_p = _softmax(np.where(in_context, start_logits, -np.inf))
        end_p = _softmax(np.where(in_context, end_logits, -np.inf))
        pairs = np.outer(start_p, end_p)
        # Only end >= start and at most max_answer_length tokens long.
        length = len(start_p)
        band = np.triu(np.ones((length, length), dtype=bool)) & ~np.triu(
            np.ones((length, length), dtype=bool), k=self.max_answer_length
        )
        pairs = np.where(band, pairs, 0.0)
        flat = int(np.argmax(pairs))
        start_token, end_token = divmod(flat, length)
        return float(np.clip(pairs[start_token, end_token], 0.0, 1.0)), start_token, end_token


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - np.max(logits))
    return shifted / shifted.sum()
