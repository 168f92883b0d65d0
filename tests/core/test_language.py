"""Telling Chinese from English messages, and splitting answers into sentences."""

import pytest

from shopai.core.language import detect_language, split_sentences


@pytest.mark.parametrize(
    "text, language",
    [
        ("Where is my order?", "en"),
        ("这件冲锋衣防水吗？", "zh"),
        ("我的order 1234在哪里", "zh"),
        ("Is the 冲锋衣 waterproof?", "en"),
        ("forgot password 怎么办", "zh"),  # English words, Chinese sentence
        ("payment 一直 failed", "zh"),
        ("Do you ship 冲锋衣 to Canada?", "en"),
        ("订单 100045", "zh"),
        ("OUT-JKT-001 有货吗", "zh"),
        ("", "en"),
        ("1234 ?!", "en"),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_english_answer_is_split_keeping_punctuation():
    answer = (
        "The Alpine shell costs $129.99 and weighs 0.45 kg. It is fully waterproof, e.g. in heavy rain! "
        "Want it in blue? See shop.example.com for sizes."
    )
    assert split_sentences(answer) == [
        "The Alpine shell costs $129.99 and weighs 0.45 kg.",
        "It is fully waterproof, e.g. in heavy rain!",
        "Want it in blue?",
        "See shop.example.com for sizes.",
    ]


def test_chinese_answer_is_split_keeping_punctuation():
    answer = "这件冲锋衣完全防水。重量约0.45公斤！需要蓝色吗？尺码偏大；建议选小一码"
    assert split_sentences(answer, "zh") == [
        "这件冲锋衣完全防水。",
        "重量约0.45公斤！",
        "需要蓝色吗？",
        "尺码偏大；",
        "建议选小一码",
    ]


def test_line_breaks_split_and_empty_pieces_are_dropped():
    answer = "Free returns within 30 days\n\n  - Order No. 5 ships today...  \nThanks, etc. and more.  "
    assert split_sentences(answer) == [
        "Free returns within 30 days",
        "- Order No. 5 ships today...",
        "Thanks, etc. and more.",
    ]


def test_chinese_text_with_ascii_punctuation_and_quotes():
    assert split_sentences("尺码偏大.建议选小一码", "zh") == ["尺码偏大.", "建议选小一码"]
    assert split_sentences("“好的。”客服说") == ["“好的。”", "客服说"]


def test_nothing_to_split():
    assert split_sentences("") == []
    assert split_sentences(" \n ") == []
