"""`manage.py shopai_import_faq`: what a shop owner sees when importing FAQs from CSV or JSON."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from shopai.adapters import content_hash
from shopai.assistant.faqs import assistant_backend
from shopai.models import FAQ, FAQEmbedding

pytestmark = pytest.mark.django_db

HEADER = "question,answer,language,tags,alternatives\n"
LONG_QUESTION = "Is there " + "really " * 50 + "a discount?"  # over 300 characters

MIXED = (
    HEADER
    # line 2-4: a quoted answer spanning three physical lines
    + 'How long does shipping take?,"Three to five working days.\nExpress: one day.\nIslands: a week.",en,'
    + "shipping|delivery,When will my parcel arrive?|How fast do you ship?\n"
    + "Can I pay by card?,,en,,\n"  # 5: empty answer
    + "Livrez-vous en France ?,Oui.,fr,,\n"  # 6: language not offered
    + "退货政策是什么？,三十天内可以退货。,zh,returns,\n"  # 7
    + f"{LONG_QUESTION},Sometimes.,en,,\n"  # 8: question too long
    + ",An answer without a question.,en,,\n"  # 9: empty question
    + 'Do you gift wrap?,"Yes, for two euros.",en,,\n'  # 10
    + 'Livrez-vous en Belgique ?,"Oui.\nEn trois jours.",fr,,\n'  # 11-12: bad, and multi-line itself
    + "\n"  # 13: a blank line is skipped, and still counted
    + "Can I pay by card?,Yes: every major card.,en,payment,\n"  # 14
)


REJECTIONS = [
    "line 5: rejected: answer is empty",
    "line 6: rejected: language 'fr' is not one of ['en', 'zh']",
    "line 8: rejected: question is longer than 300 characters",
    "line 9: rejected: question is empty",
    "line 11: rejected: language 'fr' is not one of ['en', 'zh']",
]


def write(tmp_path, text: str, name: str = "faqs.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def run_import(path, **options) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("shopai_import_faq", str(path), no_progress=True, stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


def summary(out: str) -> str:
    return out.strip().splitlines()[0]


def test_good_rows_are_imported_and_bad_rows_rejected_with_their_physical_line(tmp_path):
    out, err = run_import(write(tmp_path, MIXED), no_embed=True)

    assert summary(out) == "4 created, 0 updated, 0 unchanged, 5 rejected."
    assert err.strip().splitlines() == REJECTIONS
    assert set(FAQ.objects.values_list("question", "language")) == {
        ("How long does shipping take?", "en"),
        ("退货政策是什么？", "zh"),
        ("Do you gift wrap?", "en"),
        ("Can I pay by card?", "en"),
    }
    shipping = FAQ.objects.get(question="How long does shipping take?")
    assert shipping.answer == "Three to five working days.\nExpress: one day.\nIslands: a week."
    assert shipping.tags == ["shipping", "delivery"]
    assert shipping.alternatives == ["When will my parcel arrive?", "How fast do you ship?"]
    assert FAQ.objects.get(language="zh").tags == ["returns"]
    assert FAQ.objects.get(language="zh").alternatives == []


def test_line_numbers_hold_for_a_file_saved_with_windows_line_endings(tmp_path):
    out, err = run_import(write(tmp_path, MIXED.replace("\n", "\r\n")), no_embed=True)

    assert summary(out) == "4 created, 0 updated, 0 unchanged, 5 rejected."
    assert err.strip().splitlines() == REJECTIONS


def test_json_list_is_imported_and_a_bad_item_named_by_its_position(tmp_path):
    items = [
        {
            "question": "Do you ship abroad?",
            "answer": "Yes, to the EU and the UK.",
            "language": "en",
            "tags": ["shipping"],
            "alternatives": ["International shipping?", "Can you send to Germany?"],
        },
        {"question": "Is there a store?", "answer": "   ", "language": "en"},  # item 2: blank answer
        "just a string",  # item 3
        {"question": "Gift cards?", "answer": "Yes.", "alternatives": "not|a|list", "tags": [1, 2]},  # item 4
        {"question": "怎么付款？", "answer": "支持支付宝和银行卡。", "language": "zh"},
    ]
    out, err = run_import(write(tmp_path, json.dumps(items, ensure_ascii=False), "faqs.json"), no_embed=True)

    assert summary(out) == "2 created, 0 updated, 0 unchanged, 3 rejected."
    assert err.strip().splitlines() == [
        "item 2: rejected: answer is empty",
        "item 3: rejected: expected an object with question, answer and language",
        "item 4: rejected: tags must be a list of texts",
    ]
    faq = FAQ.objects.get(question="Do you ship abroad?")
    assert faq.tags == ["shipping"]
    assert faq.alternatives == ["International shipping?", "Can you send to Germany?"]
    assert FAQ.objects.filter(question="怎么付款？", language="zh").exists()


def test_json_that_is_not_a_list_is_refused_with_what_is_expected(tmp_path):
    path = write(tmp_path, json.dumps({"question": "Q?", "answer": "A.", "language": "en"}), "faqs.json")

    with pytest.raises(CommandError, match="must hold a list of objects with question, answer and language"):
        run_import(path)
    assert not FAQ.objects.exists()


def test_invalid_json_is_refused_with_the_line_of_the_mistake(tmp_path):
    path = write(tmp_path, '[\n  {"question": "Q?",\n   "answer": "A." "language": "en"}\n]', "faqs.json")

    with pytest.raises(CommandError, match=r"faqs\.json is not valid JSON \(line 3: "):
        run_import(path)
    assert not FAQ.objects.exists()


def test_csv_without_the_answer_column_is_refused_naming_it(tmp_path):
    path = write(tmp_path, "question,language\nDo you ship abroad?,en\n")

    with pytest.raises(CommandError, match="The CSV header lacks answer"):
        run_import(path)
    assert not FAQ.objects.exists()


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run_import(tmp_path / "nowhere.csv")


def test_importing_twice_changes_nothing_and_a_changed_answer_updates_the_same_faq(tmp_path):
    path = write(tmp_path, MIXED)
    run_import(path, no_embed=True)
    ids = dict(FAQ.objects.values_list("question", "pk"))

    out, _ = run_import(path, no_embed=True)
    assert summary(out) == "0 created, 0 updated, 4 unchanged, 5 rejected."

    path = write(tmp_path, MIXED.replace("two euros", "three euros"))
    out, _ = run_import(path, no_embed=True)

    assert summary(out) == "0 created, 1 updated, 3 unchanged, 5 rejected."
    assert dict(FAQ.objects.values_list("question", "pk")) == ids
    assert FAQ.objects.get(pk=ids["Do you gift wrap?"]).answer == "Yes, for three euros."


def test_import_embeds_every_phrasing_with_the_assistant_model(tmp_path):
    out, _ = run_import(write(tmp_path, MIXED))

    assert "4 created" in out
    backend = assistant_backend()
    assert backend.name == "fake-multi"
    # Per FAQ: question, alternatives, question+answer, each answer sentence. Shipping has two
    # alternatives and a three-line answer (1 + 2 + 1 + 3); the others one sentence each (1 + 1 + 1).
    assert "Embedded 4 FAQs (16 texts)" in out
    shipping = FAQ.objects.get(question="How long does shipping take?")
    assert sorted(shipping.embeddings.values_list("kind", flat=True)) == sorted(
        ["question", "alternative", "alternative", "qa", "sentence", "sentence", "sentence"]
    )
    assert set(shipping.embeddings.filter(kind="sentence").values_list("text", flat=True)) == {
        "Three to five working days.",
        "Express: one day.",
        "Islands: a week.",
    }
    for faq in FAQ.objects.all():
        texts = [text for _, text in faq.texts_to_embed()]
        rows = list(faq.embeddings.all())
        assert len(rows) == len(texts)
        assert {row.model_name for row in rows} == {backend.name}
        assert sorted(row.content_hash for row in rows) == sorted(content_hash(text) for text in texts)
    assert FAQEmbedding.objects.count() == 16

    # A second import finds every vector up to date and asks the model for nothing.
    out, _ = run_import(write(tmp_path, MIXED))
    assert "Embedded 0 FAQs (0 texts)" in out
    assert backend.calls == 16


def test_no_embed_leaves_embedding_to_the_worker(tmp_path):
    run_import(write(tmp_path, MIXED), no_embed=True)

    assert FAQ.objects.count() == 4
    assert not FAQEmbedding.objects.exists()
