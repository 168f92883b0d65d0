"""Regression gate: search relevance on the dev splits of public catalogues nobody here wrote.

The Magento Luma and DummyJSON catalogues are read from ../shared/data (or SHOPAI_SHARED_DATA),
imported with the demo shop's importer and embedded with shopai's shipped default model; the
judged dev queries of eval/search go through GET /api/shopai/search with shipped SEARCH settings.
A drop of more than the tolerance in eval/search/gate.json below the figures recorded there
fails, and so does keyword search falling behind the in-memory BM25 reference or hybrid falling
below its better input. Without the data the gate skips and says so.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import pytest

from shopai.search.embeddings import reindex_products
from shopai.search.evaluation import evaluate, read_judgements
from store.catalog_import import import_catalog

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "eval" / "search"
SHARED_DATA = Path(os.environ.get("SHOPAI_SHARED_DATA", ROOT.parent / "shared" / "data"))
GATE = json.loads((EVAL / "gate.json").read_text(encoding="utf-8"))

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _catalogue_rows(name: str) -> list[dict[str, str]]:
    sys.path.insert(0, str(EVAL))
    try:
        import catalogues
    finally:
        sys.path.remove(str(EVAL))
    return catalogues.load(name, SHARED_DATA)


@pytest.mark.parametrize("name", sorted(GATE["sets"]))
def test_dev_split_relevance_holds(name, use_minilm, settings):
    if not (SHARED_DATA / "magento_luma").is_dir():
        pytest.skip(f"search relevance gate skipped: {SHARED_DATA} (the shared reference data) is absent")
    settings.SHOPAI = {key: value for key, value in settings.SHOPAI.items() if key != "SEARCH"}  # shipped defaults
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["sku", "name", "category", "price", "description", "language"])
    writer.writeheader()
    writer.writerows(_catalogue_rows(name))
    buffer.seek(0)
    import_catalog(buffer)
    reindex_products(everything=True)

    result = evaluate(read_judgements(EVAL / f"{name}_qrels.csv", split="dev"), k=10)

    scores = {system: row["nDCG@10"] for system, row in result["results"].items()}
    tolerance = GATE["tolerance"]
    for system, recorded in GATE["sets"][name].items():
        assert scores[system] >= recorded - tolerance, f"{name} {system}: nDCG@10 {scores[system]:.3f}, was {recorded}"
    assert scores["keyword"] >= scores["bm25"] - 0.02, scores
    assert scores["hybrid"] >= max(scores["keyword"], scores["vector"]), scores
