"""Embed products in this process, with a progress bar and a summary."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.adapters import get_product_adapter
from shopai.backends import get_embedding_backend
from shopai.search import embeddings


class Command(BaseCommand):
    help = (
        "Embed products that are missing, stale or whose text changed (no model call for the rest). "
        "With --all, re-embed every product: this calls the model once per product."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Re-embed every product, even unchanged ones.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Products per model call (default: SHOPAI EMBEDDING_BATCH_SIZE, 256).",
        )
        parser.add_argument(
            "--keywords",
            action="store_true",
            help="Only rewrite the keyword index of every product (no model call): after changing "
            'SHOPAI["SEARCH"]["TEXT_SEARCH_CONFIG"] or PRODUCT_TEXT_FIELDS.',
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, **options):
        batch_size = options["batch_size"]
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be a positive number, e.g. --batch-size 64.")
        if options["keywords"]:
            if options["all"]:
                raise CommandError("--keywords rewrites only the keyword index; --all re-embeds everything: pick one.")
            rewritten = embeddings.rebuild_keywords()
            self.stdout.write(self.style.SUCCESS(f"Done: the keyword index of {rewritten} products rewritten."))
            return
        backend = get_embedding_backend()
        total = get_product_adapter().get_queryset().count()
        if options["all"]:
            self.stdout.write(f"Re-embedding all {total} products with {backend.name}: one model call per product.")
            todo = total
        else:
            todo = None  # known after the scan below
        self.stdout.write("Loading the embedding model…")
        backend.load()
        with tqdm(total=todo, unit="product", disable=options["no_progress"], desc="Embedding") as bar:
            report = embeddings.reindex_products(everything=options["all"], batch_size=batch_size, progress=bar.update)
        unchanged = report.unchanged + (0 if options["all"] else total - report.processed)
        rate = report.embedded / report.seconds if report.seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {report.embedded} embedded, {unchanged} unchanged, {report.failed} failed "
                f"in {report.seconds:.1f}s ({rate:.1f} products/s embedded)."
            )
        )
        if report.failed:
            raise CommandError(
                f"{report.failed} products failed; see the log above. First failed ids: {report.failed_pks[:20]}"
            )
