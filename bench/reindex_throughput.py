"""Bulk reindex throughput (products/s): import a catalogue, then re-embed every product.

Runs the real path — ``store.catalog_import.import_catalog`` then
``shopai.search.embeddings.reindex_products(everything=True)`` with shopai's default
embedding backend (``--embeddings shopai``: MiniLM on ONNX Runtime int8) or the demo shop's
(``--embeddings demo``: the demo settings' default model), or both in one run
(``--embeddings shopai,demo``: each catalogue is imported and reindexed with one model after the
other, the order alternating between ``--rounds``, and the report gives each model's products/s and
its ratio to the first) — in a database of its own (``shopai_bench`` on the embedded server,
``--database``) and with a private Redis, so neither the demo shop nor anybody's tests are touched.
See bench/README.md.

    .venv/bin/python bench/reindex_throughput.py [--magento PATH] [--batch-size N] [--skip-magento]
        [--embeddings shopai|demo|shopai,demo] [--rounds N] [--database NAME] [--out PATH]
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
COMPARISON_RESULTS = REPO / "bench" / "results" / "reindex_throughput_comparison.json"  # several --embeddings
CHOICES = ("shopai", "demo")


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
    embeddings: str = "shopai"  # --embeddings choice: shopai's default model or the demo settings'
    round: int = 1


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
    header = (
        f"{'dataset':<10}{'model':<8}{'round':>6}{'products':>9}{'import s':>10}{'reindex s':>11}{'model s':>9}"
        f"{'queries':>9}{'prod/s':>9}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r.dataset:<10}{r.embeddings:<8}{r.round:>6}{r.products:>9}{r.import_seconds:>10.1f}"
            f"{r.reindex_seconds:>11.1f}{r.model_seconds:>9.1f}{r.sql_queries:>9}{r.products_per_second:>9.1f}"
        )


def compare(results: list[RunResult], choices: list[str]) -> dict:
    """Per catalogue and model: products/s over all rounds (embedded / reindex seconds), and each
    model's ratio to the first one's, measured in the same process run."""
    comparison = {}
    for dataset in dict.fromkeys(r.dataset for r in results):
        row = {}
        for choice in choices:
            runs = [r for r in results if r.dataset == dataset and r.embeddings == choice]
            seconds = sum(r.reindex_seconds for r in runs)
            embedded = sum(r.embedded for r in runs)
            row[choice] = {
                "rounds": len(runs),
                "embedded": embedded,
                "reindex_seconds": round(seconds, 2),
                "products_per_second": round(embedded / seconds, 1) if seconds else 0.0,
                "per_round": [r.products_per_second for r in runs],
            }
        reference = row[choices[0]]["products_per_second"]
        for choice in choices[1:]:
            speed = row[choice]["products_per_second"]
            row[choice][f"ratio_to_{choices[0]}"] = round(speed / reference, 3) if reference else None
        comparison[dataset] = row
    return comparison


def print_comparison(comparison: dict, choices: list[str]) -> None:
    print(f"\nSame run, products/s over all rounds (ratio to {choices[0]}):")
    for dataset, row in comparison.items():
        cells = []
        for choice in choices:
            ratio = row[choice].get(f"ratio_to_{choices[0]}")
            cells.append(f"{choice} {row[choice]['products_per_second']:.1f}" + (f" ({ratio:.3f}x)" if ratio else ""))
        print(f"  {dataset:<10}" + ", ".join(cells))


def embedding_choices(value: str) -> list[str]:
    """--embeddings: one of CHOICES or several, comma-separated (the first is the reference)."""
    choices = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [choice for choice in choices if choice not in CHOICES]
    if not choices or unknown or len(set(choices)) != len(choices):
        raise argparse.ArgumentTypeError(f"expected {', '.join(CHOICES)} or several of them comma-separated: {value!r}")
    return choices


@contextlib.contextmanager
def embeddings_of(choice: str):
    """The settings of one --embeddings choice: "shopai" puts shopai's default model in the demo's place."""
    if choice != "shopai":
        yield
        return
    from django.conf import settings
    from django.test.utils import override_settings

    from shopai.conf import DEFAULTS

    embeddings = {**settings.SHOPAI.get("EMBEDDINGS", {}), "default": DEFAULTS["EMBEDDINGS"]["default"]}
    with override_settings(SHOPAI={**settings.SHOPAI, "EMBEDDINGS": embeddings}):
        yield


def loaded_backend() -> tuple[object, float, float]:
    """The default embedding backend, loaded and called once; (backend, load s, first call s)."""
    from shopai.backends import get_embedding_backend

    backend = get_embedding_backend()
    print(f"Loading {type(backend).__name__} ({backend.name})", flush=True)
    started = time.perf_counter()
    backend.load()
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    backend.embed_documents(["warm-up"])  # first call pays one-off allocation costs
    warmup_seconds = time.perf_counter() - started
    print(f"Model loaded in {load_seconds:.1f}s (+{warmup_seconds:.2f}s first call)", flush=True)
    return backend, load_seconds, warmup_seconds


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
        type=embedding_choices,
        default=["shopai"],
        help="shopai's default embedding backend (shopai, the default) or the demo shop's settings (demo); "
        "several, comma-separated (shopai,demo), are measured in the same run and compared to the first.",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="Times each catalogue is reindexed with each model; the models' order alternates (default 1).",
    )
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"Database on the embedded server (default {BENCH_DATABASE})."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON report (default {RESULTS}, or {COMPARISON_RESULTS.name} for several --embeddings).",
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be a positive number, e.g. --batch-size 64")
    if args.rounds < 1:
        parser.error("--rounds must be a positive number")
    if args.out is None:
        args.out = RESULTS if len(args.embeddings) == 1 else COMPARISON_RESULTS
    magento = args.magento.resolve()
    if not args.skip_magento and not magento.is_file():
        parser.error(f"no Magento export at {magento}; pass --magento PATH or --skip-magento")

    workdir = Path(tempfile.mkdtemp(prefix="shopai-bench-"))  # short path: unix sockets are limited
    try:
        setup_django(workdir / "redis", database=args.database)
        return run(args, magento, workdir)
    finally:
        stop_private_redis(workdir / "redis")
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, magento: Path, workdir: Path) -> int:
    from django.core.management import call_command

    print(f"Migrating database {args.database!r} on the embedded server", flush=True)
    call_command("migrate", interactive=False, verbosity=0)

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

    # Each catalogue with each model in turn (ABBA over rounds), so the models share the machine's
    # load; a model is loaded again after a switch (settings changed), outside the timings.
    results: list[RunResult] = []
    backends: dict[str, dict] = {}
    for name, path, source, rows, skipped in datasets:
        for round_number in range(1, args.rounds + 1):
            order = args.embeddings if round_number % 2 else args.embeddings[::-1]
            for choice in order:
                with embeddings_of(choice):
                    backend, load_seconds, warmup_seconds = loaded_backend()
                    backends.setdefault(
                        choice,
                        {
                            "class": type(backend).__name__,
                            "name": backend.name,
                            "config": backend.config,
                            "model_load_seconds": round(load_seconds, 2),
                            "first_call_seconds": round(warmup_seconds, 3),
                        },
                    )
                    result = run_dataset(
                        name,
                        path,
                        source,
                        rows=rows,
                        skipped=skipped,
                        batch_size=args.batch_size,
                        backend=backend,
                        model_time=timed_model(backend),
                    )
                result.embeddings, result.round = choice, round_number
                results.append(result)

    queued = queued_messages()
    purged = purge_queues()
    left = queued_messages()
    print(f"\nQueue: {queued} embedding tasks enqueued by the imports, {purged} purged, {left} left")

    print_table(results)
    comparison = compare(results, args.embeddings) if len(args.embeddings) > 1 else None
    if comparison:
        print_comparison(comparison, args.embeddings)
    import torch

    first = backends[args.embeddings[0]]
    if comparison is None:  # one model: the report's format of before, plus each result's model and round
        models = {
            "backend": {key: first[key] for key in ("class", "name", "config")},
            "batch_size": args.batch_size,
            "model_load_seconds": first["model_load_seconds"],
            "first_call_seconds": first["first_call_seconds"],
        }
    else:  # per --embeddings choice, the load times of its first load
        models = {"backends": backends, "batch_size": args.batch_size, "rounds": args.rounds}
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
        **models,
        "queue": {"enqueued": queued, "purged": purged, "left": left},
        **({"comparison": comparison} if comparison else {}),
        "results": [asdict(result) for result in results],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nWrote {args.out}")
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
