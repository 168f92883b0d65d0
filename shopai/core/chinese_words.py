"""Chinese words for keyword search: jieba's search-mode words plus character pairs, jieba loaded once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from shopai.conf import shopai_settings

# How each SEARCH["CHINESE_SEGMENTER"] writes a run of Chinese characters as words. "pairs" is the
# format of releases before segmentation (no jieba needed); "jieba" words alone match no
# characters across a word boundary but find less (docs/search.md "Chinese").
JIEBA_VERSION = "0.42.1"  # the dictionary the index was written with: part of the keyword format


def _pairs(run: str) -> list[str]:
    """Overlapping character pairs ("纯棉床单" -> 纯棉 棉床 床单); one character stays itself."""
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


_tokenizer = None
_tokenizer_lock = threading.Lock()


def _jieba_tokenizer():
    """jieba's tokenizer with its own default dictionary, built in memory on first use.

    jieba's own loader writes a cache file to the temporary folder (and logs to stderr); building
    the prefix dictionary directly writes nothing and, measured, is as fast (about 0.5 s).
    Once built it is only read, so threads share it.
    """
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                try:
                    import jieba
                except ImportError as exc:
                    raise ImproperlyConfigured(
                        'SHOPAI["SEARCH"]["CHINESE_SEGMENTER"] is "jieba", which needs the jieba package: '
                        f'pip install "jieba=={JIEBA_VERSION}" (or set it to "pairs").'
                    ) from exc
                tokenizer = jieba.Tokenizer()
                with tokenizer.lock:
                    tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
                    tokenizer.initialized = True
                _tokenizer = tokenizer
    return _tokenizer


def _jieba_words(run: str) -> list[str]:
    # Search mode: a long word and the dictionary words inside it ("小箱子" -> 小箱 箱子 小箱子), so
    # a shopper's shorter word still finds it.
    return [word for word in _jieba_tokenizer().cut_for_search(run) if not word.isspace()]


def _jieba_words_and_pairs(run: str) -> list[str]:
    # The pairs keep a word jieba cut differently findable ("实木餐桌椅" -> 实木 餐桌 椅 + 桌椅), and a
    # product holding the query's word counts it twice (as a word and as a pair), one holding its
    # characters only across a word boundary once.
    return [*_jieba_words(run), *_pairs(run)]


SEGMENTERS: dict[str, Callable[[str], list[str]]] = {
    "jieba+pairs": _jieba_words_and_pairs,
    "jieba": _jieba_words,
    "pairs": _pairs,
}
FORMATS = {"jieba+pairs": f"jieba-{JIEBA_VERSION}+pairs", "jieba": f"jieba-{JIEBA_VERSION}", "pairs": "pairs"}


def segmenter_name() -> str:
    name = shopai_settings.SEARCH["CHINESE_SEGMENTER"]
    if name not in SEGMENTERS:
        raise ImproperlyConfigured(
            f'SHOPAI["SEARCH"]["CHINESE_SEGMENTER"] is {name!r}, not one of {", ".join(map(repr, SEGMENTERS))}.'
        )
    return name


def chinese_words(run: str) -> list[str]:
    """The words of ``run``, a run of Chinese characters, as SEARCH["CHINESE_SEGMENTER"] cuts them."""
    return SEGMENTERS[segmenter_name()](run)


def keyword_format() -> str:
    """Which segmentation (and dictionary) keyword indexes are written with now, e.g. "jieba-0.42.1"."""
    name = segmenter_name()
    return FORMATS.get(name, name)
