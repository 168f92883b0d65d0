"""Bulk reindex throughput (products/s): import a catalogue, then re-embed every product.

Runs the real path — ``store.catalog_import.import_catalog`` then
``shopai.search.embeddings.reindex_products(everything=True)`` with shopai's default
embedding backend (``--embeddings shopai``: MiniLM on ONNX Runtime int8) or the demo shop's
(``--embeddings demo``: multilingual-e5) — in a database of its own
(``shopai_bench`` on the embedded server) and with a private Redis, so neither the
demo shop nor anybody's tests are touched. See bench/README.md.

    .venv/bin/python bench/reindex_throughput.py [--magento PATH] [--batch-size N] [--skip-magento]
        [--embeddings shopai|demo] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# bench/ is on sys.path: this script's folder, or put there by its importers
from _catalogues import MAGENTO_CSV, convert_magento
from _harness import BENCH_DATABASE, purge_queues, queued_messages, reset_catalogue, setup_django, stop_private_redis

REPO = Path(__file__).resolve().parents[1]
DEMO_CATALOG = REPO / "store" / "demo_data" / "catalog.csv"
DEFAULT_MAGENTO = REPO / ".." / "shared" / "data" / MAGENTO_CSV
RESULTS = REPO / "bench" / "results" / "reindex_throughput.json"


@dataclass
class RunResult:
    dataset: str
    source: str
    rows_in_file: int
    skipped_before_import: dict[str, int]
    created: int
    rejected_by_import: int
    import_seconds: float
    products: int
    mean_text_chars: float
    embedded: int
    failed: int
    reindex_seconds: float
    model_seconds: float
    sql_queries: int
    products_per_second: float
    embeddings_stored: int


# --- Django, with a database and a Redis of its own ----------------------------------


@contextlib.contextmanager
def count_queries(counter: list[int]):
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def timed_model(backend) -> list[float]:
    """Time the backend's model calls (instance attribute; the reindex path is unchanged)."""
    spent = [0.0]
    embed_documents = backend.embed_documents

    def timed(texts):
        started = time.perf_counter()
        try:
            return embed_documents(texts)
        finally:
            spent[0] += time.perf_counter() - started

    backend.embed_documents = timed
    return spent


def run_dataset(
    name: str, csv_path: Path, source: str, *, rows: int, skipped: dict, batch_size: int, backend, model_time
) -> RunResult:
    from django.contrib.contenttypes.models import ContentType
    from tqdm import tqdm

    from shopai.adapters import get_product_adapter
    from shopai.models import ProductEmbedding
    from shopai.search.embeddings import reindex_products
    from store.catalog_import import import_catalog
    from store.models import Product

    print(f"\n[{name}] emptying the bench database", flush=True)
    reset_catalogue()

    print(f"[{name}] importing {csv_path.name}", flush=True)
    started = time.perf_counter()
    with (
        csv_path.open(encoding="utf-8-sig", newline="") as handle,
        tqdm(total=rows, unit="row", desc="import", mininterval=2, file=sys.stdout) as bar,
    ):
        report = import_catalog(handle, progress=bar.update)
    import_seconds = time.perf_counter() - started
    for line, reason in report.rejected[:10]:
        print(f"[{name}] line {line} rejected: {reason}")

    adapter = get_product_adapter()
    products = Product.objects.count()
    texts = [adapter.get_text(product) for product in adapter.get_queryset().select_related("category__parent")]
    mean_chars = sum(map(len, texts)) / len(texts) if texts else 0.0

    print(f"[{name}] re-embedding {products} products (batch size {batch_size})", flush=True)
    model_time[0] = 0.0
    queries = [0]
    with (
        tqdm(total=products, unit="product", desc="reindex", mininterval=2, file=sys.stdout) as bar,
        count_queries(queries),
    ):
        result = reindex_products(everything=True, batch_size=batch_size, progress=bar.update)
    content_type = ContentType.objects.get_for_model(Product, for_concrete_model=False)
    stored = ProductEmbedding.objects.filter(content_type=content_type, model_name=backend.name).count()
    return RunResult(
        dataset=name,
        source=source,
        rows_in_file=rows,
        skipped_before_import=skipped,
        created=report.created,
        rejected_by_import=len(report.rejected),
        import_seconds=round(import_seconds, 2),
        products=products,
        mean_text_chars=round(mean_chars, 1),
        embedded=result.embedded,
        failed=result.failed,
        reindex_seconds=round(result.seconds, 2),
        model_seconds=round(model_time[0], 2),
        sql_queries=queries[0],
        products_per_second=round(result.embedded / result.seconds, 1) if result.seconds else 0.0,
        embeddings_stored=stored,
    )


