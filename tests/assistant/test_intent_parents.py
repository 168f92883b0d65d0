"""Fine delivery intents and their coarse parents: `shopai_eval_intents --parents` scores a fine
prediction (delivery_late) as right for a set labelled with coarse intents only (order_status)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from shopai.assistant import evaluation
from shopai.assistant.intents import (
    DEFAULT_EXAMPLES,
    INTENTS,
    PARENT_INTENTS,
    IntentPrediction,
    load_examples,
    parent_intent,
)

ROWS = (
    "question,intent\n"
    "my parcel is two weeks late,order_status\n"
    "where is order 1234?,order_status\n"
    "do you ship to Norway?,shipping\n"
)


class _SaysLate:
    """A classifier that calls every text delivery_late."""

    def predict_many(self, vectors):
        return [IntentPrediction("delivery_late", 0.9) for _ in vectors]


@pytest.fixture
def says_late(monkeypatch):
    monkeypatch.setattr(evaluation, "get_intent_classifier", lambda backend: _SaysLate())


def test_each_fine_intent_has_a_coarse_parent_among_the_intents():
    assert parent_intent("delivery_late") == "order_status"
    assert parent_intent("delivery_lost") == "order_status"
    assert parent_intent("delivery_damaged") == "order_status"
    assert parent_intent("delivery_address") == "shipping"
    assert parent_intent("cancel_order") == "cancel_order"  # a coarse intent is its own parent
    assert set(PARENT_INTENTS) <= set(INTENTS) and set(PARENT_INTENTS.values()) <= set(INTENTS)
    assert not set(PARENT_INTENTS.values()) & set(PARENT_INTENTS)  # one level only


def test_the_shipped_examples_teach_every_intent_in_both_languages():
    counts: dict[tuple[str, str], int] = {}
    for _, intent, language in load_examples(DEFAULT_EXAMPLES):
        counts[intent, language] = counts.get((intent, language), 0) + 1
    assert {intent for intent, _ in counts} == set(INTENTS)
    for intent in PARENT_INTENTS:
        assert counts[intent, "en"] >= 30 and counts[intent, "zh"] >= 30


def test_with_parents_a_fine_prediction_is_right_for_its_coarse_label(tmp_path, says_late):
    (tmp_path / "rows.csv").write_text(ROWS, encoding="utf-8")

    call_command("shopai_eval_intents", str(tmp_path / "rows.csv"), json=tmp_path / "fine.json", stdout=io.StringIO())
    out = io.StringIO()
    call_command(
        "shopai_eval_intents", str(tmp_path / "rows.csv"), parents=True, json=tmp_path / "coarse.json", stdout=out
    )

    fine = json.loads((tmp_path / "fine.json").read_text())
    assert fine["accuracy"] == 0.0 and fine["parents"] is False
    assert fine["per_intent"] == {"order_status": 0.0, "shipping": 0.0}
    assert {"expected": "order_status", "predicted": "delivery_late", "count": 2} in fine["most_confused"]
    coarse = json.loads((tmp_path / "coarse.json").read_text())
    assert coarse["accuracy"] == pytest.approx(2 / 3) and coarse["parents"] is True
    assert coarse["per_intent"] == {"order_status": 1.0, "shipping": 0.0}
    assert coarse["most_confused"] == [{"expected": "shipping", "predicted": "order_status", "count": 1}]
    assert "parents" in out.getvalue()


def test_labels_given_as_fine_intents_are_mapped_too(says_late):
    rows = [("my parcel is late", "delivery_late"), ("it came smashed", "delivery_damaged")]

    assert evaluation.evaluate_intents(rows)["accuracy"] == 0.5
    # delivery_damaged and delivery_late share order_status as their parent.
    assert evaluation.evaluate_intents(rows, parents=True)["accuracy"] == 1.0
