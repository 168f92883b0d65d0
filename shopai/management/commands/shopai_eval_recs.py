"""Measure every recommender on held-out baskets of an event file, side by side, with intervals."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from tqdm import tqdm

from shopai.core.reports import write_json
from shopai.recommendations.evaluation import SPLITS, case_count, evaluate, parse_blend, read_events, shop_history
from shopai.recommendations.event_import import EventFileError
from shopai.search import embeddings


class Command(BaseCommand):
    help = (
        "Offline evaluation of recommendations on FILE.csv (user,sku,type,timestamp, or an invoice-line export "
        "such as UCI Online Retail), or on the shop's own recorded history with --shop. Held-out splits: each "
        "shopper's last basket, the two before it, a rolling 30-day window and two halves of the shoppers; "
        "NDCG, precision, recall and hit rate at k with bootstrap 95%% intervals, for the baselines "
        "(popularity, own purchases by count and by recency), each part of the blend alone, and the "
        "recommendations API. Import the products first (import_catalog); run a file on a separate database "
        "(SHOPAI_DATABASE_NAME=shopai_eval) so the shop's own events do not mix in. Nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?")
        parser.add_argument("--shop", action="store_true", help="Evaluate on the shop's own recorded events.")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument(
            "--split", action="append", choices=SPLITS, default=None, help="Only this split (repeatable)."
        )
        parser.add_argument(
            "--blend",
            action="append",
            default=[],
            help="Also evaluate this blend, e.g. buy_again=0.5,trending=0.5 (repeatable).",
        )
        parser.add_argument(
            "--shopai-defaults",
            action="store_true",
            help="Use shopai's built-in RECOMMENDATIONS settings instead of this project's (repurchase, blend...).",
        )
        parser.add_argument("--json", type=Path, default=None, help="Write the figures to this file.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path | None, shop: bool, k: int, blend: list[str], json: Path | None, **options):
        if (file is None) == (not shop):
            raise CommandError("Give an event file or --shop (the shop's own history), not both.")
        if file is not None and not file.is_file():
            raise CommandError(f"No such file: {file}")
        if k < 1:
            raise CommandError("--k must be 1 or more.")
        try:
            blends = {f"blend {text}": parse_blend(text) for text in blend}
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        only = tuple(options["split"] or SPLITS)
        quiet = options["no_progress"]
        missing = embeddings.products_needing_embedding()
        if missing:
            with tqdm(total=len(missing), unit="product", desc="Embedding", disable=quiet) as bar:
                embeddings.reindex_products(progress=bar.update)
        overrides = {"RECOMMENDATIONS": {}} if options["shopai_defaults"] else {}
        try:
            with override_settings(SHOPAI={**settings.SHOPAI, **overrides}):
                data = read_events(file) if file else shop_history()
                with tqdm(total=case_count(data, only), unit="case", desc="Evaluating", disable=quiet) as bar:
                    result = evaluate(file, k=k, blends=blends, only=only, progress=bar.update, data=data)
        except (EventFileError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if result["unknown_skus"]:
            shown = ", ".join(f"{sku} ({n})" for sku, n in list(result["unknown_skus"].items())[:10])
            self.stderr.write(
                f"{len(result['unknown_skus'])} skus not in the catalogue were skipped: {shown}"
                f"{' …' if len(result['unknown_skus']) > 10 else ''}"
            )
        for reason, count in result["skipped"].items():
            self.stderr.write(f"{count} lines skipped: {reason}")
        self.stdout.write(
            f"{result['file']}: {result['events']} events, {result['products']} products; settings in force: "
            f"{result['settings']}{' (shopai defaults)' if result['shipped_defaults'] else ''}"
            f"{'; tuned row active' if result['tuned'] else ''}"
        )
        self.stdout.write(format_tables(result))
        write_json(result, json)


def format_tables(result: dict) -> str:
    """Per split: NDCG@k with its interval, P/R/HR, and the paired difference to the best baseline."""
    k = result["k"]
    key = f"NDCG@{k}"
    blocks = []
    for split, report in result["splits"].items():
        rows = report["results"]
        width = max(len(name) for name in rows) + 2
        header = (
            f"{split} ({report['cases']} cases{', dev' if report['dev'] else ''}); "
            f"best baseline: {report['best_baseline']}"
        )
        lines = [
            header,
            f"{'recommender':<{width}}{key:>8} {'95% interval':>15}{f'P@{k}':>8}{f'R@{k}':>8}{f'HR@{k}':>8}"
            f"{'coverage':>9}   vs best baseline [95% interval]",
        ]
        for name, row in rows.items():
            versus = row.get("vs_best_baseline")
            lift = f"{versus['diff']:+.3f} [{versus['ci'][0]:+.3f}, {versus['ci'][1]:+.3f}]" if versus else ""
            lines.append(
                f"{name:<{width}}{row[key]:>8.3f} [{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]"
                f"{row[f'P@{k}']:>8.3f}{row[f'R@{k}']:>8.3f}{row[f'HR@{k}']:>8.3f}{row['coverage']:>9.3f}   {lift}"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
