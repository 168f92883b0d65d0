"""Measure the grounding guard on labelled drafts: does it flag the drafts that invent facts?"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shopai.studio.evaluation import SPLITS, DraftFileError, error_row, evaluate, products_by_sku, read_drafts


def _one_line(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Command(BaseCommand):
    help = (
        "Precision, recall and F1 of the grounding guard at telling drafts that invent facts from faithful "
        "ones, on FILE.csv (columns sku,language,field,draft,label,invented[,split]; label faithful|invented), "
        "overall and per language, against the shop's catalogue."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--split", choices=SPLITS, default="all", help="Rows of this split (column 'split').")
        parser.add_argument("--json", type=Path, default=None, help="Also write the figures and errors here.")
        parser.add_argument("--limit", type=int, default=10, help="List at most this many errors of each kind.")

    def handle(self, *args, file: Path, split: str, json: Path | None, limit: int, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}. Give a CSV of labelled drafts, e.g. eval/grounding_drafts.csv.")
        try:
            drafts, rejected = read_drafts(file, split)
        except DraftFileError as exc:
            raise CommandError(str(exc)) from exc
        for line, reason in rejected:
            self.stderr.write(f"line {line}: skipped: {reason}")
        if not drafts:
            raise CommandError(f"{file.name} has no usable drafts in split {split!r}.")
        products = products_by_sku({d.sku for d in drafts})
        unknown = sorted({d.sku for d in drafts} - set(products))
        if unknown:
            skipped = sum(1 for d in drafts if d.sku not in products)
            self.stderr.write(
                f"{len(unknown)} sku(s) not in the catalogue, {skipped} draft(s) skipped: {', '.join(unknown[:20])}"
                + (" …" if len(unknown) > 20 else "")
            )
        judged, scores = evaluate(drafts, products)
        if not judged:
            raise CommandError("None of the drafts' skus is in the catalogue; load the products first.")

        self.stdout.write(f"split {split}: {len(judged)} drafts over {len({j.draft.sku for j in judged})} products")
        header = f"{'':<9}{'drafts':>7}{'inv.':>6}{'P':>8}{'R':>8}{'F1':>8}{'TP':>5}{'FP':>5}{'FN':>5}{'TN':>5}"
        self.stdout.write(header + f"{'phrases caught':>18}{'exact':>8}")
        for name, row in scores.items():
            self.stdout.write(
                f"{name:<9}{row['drafts']:>7}{row['invented']:>6}{row['precision']:>8.3f}{row['recall']:>8.3f}"
                f"{row['f1']:>8.3f}{row['tp']:>5}{row['fp']:>5}{row['fn']:>5}{row['tn']:>5}"
                f"{row['phrases_caught']:>8}/{row['invented_phrases']:<3} {row['phrase_catch_rate']:>5.0%}"
                f"{row['phrase_exact_rate']:>8.0%}"
            )
        false_positives = [j for j in judged if j.flagged and not j.draft.invented]
        false_negatives = [j for j in judged if j.draft.invented and not j.flagged]
        if false_positives:
            self.stdout.write(f"false positives ({len(false_positives)}; faithful drafts the guard flagged):")
            for j in false_positives[:limit]:
                first = j.flags[0]
                self.stdout.write(
                    f"  line {j.draft.line} {j.draft.sku} [{j.draft.language}] {_one_line(j.draft.text, 60)}\n"
                    f"      flag: {first.reason}" + (f" (+{len(j.flags) - 1} more)" if len(j.flags) > 1 else "")
                )
        if false_negatives:
            self.stdout.write(f"false negatives ({len(false_negatives)}; invented drafts the guard passed):")
            for j in false_negatives[:limit]:
                self.stdout.write(
                    f"  line {j.draft.line} {j.draft.sku} [{j.draft.language}] missed {' | '.join(j.draft.phrases)}:"
                    f" {_one_line(j.draft.text, 60)}"
                )
        if json:
            payload = {
                "file": str(file),
                "split": split,
                "unknown_skus": unknown,
                "scores": scores,
                "false_positives": [error_row(j) for j in false_positives],
                "false_negatives": [error_row(j) for j in false_negatives],
            }
            json.parent.mkdir(parents=True, exist_ok=True)
            json.write_text(_dumps(payload), encoding="utf-8")
            self.stdout.write(f"wrote {json}")


def _dumps(payload: dict) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False)
