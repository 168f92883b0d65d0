"""The customer-service inbox in admin: handed-over cases (oldest first), their transcript, staff replies;
conversations, read-only."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shopai.assistant import handoffs
from shopai.conf import shopai_settings
from shopai.models import CaseMessage, Conversation, Exchange, HandoffCase

REPLY_MAX_LENGTH = 4000


def _sla() -> timedelta:
    return timedelta(minutes=float(shopai_settings.section("ASSISTANT", "HANDOFF")["SLA_MINUTES"]))


def _when(moment) -> str:
    return localize(timezone.localtime(moment))


class OpenFilter(admin.SimpleListFilter):
    """Unresolved cases unless asked otherwise (or unless a status is picked)."""

    title = _("open or resolved")
    parameter_name = "open"

    def __init__(self, request, params, model, model_admin):
        # Picking a status (resolved included) shows it, whatever this filter's default.
        self.default = "all" if "status__exact" in params else "unresolved"
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [("unresolved", _("unresolved")), ("resolved", _("resolved")), ("all", _("all"))]

    def value(self):
        return super().value() or self.default

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "unresolved":
            return queryset.exclude(status=HandoffCase.Status.RESOLVED)
        if self.value() == "resolved":
            return queryset.filter(status=HandoffCase.Status.RESOLVED)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        return [("me", _("mine")), ("none", _("unassigned"))]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assignee=request.user)
        if self.value() == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset


class CaseForm(forms.ModelForm):
    reply = forms.CharField(
        label=_("Reply to the shopper"),
        required=False,
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text=_("Saving sends it: it appears in the shopper's chat, and the case then waits on the shopper."),
    )

    class Meta:
        model = HandoffCase
        fields = ("priority",)

    def clean_reply(self):
        text = self.cleaned_data.get("reply", "").strip()
        if text and self.instance.status == HandoffCase.Status.RESOLVED:
            raise forms.ValidationError(gettext("This case is resolved; the shopper no longer sees replies to it."))
        return text


@admin.register(HandoffCase)
class HandoffCaseAdmin(admin.ModelAdmin):
    form = CaseForm
    list_display = (
        "opened_at",
        "status",
        "priority",
        "reason",
        "language",
        "assignee",
        "waiting",
        "time_to_first_reply",
        "last_message",
    )
    list_filter = (OpenFilter, "status", "priority", "reason", "language", AssigneeFilter)
    list_select_related = ("assignee",)
    ordering = ("opened_at",)
    actions = ["assign_to_me", "resolve"]
    readonly_fields = (
        "status",
        "reason",
        "detail",
        "language",
        "assignee",
        "conversation",
        "opened_at",
        "first_staff_reply_at",
        "resolved_at",
        "transcript",
    )

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        questions = Exchange.objects.filter(conversation=OuterRef("conversation")).order_by("-created_at", "-id")
        replies = CaseMessage.objects.filter(case__conversation=OuterRef("conversation")).order_by("-id")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_question=Subquery(questions.values("question")[:1]),
                last_question_at=Subquery(questions.values("created_at")[:1]),
                last_reply=Subquery(replies.values("body")[:1]),
                last_reply_at=Subquery(replies.values("created_at")[:1]),
            )
        )

    def get_fieldsets(self, request, obj=None):
        # Only someone who may change the case, and while it is open, gets the reply box.
        can_reply = (
            obj is not None and obj.status != HandoffCase.Status.RESOLVED and self.has_change_permission(request, obj)
        )
        return [
            (
                None,
                {
                    "fields": (
                        ("status", "priority"),
                        ("reason", "detail"),
                        ("language", "assignee"),
                        "conversation",
                        ("opened_at", "first_staff_reply_at", "resolved_at"),
                    )
                },
            ),
            (_("Transcript"), {"fields": ("transcript", "reply") if can_reply else ("transcript",)}),
        ]

    # --- the list's columns ---------------------------------------------------------------

    @admin.display(description=_("waiting"), ordering="opened_at")
    def waiting(self, obj):
        if obj.status == HandoffCase.Status.RESOLVED:
            return "–"
        now = timezone.now()
        waited = timesince(obj.opened_at, now, depth=2)
        if obj.first_staff_reply_at is None and obj.opened_at < now - _sla():
            return format_html('{} <strong style="color:#ba2121">{}</strong>', waited, gettext("overdue"))
        return waited

    @admin.display(description=_("first reply after"), ordering="first_staff_reply_at")
    def time_to_first_reply(self, obj):
        if obj.first_staff_reply_at is None:
            return "–"
        return timesince(obj.opened_at, obj.first_staff_reply_at, depth=2)

    @admin.display(description=_("last message"))
    def last_message(self, obj):
        question_at, reply_at = getattr(obj, "last_question_at", None), getattr(obj, "last_reply_at", None)
        if reply_at is not None and (question_at is None or reply_at >= question_at):
            who, text = gettext("staff"), obj.last_reply
        elif question_at is not None:
            who, text = gettext("shopper"), obj.last_question
        else:
            return "–"
        return format_html("<em>{}:</em> {}", who, Truncator(text or "").chars(70))

    # --- the change page --------------------------------------------------------------------

    @admin.display(description=_("conversation"))
    def transcript(self, obj):
        """The shopper's turns (already redacted), the assistant's replies and staff replies, oldest first."""
        entries = []
        for exchange in Exchange.objects.filter(conversation_id=obj.conversation_id).order_by("created_at", "id"):
            who = gettext("shopper, handed over here") if exchange.pk == obj.exchange_id else gettext("shopper")
            entries.append((exchange.created_at, 0, "shopper", who, exchange.question))
            entries.append((exchange.created_at, 1, "assistant", gettext("assistant"), exchange.reply))
        replies = CaseMessage.objects.filter(case__conversation_id=obj.conversation_id).select_related("author")
        for message in replies:
            who = message.author.get_username() if message.author is not None else gettext("staff")
            entries.append((message.created_at, 2, "staff", who, message.body))
        if not entries:
            return gettext("Nothing was said in this conversation.")
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        rows = format_html_join(
            "",
            '<li class="shopai-transcript-{}" style="margin-bottom:.6em;list-style:none">'
            '<small class="quiet">{} · {}</small><div style="white-space:pre-wrap;max-width:60em">{}</div></li>',
            ((kind, who, _when(moment), text) for moment, _order, kind, who, text in entries),
        )
        return format_html('<ol class="shopai-transcript" style="margin:0;padding:0">{}</ol>', rows)

    def save_model(self, request, obj, form, change):
        # Only what the form edits: a full save would overwrite a status the assistant or another
        # colleague changed since the page was loaded.
        edited = [name for name in form.changed_data if name in {f.name for f in obj._meta.concrete_fields}]
        if edited:
            obj.save(update_fields=[*edited, "updated_at"])
        text = form.cleaned_data.get("reply", "")
        if text:
            try:
                handoffs.reply_to_case(case=obj, staff=request.user, body=text)
            except handoffs.CaseResolved:
                self.message_user(
                    request,
                    gettext("This case was resolved meanwhile, so the reply was not sent."),
                    messages.ERROR,
                )
                return
            self.message_user(request, gettext("Reply sent; the shopper sees it in their chat."), messages.SUCCESS)

    def response_change(self, request, obj):
        if request.POST.get("reply", "").strip() and "_continue" not in request.POST:
            return HttpResponseRedirect(request.path)  # back to the transcript, the reply now in it
        return super().response_change(request, obj)

    def changelist_view(self, request, extra_context=None):
        counts = handoffs.case_counts()
        context = {
            "shopai_case_counts": {
                "by_status": [
                    (label, counts["by_status"].get(value, 0)) for value, label in HandoffCase.Status.choices
                ],
                "overdue": counts["overdue"],
                "sla_minutes": round(_sla().total_seconds() / 60),
                "median_first_reply_minutes": counts["median_first_reply_minutes"],
            },
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    # --- actions -------------------------------------------------------------------------------

    @admin.action(description=_("Assign the selected cases to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        cases = list(queryset.exclude(status=HandoffCase.Status.RESOLVED))
        for case in cases:
            handoffs.assign_case(case=case, staff=request.user)
        self.message_user(
            request, ngettext("%d case assigned to you.", "%d cases assigned to you.", len(cases)) % len(cases)
        )

    @admin.action(description=_("Resolve the selected cases"), permissions=["change"])
    def resolve(self, request, queryset):
        cases = list(queryset.exclude(status=HandoffCase.Status.RESOLVED))
        for case in cases:
            handoffs.resolve_case(case=case, staff=request.user)
        self.message_user(
            request,
            ngettext(
                "%d case resolved; the assistant answers in its chat again.",
                "%d cases resolved; the assistant answers in their chats again.",
                len(cases),
            )
            % len(cases),
            messages.SUCCESS,
        )


class ExchangeInline(admin.TabularInline):
    """The conversation's turns, read-only (the shopper's words were redacted before they were stored)."""

    model = Exchange
    fields = ("created_at", "question", "reply", "intent", "handoff", "handoff_reason")
    readonly_fields = fields
    ordering = ("created_at", "id")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-only: who chatted, in which language, and whether staff hold the chat. The full session id
    lets whoever holds it read the chat, so admin shows only its start."""

    list_display = ("session_prefix", "user", "language", "handoff_status", "last_activity_at")
    list_filter = ("handoff_status", "language")
    list_select_related = ("user",)
    date_hierarchy = "last_activity_at"
    fields = (
        "session_prefix",
        "user",
        "language",
        "handoff_status",
        "created_at",
        "last_activity_at",
        "expires_at",
        "case_links",
    )
    readonly_fields = fields
    inlines = [ExchangeInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("session id"), ordering="session_id")
    def session_prefix(self, obj):
        return f"{obj}…"  # as much as the page title shows

    @admin.display(description=_("cases"))
    def case_links(self, obj):
        cases = list(obj.cases.order_by("opened_at"))
        if not cases:
            return "–"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            (
                (reverse("admin:shopai_handoffcase_change", args=[case.pk]), str(case), case.get_status_display())
                for case in cases
            ),
        )
