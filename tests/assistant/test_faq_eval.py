"""`shopai_eval_faq`: questions asked as /ask does, against a FAQ file, with nothing left behind."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from shopai.assistant.answers import calibration_for, confidence_from, confidence_threshold
from shopai.models import FAQ, Exchange

pytestmark = pytest.mark.django_db

FAQS = (
    "question,answer,language\n"
    "How long does delivery take?,Parcels arrive in three to five working days.,en\n"
    "What payment methods do you accept?,We accept Visa and Mastercard and PayPal.,en\n"
    "怎么退货？,收货后三十天内可以退货。,zh\n"
)
QUESTIONS = (
    "question,expected_question,language,split\n"
    "How long does delivery take?,How long does delivery take?,en,dev\n"
    "What payment methods do you accept?,What payment methods do you accept?,en,dev\n"
    "怎么退货？,怎么退货？,zh,dev\n"
    "Tell me a joke about pirates,,en,dev\n"
    "What payment methods do you accept?,What payment methods do you accept?,en,test\n"
)


def test_questions_are_judged_against_the_faq_file_and_the_shop_is_left_as_it_was(tmp_path, settings):
    # The fake model scores a repeated question high and a joke near zero; this calibration parts them.
    settings.SHOPAI = {
        **settings.SHOPAI,
        "ASSISTANT": {
            **settings.SHOPAI.get("ASSISTANT", {}),
            "CALIBRATION": {"intercept": -3.0, "top_score": 10.0},
            "CONFIDENCE_THRESHOLD": 0.5,
        },
    }
    own = FAQ.objects.create(question="Do you gift wrap?", answer="Yes.", language="en")
    (tmp_path / "faqs.csv").write_text(FAQS, encoding="utf-8")
    (tmp_path / "questions.csv").write_text(QUESTIONS, encoding="utf-8")

    call_command(
        "shopai_eval_faq",
        str(tmp_path / "questions.csv"),
        faqs=tmp_path / "faqs.csv",
        split="dev",
        json=tmp_path / "r.json",
        no_progress=True,
        stdout=io.StringIO(),
    )

    result = json.loads((tmp_path / "r.json").read_text())
    english, chinese = result["per_language"]["en"], result["per_language"]["zh"]
    assert english["questions"] == 2 and english["out_of_scope_questions"] == 1  # the test row is left out
    assert english["top1"] == 1.0 and english["answered_right"] == 1.0 and english["answered_wrong"] == 0.0
    assert english["out_of_scope_handed_off"] == 1.0
    assert chinese["top1"] == 1.0
    # The file's FAQs were only there for the run; the shop's own FAQ is untouched, no exchange logged.
    assert list(FAQ.objects.values_list("question", "is_published")) == [(own.question, True)]
    assert not Exchange.objects.exists()


def test_an_expected_question_missing_from_the_faq_is_a_clear_error(tmp_path):
    (tmp_path / "faqs.csv").write_text(FAQS, encoding="utf-8")
    (tmp_path / "questions.csv").write_text(
        "question,expected_question,language\nhi there,What is your return policy?,en\n", encoding="utf-8"
    )
    with pytest.raises(CommandError, match="not published FAQs"):
        call_command("shopai_eval_faq", str(tmp_path / "questions.csv"), faqs=tmp_path / "faqs.csv", no_progress=True)


def test_calibration_and_threshold_may_be_set_per_language(settings):
    weights = {"en": {"intercept": 0.0, "top_score": 2.0}, "zh": {"intercept": -2.0, "top_score": 2.0}}
    settings.SHOPAI = {
        **settings.SHOPAI,
        "ASSISTANT": {"CALIBRATION": weights, "CONFIDENCE_THRESHOLD": {"en": 0.8, "default": 0.6}},
    }
    assert calibration_for("zh") == weights["zh"]
    assert confidence_from({"top_score": 1.0}, language="en") > confidence_from({"top_score": 1.0}, language="zh")
    assert confidence_threshold("en") == 0.8 and confidence_threshold("zh") == 0.6

    settings.SHOPAI = {**settings.SHOPAI, "ASSISTANT": {"CALIBRATION": {"intercept": 1.0}, "CONFIDENCE_THRESHOLD": 0.5}}
    assert calibration_for("zh") == {"intercept": 1.0} and confidence_threshold("zh") == 0.5
