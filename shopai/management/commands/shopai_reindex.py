"""Embed products in this process, with a progress bar and a summary."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shopai.adapters import get_product_adapter
from shopai.backends import get_embedding_backend
from shopai.conf import shopai_settings
from shopai.core import vector_spaces
from shopai.models import EmbeddingSpace, FAQEmbedding, ProductEmbedding
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
        parser.add_argument(
            "--prune",
            action="store_true",
            help="After a model switch: delete the vectors and HNSW indexes of embedding models no longer "
            "configured in SHOPAI['EMBEDDINGS'] (refused until the default model has embedded every product).",
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
        if options["prune"]:
            self._prune()
            return
        backend = get_embedding_backend()
        space = vector_spaces.register(backend, force=True)  # repairs a dropped or interrupted index too
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
        serving = vector_spaces.serving_backend()
        if serving.name != backend.name:
            self.stdout.write(
                self.style.WARNING(
                    f"Search still serves {serving.name}: {backend.name} has not embedded every product yet."
                )
            )
        else:
            self.stdout.write(f"Search serves {backend.name} ({space.dimensions}-d).")
        if report.failed:
            raise CommandError(
                f"{report.failed} products failed; see the log above. First failed ids: {report.failed_pks[:20]}"
            )

    def _prune(self):
        configured = {get_embedding_backend(alias).name for alias in shopai_settings.EMBEDDINGS}
        default = get_embedding_backend().name
        if not EmbeddingSpace.objects.filter(model_name=default, completed_at__isnull=False).exists():
            raise CommandError(
                f"{default} has not embedded every product yet: run `shopai_reindex` first (pruning now would "
                "leave search without the vectors it serves)."
            )
        stored = set(ProductEmbedding.objects.values_list("model_name", flat=True).distinct())
        stored |= set(FAQEmbedding.objects.values_list("model_name", flat=True).distinct())
        stored |= set(EmbeddingSpace.objects.values_list("model_name", flat=True))
        gone = sorted(stored - configured)
        if not gone:
            self.stdout.write("Nothing to prune: every stored model is configured.")
            return
        for model_name in gone:
            products, _ = ProductEmbedding.objects.filter(model_name=model_name).delete()
            faqs, _ = FAQEmbedding.objects.filter(model_name=model_name).delete()
            vector_spaces.drop_indexes(model_name)
            EmbeddingSpace.objects.filter(model_name=model_name).delete()
            self.stdout.write(f"Pruned {model_name}: {products} product and {faqs} FAQ vectors, its indexes.")
