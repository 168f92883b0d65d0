"""Sentiment backends: VADER for English and SnowNLP for Chinese with shop-support fix-ups, and a fake.

A score lies in [-1, 1], negative meaning an unhappy shopper; the label follows from the
configured thresholds. Lexicon libraries are imported on first use, never at import time.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from shopai.core.language import split_sentences

NEGATIVE = "negative"
NEUTRAL = "neutral"
POSITIVE = "positive"


@dataclass(frozen=True)
class Sentiment:
    """How the shopper feels: ``label`` is "negative", "neutral" or "positive"; ``score`` in [-1, 1]."""

    label: str
    score: float


class SentimentBackend:
    """Base class. Subclasses implement ``_score``; labels come from the shared thresholds.

    CONFIG: negative_below (-0.3), positive_above (0.3).
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        self.alias = alias
        self.config = config
        try:
            self.negative_below = float(config.get("negative_below", -0.3))
            self.positive_above = float(config.get("positive_above", 0.3))
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(
                f'SHOPAI["SENTIMENT"]["{alias}"]["CONFIG"]: negative_below and positive_above must be numbers.'
            ) from exc
        if not -1.0 <= self.negative_below <= self.positive_above <= 1.0:
            raise ImproperlyConfigured(
                f'SHOPAI["SENTIMENT"]["{alias}"]["CONFIG"] needs -1 <= negative_below <= positive_above <= 1, '
                f"got {self.negative_below} and {self.positive_above}."
            )

    def label_for(self, score: float) -> str:
        if score < self.negative_below:
            return NEGATIVE
        if score > self.positive_above:
            return POSITIVE
        return NEUTRAL

    def analyse(self, text: str, language: str) -> Sentiment:
        """The sentiment of one shopper message; ``language`` is "zh" or "en" (anything else reads as English)."""
        if not text or not text.strip():
            return Sentiment(label=NEUTRAL, score=0.0)
        language = "zh" if (language or "").lower().startswith("zh") else "en"
        score = max(-1.0, min(1.0, float(self._score(text, language))))
        return Sentiment(label=self.label_for(score), score=round(score, 4))

    def _score(self, text: str, language: str) -> float:
        raise NotImplementedError


# --- Shop-support fix-ups --------------------------------------------------------------------
# Lexicons are built from tweets (VADER) and product reviews (SnowNLP); a support chat differs:
#  * complaints about waiting carry no lexicon word ("still hasn't arrived", "还没到");
#  * SnowNLP learnt support vocabulary (客服, 快递, 退货, 地址) from reviews that mention it when
#    something went wrong, so a plain question about delivery reads as angry; those topic words
#    are masked before SnowNLP sees the text;
#  * in a question or request, lexicon words describe the product or are politeness ("is it
#    free?", "please", "可以寄到上海吗") rather than the shopper's mood, so the score is damped
#    unless one of the cues below shows a complaint or praise.
# Each cue shifts the score by its weight. Tuned on one set of support messages; the labelled
# table in tests/backends/test_sentiment.py is a separate set that measures them.

_ASK_DAMPING = 0.25

_EN_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), weight)
    for pattern, weight in (
        (r"\bstill (?:has ?n[o']t|have ?n[o']t|not|no|nothing|waiting|did ?n[o']t|does ?n[o']t)\b", -0.5),
        (
            r"\b(?:never|not yet|has ?n[o']t|have ?n[o']t|did ?n[o']t) (?:arrived|been delivered|received|shipped)\b",
            -0.3,
        ),
        (r"\b(?:days?|weeks?|months?) late\b|\blate again\b", -0.5),
        (r"\bwaiting (?:for )?(?:\w+ ){0,2}(?:days|weeks|months|ages|forever)\b", -0.4),
        (r"\bwhere the (?:hell|heck|fuck)\b", -0.5),
        (r"\bcharged (?:me )?(?:twice|double)\b|\bdouble[- ]charged\b", -0.5),
        (r"\b(?:want|need|demand) (?:my money back|a (?:full )?refund)\b", -0.4),
    )
)

_ZH_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(pattern), weight)
    for pattern, weight in (
        (r"还没(?:到|收到|发货|发|退|回复|到账|有)|还不(?:发货|发|到|退|回复)", -0.5),
        (r"(?:为什么|怎么)还|到底", -0.4),
        (r"太慢|太差|太离谱|离谱|差评|垃圾|骗子|投诉|生气|失望|气死", -0.5),
        (r"(?:我要|必须|马上|赶紧|给我)退款", -0.4),
        (r"满意|好评|喜欢|推荐|贴心|给力|太好了|很棒|真棒|非常棒", 0.4),
    )
)

# Support-topic words masked before SnowNLP (see above). Longest first, so 营业时间 goes whole.
_ZH_TOPIC_WORDS = sorted(
    (
        "客服 快递 物流 包裹 发货 收货 退货 换货 退款 地址 订单 请问 运费 尺码 寄 修改 开门 营业 营业时间 快递员 售后"
    ).split(),
    key=len,
    reverse=True,
)
_ZH_TOPIC = re.compile("|".join(map(re.escape, _ZH_TOPIC_WORDS)))

