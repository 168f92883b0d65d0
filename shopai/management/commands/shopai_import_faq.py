"""Import FAQs from CSV or JSON and embed them in this process."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.assistant import faqs
from shopai.assistant.faq_import import FAQFileError, import_faqs


class Command(BaseCommand):
    help = (
        "Create or update FAQs from FILE.csv (columns question,answer,language; optional tags,alternatives "
        "separated by |) or FILE.json (a list of objects with those keys), then embed them."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--no-embed", action="store_true", help="Leave embedding to the Celery worker.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            with tqdm(unit="faq", desc="Importing", disable=options["no_progress"]) as bar:
                report = import_faqs(file, progress=bar.update)
        except FAQFileError as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text: {exc}") from exc
        for where, reason in report.rejected:
            self.stderr.write(f"{where}: rejected: {reason}")
        self.stdout.write(
            f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
            f"{len(report.rejected)} rejected."
        )
        if options["no_embed"] or not report.faq_ids:
            return
        self.stdout.write("Embedding FAQs…")
        embedded = texts = 0
        ids = report.faq_ids
        with tqdm(total=len(ids), unit="faq", desc="Embedding", disable=options["no_progress"]) as bar:
            for start in range(0, len(ids), 32):
                result = faqs.embed_faqs(faq_ids=ids[start : start + 32])
                embedded += result.embedded_faqs
                texts += result.texts_embedded
                bar.update(len(ids[start : start + 32]))
        self.stdout.write(self.style.SUCCESS(f"Embedded {embedded} FAQs ({texts} texts); the rest were unchanged."))
