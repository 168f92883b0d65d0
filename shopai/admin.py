"""Admin for shopai's models, and the mixin that adds shopai to the host's product admin."""

from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from shopai.assistant import faqs, unanswered
from shopai.assistant import phrasings as faq_phrasings
from shopai.backends import get_embedding_backend
from shopai.core import counters as stats
from shopai.models import FAQ, Exchange, ProductEmbedding, RecommenderSettings
from shopai.recommendations import tuned_settings as rec_settings
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

    @admin.display(description="hash")
    def short_hash(self, obj):
        return obj.content_hash[:12]

    def changelist_view(self, request, extra_context=None):
        counters = stats.read()
        extra_context = {**(extra_context or {}), "title": "Product embeddings"}
        self.message_user(
            request,
            "Since the counters were last reset: {texts_embedded} texts embedded by the model, "
            "{unchanged} unchanged saves skipped, {enqueue_failed} not queued (broker down), "
            "{failed} failed.".format(**counters),
            messages.INFO,
        )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Re-embed the selected products now (in the background)")
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


class ShopAIProductAdminMixin:
    """Mix into the host's ProductAdmin: an embedding-status column and a re-embed action.

    ``class ProductAdmin(ShopAIProductAdminMixin, admin.ModelAdmin): ...`` and add
    ``"shopai_embedding_status"`` to ``list_display``.
    """

    change_form_template = "admin/shopai/product_change_form.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        for name in ("shopai_re_embed", "shopai_generate_copy"):
            action = getattr(ShopAIProductAdminMixin, name)
            actions[name] = (action, name, action.short_description)
        return actions

    def get_urls(self):
        from shopai.admin_studio import product_copy_view

        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/shopai-copy/",
                self.admin_site.admin_view(lambda request, object_id: product_copy_view(self, request, object_id)),
                name="{}_{}_shopai_copy".format(*info),
            ),
            *super().get_urls(),
        ]

    def shopai_generate_copy(self, request, queryset):
        from shopai.admin_studio import generate_copy_action

        return generate_copy_action(self, request, queryset)

    shopai_generate_copy.short_description = "Generate copy with AI… (shopai)"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        vectors = ProductEmbedding.objects.filter(
            content_type=ContentType.objects.get_for_model(self.model, for_concrete_model=False),
            model_name=get_embedding_backend().name,
            object_pk=Cast(OuterRef("pk"), output_field=CharField()),
        )
        return queryset.annotate(_shopai_embedded=Exists(vectors), _shopai_stale=Exists(vectors.filter(is_stale=True)))

    @admin.display(description="search index")
    def shopai_embedding_status(self, obj):
        if getattr(obj, "_shopai_stale", False):
            return "stale"
        return "indexed" if getattr(obj, "_shopai_embedded", False) else "pending"

    def shopai_re_embed(self, request, queryset):
        pks = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        failed = embeddings.enqueue_product_embedding(product_pks=pks, force=True)
        report_queue(self, request, len(pks) - failed, failed)

    shopai_re_embed.short_description = "Re-embed for search (shopai)"


@admin.register(FAQ)
class FAQAdmin(admin.ModelAdmin):
    list_display = ("question", "language", "is_published", "answered_count", "updated_at")
    list_filter = ("is_published", "language")
    search_fields = ("question", "answer")
    actions = ["publish", "unpublish", "re_embed", "accept_phrasings", "discard_phrasings"]
    readonly_fields = ("suggested_phrasings", "created_at", "updated_at")
    exclude = ("suggested_alternatives", "suggested_for")

    @admin.display(description="suggested phrasings (not used until accepted)")
    def suggested_phrasings(self, obj):
        if not obj.suggested_alternatives:
            return "–"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((t,) for t in obj.suggested_alternatives))
        )

    @admin.action(description="Accept the suggested phrasings of selected FAQs", permissions=["change"])
    def accept_phrasings(self, request, queryset):
        added = sum(faq_phrasings.accept(faq) for faq in queryset.exclude(suggested_alternatives=[]))
        self.message_user(request, ngettext("%d phrasing accepted.", "%d phrasings accepted.", added) % added)

    @admin.action(description="Discard the suggested phrasings of selected FAQs", permissions=["change"])
    def discard_phrasings(self, request, queryset):
        dropped = sum(faq_phrasings.discard(faq) for faq in queryset.exclude(suggested_alternatives=[]))
        self.message_user(request, ngettext("%d phrasing discarded.", "%d phrasings discarded.", dropped) % dropped)

    @admin.display(description="times used")
    def answered_count(self, obj):
        return obj.exchanges.count()

    @admin.action(description="Publish selected FAQs")
    def publish(self, request, queryset):
        count = queryset.update(is_published=True)
        self.message_user(request, ngettext("%d FAQ published.", "%d FAQs published.", count) % count)

    @admin.action(description="Unpublish selected FAQs (the assistant stops using them)")
    def unpublish(self, request, queryset):
        count = queryset.update(is_published=False)
        self.message_user(request, ngettext("%d FAQ unpublished.", "%d FAQs unpublished.", count) % count)

    @admin.action(description="Re-embed selected FAQs now")
    def re_embed(self, request, queryset):
        result = faqs.embed_faqs(faq_ids=list(queryset.values_list("pk", flat=True)), force=True)
        self.message_user(
            request,
            ngettext("%d FAQ re-embedded.", "%d FAQs re-embedded.", result.embedded_faqs) % result.embedded_faqs,
            messages.SUCCESS,
        )