def print_table(results: list[RunResult]) -> None:
    header = f"{'dataset':<10}{'products':>9}{'import s':>10}{'reindex s':>11}{'model s':>9}{'queries':>9}{'prod/s':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r.dataset:<10}{r.products:>9}{r.import_seconds:>10.1f}{r.reindex_seconds:>11.1f}"
            f"{r.model_seconds:>9.1f}{r.sql_queries:>9}{r.products_per_second:>9.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--magento",
        type=Path,
        default=DEFAULT_MAGENTO,
        help="Magento product export (default: ../shared/data/magento_luma/ConfigurableSampleData/products.csv).",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="Products per reindex chunk (default 64).")
    parser.add_argument("--skip-magento", action="store_true", help="Only the demo catalogue.")
    parser.add_argument(
        "--embeddings",
        choices=("shopai", "demo"),
        default="shopai",
        help="shopai's default embedding backend (default) or the demo shop's settings.",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON report (default {RESULTS}).")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be a positive number, e.g. --batch-size 64")
    magento = args.magento.resolve()
    if not args.skip_magento and not magento.is_file():
        parser.error(f"no Magento export at {magento}; pass --magento PATH or --skip-magento")

    workdir = Path(tempfile.mkdtemp(prefix="shopai-bench-"))  # short path: unix sockets are limited
    try:
        setup_django(workdir / "redis")
        return run(args, magento, workdir)
    finally:
        stop_private_redis(workdir / "redis")
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, magento: Path, workdir: Path) -> int:
    from django.core.management import call_command

    from shopai.backends import get_embedding_backend

    print(f"Migrating database {BENCH_DATABASE!r} on the embedded server", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    if args.embeddings == "shopai":
        from django.conf import settings
        from django.test.utils import override_settings

        from shopai.conf import DEFAULTS

        embeddings = {**settings.SHOPAI.get("EMBEDDINGS", {}), "default": DEFAULTS["EMBEDDINGS"]["default"]}
        override_settings(SHOPAI={**settings.SHOPAI, "EMBEDDINGS": embeddings}).enable()

    backend = get_embedding_backend()
    print(f"Loading {type(backend).__name__} ({backend.name})", flush=True)
    started = time.perf_counter()
    backend.load()
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    backend.embed_documents(["warm-up"])  # first call pays one-off allocation costs
    warmup_seconds = time.perf_counter() - started
    print(f"Model loaded in {load_seconds:.1f}s (+{warmup_seconds:.2f}s first call)", flush=True)
    model_time = timed_model(backend)

    datasets = []
    with DEMO_CATALOG.open(encoding="utf-8", newline="") as handle:
        demo_rows = sum(1 for _ in csv.DictReader(handle))
    datasets.append(("demo", DEMO_CATALOG, str(DEMO_CATALOG.relative_to(REPO)), demo_rows, {}))
    if not args.skip_magento:
        converted = convert_magento(magento, workdir / "magento_catalog.csv")
        skipped = dict(converted.skipped)
        print(
            f"\nMagento: {converted.rows} rows, {converted.written} converted, "
            f"{sum(skipped.values())} skipped{f' {skipped}' if skipped else ''}, "
            f"{converted.uncategorised} without a category",
            flush=True,
        )
        source = os.path.relpath(magento, REPO)  # e.g. ../shared/data/...: no machine-specific prefix
        datasets.append(("magento", converted.path, source, converted.rows, skipped))

    results = [
        run_dataset(
            name,
            path,
            source,
            rows=rows,
            skipped=skipped,
            batch_size=args.batch_size,
            backend=backend,
            model_time=model_time,
        )
        for name, path, source, rows, skipped in datasets
    ]

    queued = queued_messages()
    purged = purge_queues()
    left = queued_messages()
    print(f"\nQueue: {queued} embedding tasks enqueued by the imports, {purged} purged, {left} left")

    print_table(results)
    import torch

    payload = {
        "benchmark": "bulk reindex throughput: import_catalog then reindex_products(everything=True)",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "backend": {"class": type(backend).__name__, "name": backend.name, "config": backend.config},
        "batch_size": args.batch_size,
        "model_load_seconds": round(load_seconds, 2),
        "first_call_seconds": round(warmup_seconds, 3),
        "queue": {"enqueued": queued, "purged": purged, "left": left},
        "results": [asdict(result) for result in results],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nWrote {args.out}")
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
