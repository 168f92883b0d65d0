"""Measure the intent classifier on a labelled file (ours or an external set with a label mapping)."""

import csv
import json as json_module
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shopai.assistant import evaluation
from shopai.core.reports import write_json


class Command(BaseCommand):
    help = (
        "Intent accuracy on FILE.csv. Columns default to question,intent; for other data sets give "
        "--text-column/--label-column and --mapping JSON that maps their labels to shopai's intents; "
        "--parents scores fine intents (delivery_late) as their coarse ones (order_status), for sets "
        "labelled with coarse intents only."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--text-column", default="question")
        parser.add_argument("--label-column", default="intent")
        parser.add_argument("--mapping", type=Path, default=None)
        parser.add_argument("--json", type=Path, default=None)
        parser.add_argument(
            "--parents",
            action="store_true",
            help="Map predictions and labels to their coarse intents (PARENT_INTENTS) before scoring.",
        )

    def handle(
        self, *args, file: Path, text_column, label_column, mapping, json: Path | None, parents=False, **options
    ):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        labels = {}
        if mapping:
            labels = json_module.loads(mapping.read_text(encoding="utf-8"))
        with file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if {text_column, label_column} - set(reader.fieldnames or []):
                raise CommandError(f"{file} needs the columns {text_column!r} and {label_column!r}.")
            rows, unmapped = [], set()
            for row in reader:
                label = row[label_column].strip()
                if mapping:
                    if label not in labels:
                        unmapped.add(label)
                        continue
                    label = labels[label]
                rows.append((row[text_column].strip(), label))
        if unmapped:
            self.stderr.write(f"Skipped rows with unmapped labels: {sorted(unmapped)}")
        self.stdout.write(f"Classifying {len(rows)} texts…")
        result = evaluation.evaluate_intents(rows, parents=parents)
        scored = " (intents mapped to their parents)" if parents else ""
        self.stdout.write(
            f"accuracy {result['accuracy']:.3f} on {result['questions']} texts ({result['model']}){scored}"
        )
        for intent, accuracy in result["per_intent"].items():
            self.stdout.write(f"  {intent:<18}{accuracy:.3f}")
        for row in result["most_confused"]:
            self.stdout.write(f"  confused: {row['expected']} → {row['predicted']} ×{row['count']}")
        write_json(result, json)
