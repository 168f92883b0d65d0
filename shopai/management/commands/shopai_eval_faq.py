"""Measure what shoppers get from the assistant on a labelled set: right, wrong, handed over."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from tqdm import tqdm

from shopai.assistant import evaluation, faqs
from shopai.assistant.faq_import import FAQFileError, import_faqs
from shopai.core.reports import write_json
from shopai.models import FAQ


class Command(BaseCommand):
    help = (
        "Ask every question of FILE.csv (question,expected_question,language[,split]; an empty "
        "expected_question marks a question no FAQ answers) as POST /api/shopai/ask does, and report per "
        "language: top-1, answered and right, answered and wrong, handed over, out-of-scope handed over, "
        "and the calibration table. --faqs FAQ.csv evaluates against that FAQ instead of the shop's "
        "(loaded in a transaction that is rolled back). --fit fits the confidence calibration and a "
        "threshold on FILE (use a tuning or dev split, never the test set). Nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--faqs", type=Path, default=None, help="Evaluate against this FAQ file only.")
        parser.add_argument("--split", default=None, help="Only the rows of this split (dev, test).")
        parser.add_argument("--threshold", type=float, default=None, help="Default: the configured one.")
        parser.add_argument("--fit", action="store_true", help="Fit calibration weights and a threshold.")
        parser.add_argument("--json", type=Path, default=None, help="Also write the report as JSON here.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, faqs: Path | None, split, threshold, fit, json, **options):
        for path in (file, faqs):
            if path is not None and not path.is_file():
                raise CommandError(f"No such file: {path}")
        try:
            rows = evaluation.read_labelled(file, split=split)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not rows:
            raise CommandError(f"No questions in {file}{f' for split {split!r}' if split else ''}.")
        with transaction.atomic():
            if faqs is not None:
                self._load(faqs)
            result = self._evaluate(rows, threshold=threshold, fit=fit, quiet=options["no_progress"])
            transaction.set_rollback(True)
        self._print(result)
        write_json(result, json)

    def _load(self, path: Path) -> None:
        """Only this file's FAQs are published for the evaluation (the transaction is rolled back)."""
        FAQ.objects.update(is_published=False)
        try:
            faq_report = import_faqs(path)
        except FAQFileError as exc:
            raise CommandError(str(exc)) from exc
        if faq_report.rejected:
            rejected = faq_report.rejected
            raise CommandError(f"{path}: {len(rejected)} FAQs rejected, e.g. {rejected[:2]}")
        FAQ.objects.filter(pk__in=faq_report.faq_ids).update(is_published=True)
        faqs.embed_faqs(faq_ids=faq_report.faq_ids)
        self.stdout.write(f"{len(faq_report.faq_ids)} FAQs from {path.name}")

    def _evaluate(self, rows, *, threshold, fit: bool, quiet: bool) -> dict:
        missing = evaluation.missing_expected(rows)
        if missing:
            raise CommandError(
                f"{len(missing)} expected questions are not published FAQs (import the FAQs first), e.g. {missing[:3]}"
            )
        judged = self._judge(rows, quiet=quiet)
        fitted = {}
        if fit:
            try:
                weights = evaluation.fit_calibration(judged)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            threshold = evaluation.choose_threshold(judged, weights=weights) if threshold is None else threshold
            rounded = {language: {k: round(v, 3) for k, v in w.items()} for language, w in weights.items()}
            fitted = {"CALIBRATION": rounded, "CONFIDENCE_THRESHOLD": threshold}
            self.stdout.write(self.style.SUCCESS(f'Fitted: SHOPAI["ASSISTANT"]["CALIBRATION"] = {rounded}'))
            self.stdout.write(
                self.style.SUCCESS(f'Suggested SHOPAI["ASSISTANT"]["CONFIDENCE_THRESHOLD"] = {threshold}')
            )
        if threshold is not None or fitted:
            assistant = {**settings.SHOPAI.get("ASSISTANT", {}), **fitted}
            if threshold is not None:
                assistant["CONFIDENCE_THRESHOLD"] = threshold
            with override_settings(SHOPAI={**settings.SHOPAI, "ASSISTANT": assistant}):
                judged = self._judge(rows, quiet=quiet)
                threshold = evaluation.current_threshold()
        result = evaluation.report(judged, threshold=evaluation.current_threshold() if threshold is None else threshold)
        result["fitted"] = fitted
        result["weakest"] = [
            {
                "question": item.question,
                "expected": item.expected,
                "got": item.answered or item.top,
                "handoff": item.handoff,
            }
            for item in judged
            if item.in_scope and not item.right
        ][:15]
        return result

    def _judge(self, rows, *, quiet: bool):
        with tqdm(total=len(rows), unit="question", desc="Asking", disable=quiet) as bar:
            return evaluation.judge(rows, progress=bar.update)

    def _print(self, result):
        out = self.stdout.write
        out(f"\nThreshold {result['threshold']}")
        out(
            f"{'language':<10}{'n':>6}{'top-1':>8}{'right':>8}{'wrong':>8}{'handoff':>9}"
            f"{'out of scope':>14}{'handed off':>12}"
        )
        for language, row in result["per_language"].items():
            if not row["questions"]:
                continue
            oos = row.get("out_of_scope_handed_off")
            out(
                f"{language:<10}{row['questions']:>6}{row['top1']:>8.3f}{row['answered_right']:>8.3f}"
                f"{row['answered_wrong']:>8.3f}{row['handed_off']:>9.3f}{row['out_of_scope_questions']:>14}"
                f"{'' if oos is None else f'{oos:.3f}':>12}"
            )
        oos = result["out_of_scope"]
        if oos["questions"]:
            out(f"out of scope: {oos['questions']} questions, handed off {oos['handed_off']:.3f}")
        precision = result["answer_precision"]
        out(f"answers that were right: {'n/a' if precision is None else f'{precision:.3f}'}")
        out("\ncalibration: confidence bucket → questions, mean confidence, observed top-1")
        for row in result["calibration"]:
            mean, observed = row["mean_confidence"], row["observed_accuracy"]
            out(f"  {row['bucket']}  {row['questions']:>5}  {mean:.2f}  {observed:.2f}")
        if result["weakest"]:
            out("\nmissed (first 15):")
            for item in result["weakest"]:
                out(f"  {item['question'][:70]!r} → {item['got']!r}{' (handed off)' if item['handoff'] else ''}")
