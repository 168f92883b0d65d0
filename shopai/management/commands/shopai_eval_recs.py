"""Measure every recommender on held-out baskets of an event file, side by side."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from tqdm import tqdm

from shopai.services import embeddings, evaluation
from shopai.services.event_import import EventFileError
from shopai.services.rec_eval import evaluate, parse_blend, read_events


class Command(BaseCommand):
    help = (
        "Offline evaluation of recommendations on FILE.csv (user,sku,type,timestamp, or an invoice-line export "
        "such as UCI Online Retail). Each shopper's last basket is held out; precision, recall, NDCG and hit "
        "rate at k and catalogue coverage are reported for the popularity and past-purchase baselines and "
        "every shopai recommender. Import the products first (import_catalog); run it on a separate database "
        "(SHOPAI_DATABASE_NAME=shopai_eval) so the shop's own events do not mix in. Nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument(
            "--offset", type=int, default=0, help="Hold out the basket this many before the last (1, 2: validation)."
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

    def handle(self, *args, file: Path, k: int, offset: int, blend: list[str], json: Path | None, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        if k < 1 or offset < 0:
            raise CommandError("--k must be 1 or more and --offset 0 or more.")
        try:
            blends = {f"blend {text}": parse_blend(text) for text in blend}
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        quiet = options["no_progress"]
        missing = embeddings.products_needing_embedding()
        if missing:
            with tqdm(total=len(missing), unit="product", desc="Embedding", disable=quiet) as bar:
                embeddings.reindex_products(progress=bar.update)
        overrides = {"RECOMMENDATIONS": {}} if options["shopai_defaults"] else {}
        try:
            with override_settings(SHOPAI={**settings.SHOPAI, **overrides}):
                data = read_events(file)
                with tqdm(unit="shopper", desc="Evaluating", disable=quiet) as bar:
                    result = evaluate(file, k=k, offset=offset, blends=blends, progress=bar.update, data=data)
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
            f"{result['cases']} held-out baskets (offset {offset}), {result['events']} events, "
            f"{result['products']} products; settings: repurchase {result['repurchase']}, "
            f"blend {result['blend_setting']}"
        )
        self.stdout.write(format_table(result))
        evaluation.dump(result, json)


def format_table(result: dict) -> str:
    k = result["k"]
    columns = [f"P@{k}", f"R@{k}", f"NDCG@{k}", f"HR@{k}", "coverage"]
    baseline = result["results"]["popularity (baseline)"][f"NDCG@{k}"]
    width = max(len(name) for name in result["results"]) + 2
    lines = [f"{'recommender':<{width}}" + "".join(f"{c:>10}" for c in columns) + f"{'vs popularity':>15}"]
    for name, row in result["results"].items():
        lift = f"{(row[f'NDCG@{k}'] / baseline - 1) * 100:+.0f}%" if baseline else "n/a"
        lines.append(f"{name:<{width}}" + "".join(f"{row[c]:>10.3f}" for c in columns) + f"{lift:>15}")
    return "\n".join(lines)
