"""Search admin: the product index, and the mixin that adds shopai to the host's product admin."""

from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shopai.backends import get_embedding_backend
from shopai.core import counters as stats
from shopai.core.permissions import can_change_products
from shopai.models import ProductEmbedding
from shopai.search import embeddings


@admin.register(ProductEmbedding)
class ProductEmbeddingAdmin(admin.ModelAdmin):
    list_display = ("object_pk", "content_type", "model_name", "is_stale", "updated_at", "short_hash")
    list_filter = ("model_name", "is_stale", "content_type")
    search_fields = ("object_pk", "content_hash")
    readonly_fields = (
        "content_type",
        "object_pk",
        "model_name",
        "content_hash",
        "is_stale",
        "created_at",
        "updated_at",
    )
    exclude = ("embedding",)
    actions = ["re_embed"]
    list_select_related = ("content_type",)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("hash"))
    def short_hash(self, obj):
        return obj.content_hash[:12]

    def changelist_view(self, request, extra_context=None):
        counters = stats.read()
        extra_context = {**(extra_context or {}), "title": gettext("Product embeddings")}
        self.message_user(
            request,
            gettext(
                "Since the counters were last reset: {texts_embedded} texts embedded by the model, "
                "{unchanged} unchanged saves skipped, {enqueue_failed} not queued (broker down), "
                "{failed} failed."
            ).format(**counters),
            messages.INFO,
        )
        return super().changelist_view(request, extra_context)

    def has_reembed_permission(self, request, obj=None):
        return can_change_products(request.user)

    @admin.action(description=_("Re-embed the selected products now (in the background)"), permissions=["reembed"])
    def re_embed(self, request, queryset):
        pks = list(queryset.values_list("object_pk", flat=True))
        failed = embeddings.enqueue_product_embedding(product_pks=pks, force=True)
        report_queue(self, request, len(pks) - failed, failed)


def report_queue(model_admin, request, queued, failed):
    if queued:
        model_admin.message_user(
            request,
            ngettext("%d product queued for embedding.", "%d products queued for embedding.", queued) % queued,
            messages.SUCCESS,
        )
    if failed:
        model_admin.message_user(
            request,
            ngettext(
                "%d product could not be queued (broker unreachable); the periodic sweep will embed it.",
                "%d products could not be queued (broker unreachable); the periodic sweep will embed them.",
                failed,
            )
            % failed,
            messages.WARNING,
        )


class SearchProductAdminMixin:
    """The search part of ``shopai.admin.ShopAIProductAdminMixin``: index status and re-embedding."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        vectors = ProductEmbedding.objects.filter(
            content_type=ContentType.objects.get_for_model(self.model, for_concrete_model=False),
            model_name=get_embedding_backend().name,
            object_pk=Cast(OuterRef("pk"), output_field=CharField()),
        )
        return queryset.annotate(_shopai_embedded=Exists(vectors), _shopai_stale=Exists(vectors.filter(is_stale=True)))

    @admin.display(description=_("search index"))
    def shopai_embedding_status(self, obj):
        if getattr(obj, "_shopai_stale", False):
            return gettext("stale")
        return gettext("indexed") if getattr(obj, "_shopai_embedded", False) else gettext("pending")

    def shopai_re_embed(self, request, queryset):
        pks = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        failed = embeddings.enqueue_product_embedding(product_pks=pks, force=True)
        report_queue(self, request, len(pks) - failed, failed)

    shopai_re_embed.short_description = _("Re-embed for search (shopai)")
