"""Assistant admin: FAQs (publish, re-embed, suggested phrasings), the conversation log, unanswered questions."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shopai.assistant import faqs, unanswered
from shopai.assistant import phrasings as faq_phrasings
from shopai.models import FAQ, Exchange


@admin.register(FAQ)
class FAQAdmin(admin.ModelAdmin):
    list_display = ("question", "language", "is_published", "answered_count", "updated_at")
    list_filter = ("is_published", "language")
    search_fields = ("question", "answer")
    actions = ["publish", "unpublish", "re_embed", "accept_phrasings", "discard_phrasings"]
    readonly_fields = ("suggested_phrasings", "created_at", "updated_at")
    exclude = ("suggested_alternatives", "suggested_for")

    @admin.display(description=_("suggested phrasings (not used until accepted)"))
    def suggested_phrasings(self, obj):
        if not obj.suggested_alternatives:
            return "–"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((t,) for t in obj.suggested_alternatives))
        )

    @admin.action(description=_("Accept the suggested phrasings of selected FAQs"), permissions=["change"])
    def accept_phrasings(self, request, queryset):
        added = sum(faq_phrasings.accept(faq) for faq in queryset.exclude(suggested_alternatives=[]))
        self.message_user(request, ngettext("%d phrasing accepted.", "%d phrasings accepted.", added) % added)

    @admin.action(description=_("Discard the suggested phrasings of selected FAQs"), permissions=["change"])
    def discard_phrasings(self, request, queryset):
        dropped = sum(faq_phrasings.discard(faq) for faq in queryset.exclude(suggested_alternatives=[]))
        self.message_user(request, ngettext("%d phrasing discarded.", "%d phrasings discarded.", dropped) % dropped)

    @admin.display(description=_("times used"))
    def answered_count(self, obj):
        return obj.exchanges.count()

    @admin.action(description=_("Publish selected FAQs"), permissions=["change"])
    def publish(self, request, queryset):
        count = queryset.update(is_published=True)
        self.message_user(request, ngettext("%d FAQ published.", "%d FAQs published.", count) % count)

    @admin.action(description=_("Unpublish selected FAQs (the assistant stops using them)"), permissions=["change"])
    def unpublish(self, request, queryset):
        count = queryset.update(is_published=False)
        self.message_user(request, ngettext("%d FAQ unpublished.", "%d FAQs unpublished.", count) % count)

    @admin.action(description=_("Re-embed selected FAQs now"), permissions=["change"])
    def re_embed(self, request, queryset):
        result = faqs.embed_faqs(faq_ids=list(queryset.values_list("pk", flat=True)), force=True)
        self.message_user(
            request,
            ngettext("%d FAQ re-embedded.", "%d FAQs re-embedded.", result.embedded_faqs) % result.embedded_faqs,
            messages.SUCCESS,
        )


class HelpfulFilter(admin.SimpleListFilter):
    title = _("feedback")
    parameter_name = "feedback"

    def lookups(self, request, model_admin):
        return [("yes", _("helpful")), ("no", _("not helpful")), ("none", _("no feedback"))]

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
    search_fields = ("question", "reply", "=session_id")
    date_hierarchy = "created_at"
    # The full session id lets whoever holds it read an anonymous chat: the page shows its start only.
    exclude = ("question_embedding", "session_id")
    readonly_fields = ("session",)

    @admin.display(description=_("session id"))
    def session(self, obj) -> str:
        return f"{obj.session_id[:12]}…"
    list_select_related = ("faq",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("confidence"), ordering="confidence")
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
            request,
            format_html(gettext('See <a href="{}">unanswered questions, grouped</a> to find gaps in your FAQs.'), url),
        )
        return super().changelist_view(request, extra_context)

    def unanswered_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not request.user.has_perm("shopai.add_faq"):
                raise PermissionDenied  # turning questions into an FAQ adds one
            ids = [int(pk) for pk in request.POST.get("exchange_ids", "").split(",") if pk.strip().isdigit()]
            try:
                faq = unanswered.create_draft_faq(exchange_ids=ids)
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return redirect("admin:shopai_exchange_unanswered")
            self.message_user(
                request,
                gettext("Draft FAQ created (unpublished): write the answer, then publish it."),
                messages.SUCCESS,
            )
            return redirect("admin:shopai_faq_change", faq.pk)
        groups = unanswered.group_unanswered_questions()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Unanswered questions"),
            "groups": groups,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/shopai/unanswered.html", context)
