"""`shopai_eval_search`: graded nDCG per search mode on the real database (fake embedding model)."""

from __future__ import annotations

import io
import json
import math

import pytest
from django.core.management import CommandError, call_command

from shopai.search import embeddings
from shopai.search.evaluation import ndcg

pytestmark = pytest.mark.django_db


def test_ndcg_by_hand():
    ratings = {"a": 3, "b": 1}
    assert ndcg(["a", "b"], ratings, k=10) == 1.0
    swapped = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))  # gains 2^r - 1: b first, then a
    assert ndcg(["b", "a"], ratings, k=10) == pytest.approx(swapped)
    assert ndcg(["x", "y"], ratings, k=10) == 0.0


@pytest.fixture
def kettle_and_pan(make_product):
    make_product(name="Copper kettle", description="A kettle for the stove.", sku="KET-1")
    make_product(name="Frying pan", description="Cast iron pan.", sku="PAN-1")
    embeddings.reindex_products()


def test_command_reports_each_mode_and_the_weak_queries(kettle_and_pan, tmp_path):
    path = tmp_path / "qrels.csv"
    path.write_text(
        "query,sku,rating\nkettle,KET-1,3\nkettle,GONE-1,2\n斧头,PAN-1,1\nkettle,KET-1,x\n", encoding="utf-8"
    )
    out, err = io.StringIO(), io.StringIO()

    call_command("shopai_eval_search", path, no_progress=True, json=tmp_path / "s.json", stdout=out, stderr=err)

    result = json.loads((tmp_path / "s.json").read_text())
    assert result["per_query"]["keyword"]["kettle"] == 1.0  # the only product with the word, ranked first
    assert result["per_query"]["keyword"]["斧头"] == 0.0  # nothing matches
    assert result["queries_by_language"] == {"en": 1, "zh": 1}
    assert set(result["results"]) == {"keyword", "vector", "hybrid", "bm25"}
    assert result["per_query"]["bm25"]["kettle"] == 1.0  # the in-memory reference finds it too
    assert "GONE-1" in err.getvalue() and "line 5: rejected: rating 'x'" in err.getvalue()
    weak = [line for line in out.getvalue().splitlines() if "weak (hybrid)" in line]
    assert weak[0].endswith("斧头") and weak[1].endswith("kettle")  # weakest first


def test_a_file_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "qrels.csv"
    path.write_text("q,product\nkettle,KET-1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="needs the columns query,sku,rating"):
        call_command("shopai_eval_search", path, no_progress=True, stdout=io.StringIO())


def test_split_keeps_its_rows_and_unrelevant_queries_are_left_out(kettle_and_pan, tmp_path):
    path = tmp_path / "qrels.csv"
    path.write_text(
        "query,sku,rating,split\nkettle,KET-1,3,dev\npan,PAN-1,3,test\nteapot,KET-1,0,dev\n", encoding="utf-8"
    )
    out = io.StringIO()

    call_command("shopai_eval_search", path, split="dev", no_progress=True, json=tmp_path / "s.json", stdout=out)

    result = json.loads((tmp_path / "s.json").read_text())
    assert set(result["per_query"]["hybrid"]) == {"kettle"}  # "pan" is test; "teapot" has nothing relevant
    assert result["queries_without_relevant"] == 1
    assert "1 left out: no product rated 1 or more" in out.getvalue()


def test_split_needs_the_column(tmp_path):
    path = tmp_path / "qrels.csv"
    path.write_text("query,sku,rating\nkettle,KET-1,3\n", encoding="utf-8")
    with pytest.raises(CommandError, match="no split column"):
        call_command("shopai_eval_search", path, split="dev", no_progress=True, stdout=io.StringIO())