_QUESTION = re.compile(r"[?？]|[吗呢嘛][\s。.!！]*$")
_REQUEST = re.compile(
    r"^(?:please|pls|could you|can you|would you|i'?d like|i would like|i want to|how do i|how can i|"
    r"请|麻烦|帮我|我想|能不能|可不可以|可以|怎么|如何)",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    r"^(?:hi|hello|hey|thanks|thank you|thx|cheers|ok|okay|你好|您好|谢谢|多谢|好的)[\s,，!！.。]*"
    r"(?:(?:thanks|thank you|there|你好|谢谢)[\s,，!！.。]*)?$",
    re.IGNORECASE,
)


def _is_ask(text: str, language: str) -> bool:
    """True when every sentence is a question, a request or a greeting, and at least one asks."""
    asks = 0
    for sentence in split_sentences(text, language):
        if _QUESTION.search(sentence) or _REQUEST.search(sentence):
            asks += 1
        elif not _PLEASANTRY.match(sentence):
            return False
    return asks > 0


def _cue_shift(text: str, cues: tuple[tuple[re.Pattern[str], float], ...]) -> tuple[float, bool]:
    shift = 0.0
    matched = False
    for pattern, weight in cues:
        if pattern.search(text):
            shift += weight
            matched = True
    return shift, matched


class LexiconSentimentBackend(SentimentBackend):
    """VADER's compound score for English, SnowNLP's 2p-1 for Chinese, plus the fix-ups above.

    CONFIG: negative_below, positive_above, snownlp_model (a SnowNLP sentiment model you trained
    on your own messages, the path as given to ``snownlp.sentiment.save``; default: the review
    model shipped with SnowNLP),
    fixups (True; False gives the bare lexicon scores).
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.fixups = bool(config.get("fixups", True))
        self._analysers: dict[str, Any] = {}
        self._load_lock = threading.Lock()

    def analyser(self, language: str) -> Any:
        """The lexicon analyser for "en" or "zh", created once per backend on first use."""
        language = "zh" if language == "zh" else "en"
        analyser = self._analysers.get(language)
        if analyser is None:
            with self._load_lock:
                analyser = self._analysers.get(language)
                if analyser is None:
                    analyser = self._load_chinese() if language == "zh" else self._load_english()
                    self._analysers[language] = analyser
        return analyser

    def _load_english(self) -> Any:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as exc:
            raise ImproperlyConfigured("LexiconSentimentBackend needs the vaderSentiment package.") from exc
        return SentimentIntensityAnalyzer()

    def _load_chinese(self) -> Any:
        try:
            from snownlp import sentiment
        except ImportError as exc:
            raise ImproperlyConfigured("LexiconSentimentBackend needs the snownlp package.") from exc
        path = self.config.get("snownlp_model")
        if not path:
            return sentiment.classifier  # loaded by snownlp itself, once per process
        analyser = sentiment.Sentiment()
        analyser.load(str(path))
        return analyser

    def _score(self, text: str, language: str) -> float:
        if language == "zh":
            base = self._snownlp_score(text)
            cues = _ZH_CUES
        else:
            base = self.analyser("en").polarity_scores(text)["compound"]
            cues = _EN_CUES
        if not self.fixups:
            return base
        shift, matched = _cue_shift(text, cues)
        if not matched and _is_ask(text, language):
            # SnowNLP's review corpus makes questions read as negative, so Chinese is damped both
            # ways; in English a negative word in a question is a complaint ("why is it broken?").
            if language == "zh" or base > 0:
                base *= _ASK_DAMPING
        return base + shift

    def _snownlp_score(self, text: str) -> float:
        analyser = self.analyser("zh")
        if not self.fixups:
            return 2.0 * analyser.classify(text) - 1.0
        # SnowNLP's own segmentation and Bayes model, minus topic words and tokens without letters;
        # with nothing left to judge the message is neutral rather than the corpus prior.
        words = [word for word in analyser.handle(_ZH_TOPIC.sub(" ", text)) if any(ch.isalpha() for ch in word)]
        if not words:
            return 0.0
        label, probability = analyser.classifier.classify(words)
        positive = probability if label == "pos" else 1.0 - probability
        return 2.0 * positive - 1.0


_FAKE_NEGATIVE = (
    "angry",
    "furious",
    "terrible",
    "awful",
    "worst",
    "useless",
    "broken",
    "late",
    "差",
    "生气",
    "慢",
    "坏",
    "还没到",
)
_FAKE_POSITIVE = ("thanks", "thank you", "great", "love", "perfect", "happy", "谢谢", "满意", "喜欢", "很好", "棒")


def _keyword_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words for English ("late" must not match "chocolate"); Chinese has no spaces to bound.
    return re.compile("|".join(rf"\b{re.escape(word)}\b" if word.isascii() else re.escape(word) for word in words))


_FAKE_NEGATIVE_PATTERN = _keyword_pattern(_FAKE_NEGATIVE)
_FAKE_POSITIVE_PATTERN = _keyword_pattern(_FAKE_POSITIVE)


class FakeSentimentBackend(SentimentBackend):
    """Deterministic keyword counting for fast unit tests: no library, no model.

    Each negative keyword counts -0.5 and each positive one +0.5, so "angry", "useless", "差" or
    "生气" make a message negative and "thanks" or "满意" positive. ``calls`` counts messages analysed.
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.calls = 0

    def _score(self, text: str, language: str) -> float:
        self.calls += 1
        lowered = text.lower()
        negative = len(_FAKE_NEGATIVE_PATTERN.findall(lowered))
        positive = len(_FAKE_POSITIVE_PATTERN.findall(lowered))
        return 0.5 * (positive - negative)
