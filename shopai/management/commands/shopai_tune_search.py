"""Re-fit hybrid search's keyword weight to the shop's own searches and clicks (shopai.search.tuning)."""

from pathlib import Path

from django.core.management.base import BaseCommand
from tqdm import tqdm

from shopai.core.reports import write_json
from shopai.search.tuning import fit_keyword_weight

# Below this many clicked queries a fit is a guess; the command says so and recommends nothing.
FEW_QUERIES = 30


class Command(BaseCommand):
    help = (
        "Score SEARCH['KEYWORD_WEIGHT'] from 0 to 1 on the searches of the last --days that got a click (the "
        "clicked products count as relevant; MRR@10, queries weighted by their searches) and recommend a new "
        "weight only if it beats the one in force with a 95%% bootstrap interval above zero. Clicks favour "
        "the ranking in force, so a tie keeps it. Prints the SHOPAI setting to change; changes nothing itself."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="Searches of the last DAYS days (default 90).")
        parser.add_argument("--json", type=Path, default=None, help="Write the figures to this file.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, days: int, json: Path | None, no_progress: bool, **options):
        bar = None if no_progress else tqdm(unit="query", desc="Ranking again", file=self.stderr)

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.total = total
                bar.update(done - bar.n)

        fit = fit_keyword_weight(days=days, progress=progress)
        if bar is not None:
            bar.close()
        if fit.queries == 0:
            self.stdout.write(f"No search of the last {days} days got a click: nothing to fit (is tracking on?).")
            return
        self.stdout.write(f"{fit.queries} clicked queries ({fit.searches} searches with a click), last {days} days.")
        self.stdout.write("KEYWORD_WEIGHT  MRR@10")
        for weight, value in sorted(fit.mrr.items()):
            marks = (" in force" if weight == fit.current else "") + (" best" if weight == fit.best else "")
            self.stdout.write(f"  {weight:>4.1f}          {value:.3f}{marks}")
        low, high = fit.gain_ci
        self.stdout.write(f"Best minus in force: {fit.gain:+.3f} (95% interval {low:+.3f} to {high:+.3f}).")
        if fit.queries < FEW_QUERIES:
            self.stdout.write(
                self.style.WARNING(f"Fewer than {FEW_QUERIES} clicked queries: keep the weight in force.")
            )
        elif fit.recommend:
            self.stdout.write(
                self.style.SUCCESS(
                    f'Recommended: SHOPAI = {{"SEARCH": {{"KEYWORD_WEIGHT": {fit.best}}}}} (merged key).'
                )
            )
        else:
            self.stdout.write("No clear gain: keep the weight in force.")
        write_json(
            {
                "days": days,
                "queries": fit.queries,
                "searches": fit.searches,
                "in_force": fit.current,
                "best": fit.best,
                "mrr_at_10": {str(weight): round(value, 4) for weight, value in sorted(fit.mrr.items())},
                "gain": round(fit.gain, 4),
                "gain_ci95": [round(fit.gain_ci[0], 4), round(fit.gain_ci[1], 4)],
                "recommended": fit.best if fit.recommend and fit.queries >= FEW_QUERIES else None,
            },
            json,
        )