class HelpfulFilter(admin.SimpleListFilter):
    title = "feedback"
    parameter_name = "feedback"

    def lookups(self, request, model_admin):
        return [("yes", "helpful"), ("no", "not helpful"), ("none", "no feedback")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "yes":
            return queryset.filter(helpful=True)
        if value == "no":
            return queryset.filter(helpful=False)
        if value == "none":
            return queryset.filter(helpful__isnull=True)
        return queryset


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "question", "intent", "confidence_pct", "sentiment_label", "handoff", "helpful")
    list_filter = ("handoff", "intent", "language", "sentiment_label", HelpfulFilter, "handoff_reason")
    search_fields = ("question", "reply", "session_id")
    date_hierarchy = "created_at"
    exclude = ("question_embedding",)
    list_select_related = ("faq",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="confidence", ordering="confidence")
    def confidence_pct(self, obj):
        return f"{obj.confidence:.0%}"

    def get_urls(self):
        return [
            path("unanswered/", self.admin_site.admin_view(self.unanswered_view), name="shopai_exchange_unanswered"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        url = reverse("admin:shopai_exchange_unanswered")
        self.message_user(
            request, format_html('See <a href="{}">unanswered questions, grouped</a> to find gaps in your FAQs.', url)
        )
        return super().changelist_view(request, extra_context)

    def unanswered_view(self, request):
        if request.method == "POST":
            ids = [int(pk) for pk in request.POST.get("exchange_ids", "").split(",") if pk.strip().isdigit()]
            try:
                faq = unanswered.create_draft_faq(exchange_ids=ids)
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return redirect("admin:shopai_exchange_unanswered")
            self.message_user(
                request, "Draft FAQ created (unpublished): write the answer, then publish it.", messages.SUCCESS
            )
            return redirect("admin:shopai_faq_change", faq.pk)
        groups = unanswered.group_unanswered_questions()
        context = {
            **self.admin_site.each_context(request),
            "title": "Unanswered questions",
            "groups": groups,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/shopai/unanswered.html", context)


from shopai import admin_studio  # noqa: E402,F401  (registers the marketing studio's admin)


@admin.register(RecommenderSettings)
class RecommenderSettingsAdmin(admin.ModelAdmin):
    """Tuned recommendation settings: see what was measured, switch a row on, or go back to the file."""

    list_display = ("created_at", "active", "blend", "own_purchases_first", "half_lives", "source")
    list_filter = ("active",)
    actions = ["activate", "deactivate"]
    readonly_fields = ("values", "active", "activated_at", "source", "created_by", "created_at", "measured")
    exclude = ("report",)

    def has_add_permission(self, request):
        return False  # rows come from shopai_tune_recommendations, with what it measured

    @admin.display(description="blend")
    def blend(self, obj):
        weights = obj.values.get("BLEND") or {}
        return ", ".join(f"{name} {weight:g}" for name, weight in weights.items() if weight) or "–"

    @admin.display(description="own purchases first", boolean=True)
    def own_purchases_first(self, obj):
        return obj.values.get("BUY_AGAIN_FIRST")

    @admin.display(description="half-lives (own, trending)")
    def half_lives(self, obj):
        own = obj.values.get("REPURCHASE_HALF_LIFE_DAYS", "–")
        return f"{'no decay' if own is None else own} / {obj.values.get('TRENDING_HALF_LIFE_DAYS', '–')} days"

    @admin.display(description="measured (NDCG@k, 95% interval)")
    def measured(self, obj):
        splits = (obj.report or {}).get("splits") or {}
        if not splits:
            return "–"
        names = list(next(iter(splits.values()))["results"])
        header = format_html_join("", "<th>{}</th>", ((name,) for name in names))
        rows = format_html_join(
            "",
            "<tr><td>{}</td>{}</tr>",
            (
                (
                    f"{split} ({block['cases']} cases{', dev' if block['dev'] else ''})",
                    format_html_join(
                        "",
                        "<td>{} [{}, {}]</td>",
                        (
                            (
                                f"{block['results'][n]['NDCG']:.3f}",
                                f"{block['results'][n]['ci'][0]:.3f}",
                                f"{block['results'][n]['ci'][1]:.3f}",
                            )
                            for n in names
                        ),
                    ),
                )
                for split, block in splits.items()
            ),
        )
        return format_html("<table><tr><th>split</th>{}</tr>{}</table>", header, rows)

    @admin.action(description="Use the selected settings for recommendations", permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one row to put in force.", messages.ERROR)
            return
        row = queryset.get()
        rec_settings.put_in_force(row)
        self.message_user(request, f"Recommendations now use {row}.", messages.SUCCESS)

    @admin.action(description="Stop using tuned settings (back to SHOPAI['RECOMMENDATIONS'])", permissions=["change"])
    def deactivate(self, request, queryset):
        if queryset.filter(active=True).exists():
            rec_settings.back_to_settings_file()
        self.message_user(request, "Recommendations use the settings file again.", messages.SUCCESS)
