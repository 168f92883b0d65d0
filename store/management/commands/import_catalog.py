"""Import products from CSV: sku,name,category,price,description[,stock,language,attributes]."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from store.catalog_import import CatalogFormatError, import_catalog


class Command(BaseCommand):
    help = (
        "Create or update products by sku from a CSV file (columns sku,name,category,price,description; "
        "optional stock,language,attributes; category paths like Men/Tops/Hoodies), or from an "
        "invoice-line export (InvoiceNo,StockCode,Description,UnitPrice, e.g. UCI Online Retail: one "
        "product per stock code). Bad rows are rejected with their line number; the rest are imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            with (
                file.open(encoding="utf-8-sig", newline="") as handle,
                tqdm(unit="row", desc="Importing", disable=options["no_progress"]) as bar,
            ):
                report = import_catalog(handle, progress=bar.update)
        except CatalogFormatError as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text: {exc}") from exc
        for line, reason in report.rejected:
            self.stderr.write(f"line {line}: rejected: {reason}")
        summary = (
            f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
            f"{len(report.rejected)} rejected."
        )
        self.stdout.write(self.style.WARNING(summary) if report.rejected else self.style.SUCCESS(summary))
