"""Fit the recommendation settings to this shop's own purchase history; --apply puts them to use."""

from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from tqdm import tqdm

from shopai.core.reports import write_json
from shopai.models import RecommenderSettings
from shopai.recommendations import tuned_settings as rec_settings
from shopai.recommendations import tuning as rec_tuning
from shopai.recommendations.evaluation import DEV_SPLITS, read_events, replaying, sample, shop_history, splits
from shopai.recommendations.event_import import EventFileError
from shopai.recommendations.tuned_settings import TUNABLE, recommendation_settings
from shopai.search import embeddings

IN_FORCE, TUNED = "settings in force", "tuned"
# Below this many development cases a tuning is a guess; the command says so.
FEW_CASES = 30


class Command(BaseCommand):
    help = (
        "Fit SHOPAI['RECOMMENDATIONS'] (blend weights, own purchases first, half-lives) to the shop's own "
        "purchase history by held-out baskets: chosen on the development splits (the second- and third-to-last "
        "basket and a rolling 30-day window), shown beside the settings in force on every split with bootstrap "
        "95%% intervals. --apply stores the result as the active RecommenderSettings row, which overrides the "
        "settings file until it is deactivated in admin or with --revert. FILE reads an event file instead "
        "(user,sku,type,timestamp or an invoice-line export; replayed in a rolled-back transaction)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--apply", action="store_true", help="Put the tuned settings to use.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --apply: store them even if they do worse than the settings in force on the last baskets.",
        )
        parser.add_argument("--revert", action="store_true", help="Stop using tuned settings: back to the file.")
        parser.add_argument(
            "--shopai-defaults",
            action="store_true",
            help="Start from shopai's built-in RECOMMENDATIONS settings instead of this project's.",
        )
        parser.add_argument("--max-cases", type=int, default=1000, help="Replay at most this many cases per split.")
        parser.add_argument("--json", type=Path, default=None, help="Write the figures to this file.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        if options["shopai_defaults"]:
            with override_settings(SHOPAI={**settings.SHOPAI, "RECOMMENDATIONS": {}}):
                return self.run(**options)
        return self.run(**options)

    def run(self, *, file: Path | None, k: int, json: Path | None, **options):
        if options["revert"]:
            return self.revert()
        if file is not None and not file.is_file():
            raise CommandError(f"No such file: {file}")
        if k < 1 or options["max_cases"] < 1:
            raise CommandError("--k and --max-cases must be 1 or more.")
        quiet = options["no_progress"]
        missing = embeddings.products_needing_embedding()
        if missing:
            with tqdm(total=len(missing), unit="product", desc="Embedding", disable=quiet) as bar:
                embeddings.reindex_products(progress=bar.update)
        data = read_events(file) if file else shop_history()
        source = file.name if file else "the shop's own history"
        cases = {split: sample(found, options["max_cases"]) for split, found in splits(data.rows).items()}
        if not any(cases[split] for split in DEV_SPLITS):
            raise CommandError(
                f"Too little history in {source} to tune on: no shopper has three baskets, and no rolling window "
                "has a shopper who bought before and after its start."
            )
        dev_cases = sum(len(cases[split]) for split in DEV_SPLITS)
        if dev_cases < FEW_CASES:
            self.stderr.write(
                f"Only {dev_cases} development cases in {source}: the intervals below are wide, so treat the "
                "tuned settings as a hint, not a measurement."
            )
        base = recommendation_settings()
        try:
            with replaying(data, k=k, from_file=file is not None) as replay:
                total = sum(len(found) for found in cases.values())
                with tqdm(total=total, unit="case", desc="Reading history", disable=quiet) as bar:
                    prepared = rec_tuning.prepare(replay, cases, config=base, progress=bar.update)
                with tqdm(total=rec_tuning.search_size(), unit="setting", desc="Tuning", disable=quiet) as bar:
                    best, tried = rec_tuning.tune(replay, prepared, base=base, progress=bar.update)
                    bar.update(bar.total - bar.n)
                tuned = {**base, **best}
                report = rec_tuning.compare(replay, prepared, {IN_FORCE: base, TUNED: tuned})
        except (EventFileError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        before = {key: base[key] for key in TUNABLE}
        self.stdout.write(f"{source}: {len(data.rows)} events, {sum(map(len, cases.values()))} held-out cases")
        self.stdout.write(f"settings in force: {before}")
        self.stdout.write(f"tuned on the development splits: {best} ({len(tried)} settings tried)")
        self.stdout.write(format_report(report, k=k))
        result = {"source": source, "k": k, "before": before, "tuned": best, "splits": report, "tried": len(tried)}
        write_json(result, json)
        if options["apply"]:
            self.apply(result, force=options["force"])

    def apply(self, result: dict, *, force: bool) -> None:
        if _effective(result["tuned"]) == _effective(result["before"]):
            self.stdout.write("The settings in force are already the best found: nothing to apply.")
            return
        held = [report for report in result["splits"].values() if not report["dev"]]
        key = f"NDCG@{result['k']}"
        gain = np.mean([r["results"][TUNED][key] - r["results"][IN_FORCE][key] for r in held]) if held else 0.0
        if gain < 0 and not force:
            raise CommandError(
                f"The tuned settings do worse than those in force on the held-out last baskets ({gain:+.3f} NDCG): "
                "not applied (use --force to apply anyway)."
            )
        row = RecommenderSettings(
            values=result["tuned"],
            source=f"shopai_tune_recommendations on {result['source']}"[:200],
            created_by="shopai_tune_recommendations",
            report=result,
        )
        rec_settings.put_in_force(row)
        self.stdout.write(self.style.SUCCESS(f"Applied: recommender settings #{row.pk} are now in force."))

    def revert(self) -> None:
        if rec_settings.back_to_settings_file():
            self.stdout.write(self.style.SUCCESS("Tuned settings switched off: SHOPAI['RECOMMENDATIONS'] is in force."))
        else:
            self.stdout.write("No tuned settings were in force.")


def _effective(values: dict) -> dict:
    """Settings as they act: blend parts at weight 0 are the same as absent ones."""
    blend = {name: float(weight) for name, weight in values["BLEND"].items() if float(weight) > 0}
    return {**values, "BLEND": blend}


def format_report(report: dict, *, k: int) -> str:
    """One table: a row per recommender, a column per split (NDCG@k [95% interval]), then the mean."""
    names = list(next(iter(report.values()))["results"])
    lines = []
    for split, block in report.items():
        lines.append(
            f"\n{split} ({block['cases']} cases{', dev' if block['dev'] else ''}); best baseline: "
            f"{block['best_baseline']}"
        )
        width = max(map(len, names)) + 2
        for name in names:
            row = block["results"][name]
            versus = row["vs_best_baseline"]
            lines.append(
                f"  {name:<{width}}NDCG@{k} {row[f'NDCG@{k}']:.3f} [{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]"
                f"   vs best baseline {versus['diff']:+.3f} [{versus['ci'][0]:+.3f}, {versus['ci'][1]:+.3f}]"
            )
    lines.append("\nmean over splits (each split counts once)")
    best = np.mean([block["results"][block["best_baseline"]][f"NDCG@{k}"] for block in report.values()])
    for name in names:
        mean = np.mean([block["results"][name][f"NDCG@{k}"] for block in report.values()])
        lift = f"{mean / best - 1:+.1%}" if best > 0 else "n/a"
        lines.append(f"  {name:<{max(map(len, names)) + 2}}NDCG@{k} {mean:.3f}   vs best baselines {lift}")
    return "\n".join(lines)
