"""Measure product search (keyword, vector, hybrid, and a BM25 reference) on graded relevance judgements."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.core.reports import write_json
from shopai.search.evaluation import REFERENCE, JudgementFileError, evaluate, read_judgements


class Command(BaseCommand):
    help = (
        "nDCG@k of keyword, vector and hybrid search, asked through the search API's view, and of an "
        "in-memory BM25 reference over the same texts, on QRELS.csv (columns query,sku,rating; rating 0-3, "
        "unjudged products count as 0; optional split column), overall and per query language."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--split", default=None, help="Only the rows whose split column is this (dev, test).")
        parser.add_argument("--no-reference", action="store_true", help="Skip the in-memory BM25 reference.")
        parser.add_argument("--worst", type=int, default=5, help="List this many weakest queries of hybrid search.")
        parser.add_argument("--json", type=Path, default=None)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, k: int, split: str | None, worst: int, json: Path | None, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        if k < 1:
            raise CommandError("--k must be 1 or more.")
        try:
            judgements = read_judgements(file, split=split)
            with tqdm(total=len(judgements.by_query), unit="query", disable=options["no_progress"]) as bar:
                result = evaluate(judgements, k=k, progress=bar.update, reference=not options["no_reference"])
        except JudgementFileError as exc:
            raise CommandError(str(exc)) from exc
        for line, reason in judgements.rejected:
            self.stderr.write(f"line {line}: rejected: {reason}")
        if judgements.unknown_skus:
            self.stderr.write(f"skus not in the catalogue, ignored: {', '.join(sorted(judgements.unknown_skus))}")
        languages = result["queries_by_language"]
        self.stdout.write(
            f"{result['queries']} queries ({languages['en']} en, {languages['zh']} zh"
            f"{', split ' + split if split else ''}), model {result['model']}"
            + (
                f"; {result['queries_without_relevant']} left out: no product rated 1 or more"
                if result["queries_without_relevant"]
                else ""
            )
        )
        columns = [f"nDCG@{k}", f"nDCG@{k} en", f"nDCG@{k} zh", f"R@{k}"]
        self.stdout.write(f"{'system':<12}" + "".join(f"{c:>14}" for c in columns))
        for system in result["results"]:
            row = result["results"][system]
            label = f"{system} (ref)" if system == REFERENCE else system
            self.stdout.write(f"{label:<12}" + "".join(f"{row[c]:>14.3f}" for c in columns))
        weakest = sorted(result["per_query"]["hybrid"].items(), key=lambda item: item[1])[:worst]
        for query, value in weakest:
            self.stdout.write(f"  weak (hybrid): {value:.3f}  {query}")
        write_json(result, json)
