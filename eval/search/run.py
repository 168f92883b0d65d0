"""Search relevance on public catalogues nobody here wrote, through shopai's search API.

    .venv/bin/python eval/search/run.py --data ../shared/data [--split dev|test] [--sets magento,dummyjson]
        [--grid] [--json PATH] [--database NAME] [--embeddings CONFIG]

For each set it empties the benchmark database (``shopai_bench`` on the embedded server, with a
private Redis: nobody's shop or tests are touched), imports the catalogue (eval/search/catalogues.py)
with the demo shop's importer, embeds it with shopai's shipped default model, and runs
``shopai_eval_search`` on ``eval/search/<set>_qrels.csv`` for the split: keyword, vector and hybrid
search through ``GET /api/shopai/search``, and the in-memory BM25 reference. ``--grid`` instead
scores settings variants of SHOPAI["SEARCH"] (keyword ranking and fusion) on the split; choose
on dev, confirm once on test.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(HERE)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import catalogues  # noqa: E402

from eval.options import embeddings_entry  # noqa: E402


def prepare(name: str, data_dir: Path) -> int:
    """Empty the shop, import set ``name`` and embed every product; returns the product count."""
    import _harness as bench

    from shopai.search.embeddings import reindex_products
    from store.catalog_import import import_catalog

    bench.reset_catalogue()
    rows = catalogues.load(name, data_dir)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["sku", "name", "category", "price", "description", "language"])
    writer.writeheader()
    writer.writerows(rows)
    buffer.seek(0)
    report = import_catalog(buffer)
    bench.purge_queues()  # the import queued embedding tasks; no worker listens here
    for line, reason in report.rejected:
        print(f"[{name}] line {line} rejected: {reason}", flush=True)
    result = reindex_products(everything=True)
    print(f"[{name}] {report.created} products imported, {result.embedded} embedded", flush=True)
    return report.created


def evaluate(name: str, split: str | None) -> dict:
    from shopai.search.evaluation import evaluate as run
    from shopai.search.evaluation import read_judgements

    return run(read_judgements(HERE / f"{name}_qrels.csv", split=split), k=10)


def grid() -> list[dict]:
    """SHOPAI["SEARCH"] variants: keyword ranking first, then fusion over the shipped keyword settings."""
    from shopai.conf import DEFAULTS

    base = DEFAULTS["SEARCH"]
    variants = []
    for k1, b, weights, boost in itertools.product(
        (0.9, 1.2, 1.8),
        (0.3, 0.75),
        ([1.0, 0.4, 0.2, 0.1], [1.0, 0.6, 0.4, 0.2], [1.0, 1.0, 1.0, 1.0]),
        (0.0, 0.5),
    ):
        variants.append({**base, "BM25_K1": k1, "BM25_B": b, "FIELD_WEIGHTS": weights, "PHRASE_BOOST": boost})
    for fusion, weight in itertools.product(("convex", "rrf"), (0.3, 0.4, 0.5, 0.6, 0.7)):
        variants.append({**base, "FUSION": fusion, "KEYWORD_WEIGHT": weight})
    return variants


def write_unjudged(name: str, out: Path, variants: list[dict], shipped: dict) -> None:
    from django.test.utils import override_settings

    from shopai.search.evaluation import MODES, api_search

    with (HERE / f"{name}_queries.csv").open(encoding="utf-8", newline="") as handle:
        queries = list(csv.DictReader(handle))
    with (HERE / f"{name}_qrels.csv").open(encoding="utf-8", newline="") as handle:
        judged = {(row["query_id"], row["sku"]) for row in csv.DictReader(handle)}
    from store.models import Product

    sku_of = {str(pk): sku for pk, sku in Product.objects.values_list("pk", "sku")}
    found: set[tuple[str, str]] = set()
    for variant in variants:
        with override_settings(SHOPAI={**shipped, "SEARCH": variant}):
            for query in queries:
                for mode in MODES:
                    for pk in api_search(query["query"], k=10, mode=mode):
                        found.add((query["query_id"], sku_of[pk]))
    unjudged = sorted(found - judged)
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"{name}_unjudged.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_id", "sku"])
        writer.writerows(unjudged)
    print(f"[{name}] {len(unjudged)} unjudged pairs in the top 10 of {len(variants)} variants", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--split", default="dev", help="dev or test (read test once per decision)")
    parser.add_argument("--sets", default="magento,dummyjson,litemall")
    parser.add_argument("--grid", action="store_true", help="score SEARCH settings variants instead")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--database",
        default=None,
        help="database on the embedded server, emptied for each set (default: the benchmarks' shopai_bench)",
    )
    parser.add_argument(
        "--embeddings",
        default=None,
        help="the embedding backend to search with instead of shopai's default: a JSON object like an EMBEDDINGS "
        'entry, {"CLASS": ..., "CONFIG": {...}}, or the path of a .json file holding one',
    )
    parser.add_argument(
        "--pool",
        type=Path,
        default=None,
        help="write the unjudged products in the top 10 of every mode and grid variant, all splits, to "
        "POOL/<set>_unjudged.csv (query_id,sku) for another blind grading round; no scores are read",
    )
    args = parser.parse_args()
    if not (args.data / "magento_luma").is_dir():
        raise SystemExit(f"{args.data} does not hold the shared data sets (magento_luma/, dummyjson/, litemall_zh/).")
    import _harness as bench

    redis_dir = Path(tempfile.mkdtemp(prefix="shopai-searcheval-"))
    embedding = embeddings_entry(args.embeddings)
    bench.setup_django(redis_dir, **({"database": args.database} if args.database else {}))
    try:
        from django.conf import settings
        from django.core.management import call_command
        from django.test.utils import override_settings

        from shopai.conf import DEFAULTS

        call_command("migrate", interactive=False, verbosity=0)
        # shopai's shipped defaults: its default embedding model and SEARCH settings.
        shipped = {key: value for key, value in settings.SHOPAI.items() if key != "SEARCH"}
        default = embedding or DEFAULTS["EMBEDDINGS"]["default"]
        shipped["EMBEDDINGS"] = {**settings.SHOPAI.get("EMBEDDINGS", {}), "default": default}
        override_settings(SHOPAI=shipped).enable()
        report: dict = {"split": args.split, "sets": {}}
        for name in args.sets.split(","):
            prepare(name, args.data)
            if args.pool:
                write_unjudged(name, args.pool, [{**shipped.get("SEARCH", {}), **v} for v in grid()], shipped)
                continue
            if args.grid:
                rows = []
                for variant in grid():
                    with override_settings(SHOPAI={**shipped, "SEARCH": variant}):
                        result = evaluate(name, args.split)
                    scores = {system: row["nDCG@10"] for system, row in result["results"].items()}
                    rows.append({"search": variant, "nDCG@10": scores})
                    print(name, json.dumps(variant, sort_keys=True), {s: round(v, 3) for s, v in scores.items()})
                report["sets"][name] = rows
                continue
            result = evaluate(name, args.split)
            report["sets"][name] = {key: result[key] for key in ("queries", "queries_without_relevant", "model")}
            report["sets"][name]["results"] = result["results"]
            report["sets"][name]["per_query"] = result["per_query"]
            print(f"\n{name} ({args.split}, {result['queries']} queries, model {result['model']})")
            for system, row in result["results"].items():
                print(f"  {system:<8} nDCG@10 {row['nDCG@10']:.3f}  R@10 {row['R@10']:.3f}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        bench.stop_private_redis(redis_dir)


if __name__ == "__main__":
    main()
