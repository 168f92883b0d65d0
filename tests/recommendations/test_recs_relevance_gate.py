"""Regression gate: recommendations on a public purchase history nobody here wrote.

The UCI Online Retail France invoices are read from ../shared/data (or SHOPAI_SHARED_DATA), the
products imported with the demo shop's importer, and every held-out split replayed through
GET /api/shopai/recommendations with shopai's shipped RECOMMENDATIONS. On every split the
defaults must not rank below the best baseline (popularity, own purchases by count or by
recency), which is what docs/recommendations.md promises. Without the data the gate skips and
says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shopai.recommendations.evaluation import BASELINES, IN_FORCE, SPLITS, evaluate
from store.catalog_import import import_catalog

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("SHOPAI_SHARED_DATA", ROOT.parent / "shared" / "data"))
FRANCE = SHARED_DATA / "online_retail_uci" / "france.csv"

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_shipped_defaults_never_rank_below_the_best_baseline_on_any_split(settings):
    if not FRANCE.is_file():
        pytest.skip(f"recommendation gate skipped: {FRANCE} (the shared reference data) is absent")
    settings.SHOPAI = {**settings.SHOPAI, "RECOMMENDATIONS": {}}  # shipped defaults, not the demo's
    with FRANCE.open(encoding="utf-8") as handle:
        import_catalog(handle)

    result = evaluate(FRANCE, k=10)

    assert set(result["splits"]) == set(SPLITS) and result["shipped_defaults"]
    for split, report in result["splits"].items():
        rows = report["results"]
        best = max(rows[name]["NDCG@10"] for name in BASELINES)
        assert rows[IN_FORCE]["NDCG@10"] >= best, f"{split}: defaults {rows[IN_FORCE]['NDCG@10']:.3f} < {best:.3f}"
    assert result["splits"]["last basket"]["cases"] == 58
