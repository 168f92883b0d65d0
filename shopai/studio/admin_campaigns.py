"""Campaigns in admin: review with the grounding guard's flags, an A/B variant, approve, send, results.

Editing needs the change permission on campaigns; sending and exporting recipients (their e-mail
addresses) need ``shopai.send_campaign``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shopai.models import Campaign, CampaignRecipient, GeneratedCopy, MarketingConsent
from shopai.studio import campaigns, experiment_results
from shopai.studio.admin import guard_summary


class CampaignForm(forms.ModelForm):
    variant_text = forms.CharField(
        label=_("new A/B variant"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 90}),
        help_text=_("Another subject or body to test against this one; recipients are split at random."),
    )
    variant_field = forms.ChoiceField(
        label=_("variant of"), required=False, choices=[("subject", _("subject")), ("body", _("body"))]
    )

    class Meta:
        model = Campaign
        fields = ("subject", "body", "override_reason")
        widgets = {"body": forms.Textarea(attrs={"rows": 10, "cols": 90})}


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("subject", "segment", "state", "guard", "sent", "created_at")
    list_filter = ("status", "segment")
    readonly_fields = ("segment", "state", "guard", "preview", "variants", "delivery", "results", "sent_at")
    fields = (
        "segment",
        "state",
        "guard",
        "subject",
        "body",
        "override_reason",
        "variant_field",
        "variant_text",
        "variants",
        "preview",
        "delivery",
        "results",
        "sent_at",
    )
    actions = ["approve", "send", "export_recipients"]

    def has_add_permission(self, request):
        return False  # campaigns are written for a segment (Segments → "Write an email campaign")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.send_started_at:  # what went out stays as it went out
            fields += ["subject", "body", "override_reason"]
        return fields

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.send_started_at:
            fields = [name for name in fields if name not in ("variant_field", "variant_text")]
        return fields

    @admin.display(description=_("status"), ordering="status")
    def state(self, obj):
        if obj.sent_at:
            return gettext("sent")
        if obj.send_started_at:
            return gettext("sending")
        return obj.get_status_display()

    def has_send_permission(self, request, obj=None):
        return request.user.has_perm("shopai.send_campaign")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("segment", "experiment")
            .annotate(_sent=Count("recipients", filter=Q(recipients__status=CampaignRecipient.Status.SENT)))
        )

    @admin.display(description=_("mails sent"), ordering="_sent")
    def sent(self, obj):
        return getattr(obj, "_sent", 0)

    @admin.display(description=_("grounding guard"))
    def guard(self, obj):
        return guard_summary(obj.flags)

    @admin.display(description=_("email preview"))
    def preview(self, obj):
        return format_html(
            '<div style="border:1px solid #ccc;padding:1em;max-width:40em"><strong>{}</strong>'
            '<div style="white-space:pre-wrap;margin-top:.5em">{}</div></div>',
            obj.subject,
            obj.body,
        )

    @admin.display(description=_("A/B variants"))
    def variants(self, obj):
        if not obj.experiment_id:
            return "–"
        rows = ((v.name, gettext("control") if v.is_control else "", v.text) for v in obj.experiment.variants.all())
        return format_html("<ul>{}</ul>", format_html_join("", "<li><b>{}</b> {} {}</li>", rows))

    @admin.display(description=_("delivery"))
    def delivery(self, obj):
        counts = dict(obj.recipients.values_list("status").annotate(n=Count("pk")))
        members = obj.segment.users.count()
        consenting = MarketingConsent.objects.filter(consented=True, user__in=obj.segment.users.all()).count()
        parts = [
            gettext("%(members)d in the segment, %(consenting)d agreed to marketing e-mail")
            % {"members": members, "consenting": consenting}
        ]
        parts += [f"{CampaignRecipient.Status(status).label}: {n}" for status, n in sorted(counts.items())]
        clicks = obj.recipients.filter(clicks__isnull=False).distinct().count()
        orders = obj.recipients.filter(converted_at__isnull=False).count()
        parts.append(
            gettext("clicked: %(clicks)d, ordered after a click: %(orders)d") % {"clicks": clicks, "orders": orders}
        )
        return format_html("<br>".join(["{}"] * len(parts)), *parts)

    @admin.display(description=_("A/B results"))
    def results(self, obj):
        if not obj.experiment_id:
            return "–"
        result = experiment_results(obj.experiment)
        rows = []
        for arm in result["arms"]:
            comparison = result["comparisons"].get(arm.variant.name)
            verdict = gettext(comparison.verdict) if comparison else ""
            rows.append((arm.variant.name, arm.impressions, arm.conversions, f"{arm.rate:.1%}", verdict))
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>{}</table>",
            gettext("variant"),
            gettext("sent"),
            gettext("ordered"),
            gettext("rate"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def save_model(self, request, obj, form, change):
        if {"subject", "body"} & set(form.changed_data):
            campaigns.recheck(obj)  # an edited campaign is checked again and reviewed again
            if obj.status == GeneratedCopy.Status.APPROVED:
                obj.status = GeneratedCopy.Status.DRAFT
        super().save_model(request, obj, form, change)
        text = form.cleaned_data.get("variant_text", "").strip()
        if text:
            try:
                campaigns.add_variant(obj, field=form.cleaned_data.get("variant_field") or "subject", text=text)
            except campaigns.CampaignError as exc:
                self.message_user(request, str(exc), messages.ERROR)

    @admin.action(
        description=_("Approve selected campaigns (flagged ones need an override reason)"), permissions=["change"]
    )
    def approve(self, request, queryset):
        for campaign in queryset:
            try:
                campaigns.approve(campaign, user=request.user)
            except campaigns.CampaignError as exc:
                self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request, gettext("%(campaign)s: approved.") % {"campaign": campaign}, messages.SUCCESS
                )

    @admin.action(description=_("Send selected approved campaigns to their segment"), permissions=["send"])
    def send(self, request, queryset):
        for campaign in queryset:
            try:
                counts = campaigns.queue_sending(campaign)
            except campaigns.CampaignError as exc:
                self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                gettext(
                    "%(campaign)s: %(queued)d mails queued (%(consenting)d of %(members)d shoppers agreed to "
                    "marketing e-mail); they go out in batches."
                )
                % {"campaign": campaign, **counts},
                messages.SUCCESS,
            )

    @admin.action(description=_("Export recipients as CSV (to send through your own service)"), permissions=["send"])
    def export_recipients(self, request, queryset):
        campaign = queryset.first()
        try:
            body = campaigns.export_csv(campaign)
        except campaigns.CampaignError as exc:
            self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
            return None
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d")
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-recipients-{stamp}.csv"'
        return response
