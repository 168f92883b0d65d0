"""Measure FAQ answering on a labelled set: accuracy per language, handoff, calibration."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shopai.services import evaluation


class Command(BaseCommand):
    help = (
        "Evaluate the assistant on FILE.csv (columns question,expected_question,language; an empty "
        "expected_question marks an out-of-scope question). --fit fits the confidence calibration and "
        "suggests a threshold (use a tuning set, never the evaluation set)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--threshold", type=float, default=None, help="Default: the configured one.")
        parser.add_argument("--fit", action="store_true", help="Fit calibration weights and a threshold.")
        parser.add_argument("--json", type=Path, default=None, help="Also write the report as JSON here.")

    def handle(self, *args, file: Path, threshold, fit, json, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            rows = evaluation.read_labelled(file)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        missing = evaluation.missing_expected(rows)
        if missing:
            raise CommandError(
                f"{len(missing)} expected questions are not published FAQs (import the FAQs first), e.g. {missing[:3]}"
            )
        self.stdout.write(f"Judging {len(rows)} questions…")
        judged = evaluation.judge(rows)
        if fit:
            try:
                weights = evaluation.fit_calibration(judged)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            judged = evaluation.judge(rows, weights=weights)
            threshold = evaluation.choose_threshold(judged) if threshold is None else threshold
            rounded = {key: round(value, 3) for key, value in weights.items()}
            self.stdout.write(self.style.SUCCESS(f'Fitted: SHOPAI["ASSISTANT"]["CALIBRATION"] = {rounded}'))
            self.stdout.write(self.style.SUCCESS(f"Suggested CONFIDENCE_THRESHOLD: {threshold}"))
        threshold = evaluation.current_threshold() if threshold is None else threshold
        result = evaluation.report(judged, threshold=threshold)
        self._print(result)
        evaluation.dump(result, json)

    def _print(self, result):
        out = self.stdout.write
        out(f"\nThreshold {result['threshold']:.2f}")
        out(f"{'language':<10}{'n':>5}{'top-1':>8}{'top-3':>8}{'answered':>10}{'right':>8}")
        for language, row in result["per_language"].items():
            out(
                f"{language:<10}{row['questions']:>5}{row['top1']:>8.3f}{row['top3']:>8.3f}"
                f"{row['answer_rate']:>10.3f}{row['answered_correctly']:>8.3f}"
            )
        oos = result["out_of_scope"]
        if oos["questions"]:
            out(f"out-of-scope: {oos['questions']} questions, handed off {oos['handed_off']:.3f}")
        for key in ("in_scope_answer_rate", "answer_precision", "handoff_precision", "handoff_recall"):
            value = result[key]
            out(f"{key.replace('_', ' ')}: {'n/a' if value is None else f'{value:.3f}'}")
        out("\ncalibration: confidence bucket → questions, mean confidence, observed accuracy")
        for row in result["calibration"]:
            mean, observed = row["mean_confidence"], row["observed_accuracy"]
            out(f"  {row['bucket']}  {row['questions']:>4}  {mean:.2f}  {observed:.2f}")
