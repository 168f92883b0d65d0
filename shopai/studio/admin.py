"""Admin of the marketing studio: copy jobs, drafts with grounding flags, review, A/B experiments."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shopai.conf import shopai_settings
from shopai.core.permissions import can_change_products, can_generate_copy
from shopai.core.tasks import QueueUnavailable, queue_task
from shopai.models import Experiment, GeneratedCopy, GenerationJob, Segment, Variant
from shopai.studio import copy as copy_service
from shopai.studio import experiments, segments


class CopyForm(forms.Form):
    field = forms.ChoiceField(label=_("field"), choices=GeneratedCopy.Field.choices, initial="description")
    tone = forms.ChoiceField(label=_("tone"), choices=[])
    length = forms.ChoiceField(label=_("length"), choices=[], initial="medium")
    keywords = forms.CharField(
        label=_("keywords"), required=False, help_text=_("Comma-separated words the copy should contain.")
    )
    language = forms.ChoiceField(label=_("language"), choices=[("en", _("English")), ("zh", _("Chinese"))])
    only_empty = forms.BooleanField(
        required=False, label=_("Do not overwrite"), help_text=_("Skip products whose field already has text.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = shopai_settings.COPY
        self.fields["tone"].choices = [(tone, tone) for tone in config["TONES"]]
        self.fields["length"].choices = [
            (name, gettext("%(length)s (~%(words)s words)") % {"length": name, "words": words})
            for name, words in config["LENGTHS"].items()
        ]

    def copy_request(self) -> copy_service.CopyRequest:
        return copy_service.CopyRequest.from_dict(self.cleaned_data)


def _start(model_admin, request, pks, form):
    try:
        job = copy_service.start_job(product_pks=pks, request=form.copy_request(), user=request.user)
    except copy_service.CopyError as exc:
        form.add_error(None, str(exc))
        return None
    model_admin.message_user(
        request,
        ngettext(
            "Generating copy for %d product in the background; drafts appear below as they are written.",
            "Generating copy for %d products in the background; drafts appear below as they are written.",
            len(pks),
        )
        % len(pks),
        messages.SUCCESS,
    )
    return redirect(reverse("admin:shopai_generationjob_change", args=[job.pk]))


def generate_copy_action(model_admin, request, queryset):
    """Admin action of the host's product list: an intermediate form, then a background job."""
    if not can_generate_copy(request.user):
        raise PermissionDenied
    pks = [str(pk) for pk in queryset.values_list("pk", flat=True)]
    form = CopyForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        response = _start(model_admin, request, pks, form)
        if response is not None:
            return response
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Generate copy with AI"),
        "form": form,
        "products": list(queryset[:11]),
        "selected": pks,
        "opts": model_admin.opts,
    }
    return TemplateResponse(request, "admin/shopai/generate_copy.html", context)


def product_copy_view(model_admin, request, object_id):
    """The same form from one product's page in admin."""
    product = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    if not (model_admin.has_change_permission(request, product) and can_generate_copy(request.user)):
        raise PermissionDenied
    form = CopyForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        response = _start(model_admin, request, [str(product.pk)], form)
        if response is not None:
            return response
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Generate copy for %(product)s") % {"product": product},
        "form": form,
        "products": [product],
        "selected": [],
        "opts": model_admin.opts,
        "single": True,
    }
    return TemplateResponse(request, "admin/shopai/generate_copy.html", context)


def _marked(text: str, flags: list[dict]) -> str:
    """The draft, escaped, with the flagged phrases highlighted."""
    phrases = sorted({flag["phrase"] for flag in flags if flag.get("phrase")}, key=len, reverse=True)
    pieces: list[tuple[str, bool]] = [(text, False)]
    for phrase in phrases:
        split: list[tuple[str, bool]] = []
        for piece, marked in pieces:
            if marked or phrase not in piece:
                split.append((piece, marked))
                continue
            parts = piece.split(phrase)
            for index, part in enumerate(parts):
                split.append((part, False))
                if index < len(parts) - 1:
                    split.append((phrase, True))
        pieces = split
    html = format_html_join(
        "",
        "{}",
        (
            (format_html('<mark title="{}">{}</mark>', gettext("not in the product data"), p) if m else p,)
            for p, m in pieces
        ),
    )
    return format_html('<div style="white-space:pre-wrap;max-width:60em">{}</div>', html)


def guard_summary(flags: list[dict]) -> str:
    """The grounding guard's verdict on a text for admin: grounded, or its flags with their reasons."""
    if not flags:
        return format_html('<span style="color:#1a7f37">✔ {}</span>', gettext("grounded"))
    reasons = format_html_join("", "<li>“{}”: {}</li>", ((f["phrase"], f["reason"]) for f in flags))
    return format_html('<span style="color:#b42318">{}</span><ul>{}</ul>', _flag_count(flags), reasons)


def _flag_count(flags: list) -> str:
    return ngettext("%d flag", "%d flags", len(flags)) % len(flags)


def _winner_note(name: str) -> str:
    return gettext("Significant winner: %(variant)s. Use “Promote the winner”.") % {"variant": name}


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "created_by", "status", "progress_bar", "parameters")
    list_filter = ("status",)
    readonly_fields = (
        "status",
        "progress_bar",
        "parameters",
        "total",
        "done",
        "skipped",
        "failed",
        "error",
        "created_by",
        "created_at",
        "finished_at",
        "drafts_table",
    )
    exclude = ("product_pks",)
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("progress"))
    def progress_bar(self, obj):
        finished = obj.done + obj.skipped + obj.failed
        return format_html(
            '<progress value="{}" max="{}"></progress> {} / {} ({})',
            finished,
            obj.total or 1,
            finished,
            obj.total,
            gettext("%(count)d skipped") % {"count": obj.skipped},
        )

    @admin.display(description=_("drafts"))
    def drafts_table(self, obj):
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:shopai_generatedcopy_change", args=[draft.pk]),
                    gettext("%(field)s of product %(product)s")
                    % {"field": draft.get_field_display(), "product": draft.object_pk},
                    draft.get_status_display(),
                    gettext("grounded") if draft.grounded else _flag_count(draft.flags),
                    draft.text[:120],
                )
                for draft in obj.drafts.order_by("pk")
            ),
        )
        head = format_html_join(
            "", "<th>{}</th>", ((h,) for h in (gettext("draft"), gettext("status"), gettext("guard"), gettext("text")))
        )
        return format_html("<table><tr>{}</tr>{}</table>", head, rows)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        running = job is not None and job.status in (GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING)
        extra_context = {**(extra_context or {}), "shopai_refresh": running}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(
        description=_("Queue the selected jobs again (finished products are not redone)"), permissions=["change"]
    )
    def retry(self, request, queryset):
        for job in queryset:
            GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.QUEUED, error="")
            try:
                queue_task("shopai.tasks.generate_copy", args=[job.pk], queue="generation")
            except QueueUnavailable as exc:
                error = gettext("The task queue is unreachable (%(error)s); retry the job.") % {"error": exc}
                GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.FAILED, error=error)
                self.message_user(request, error, messages.ERROR)
                return
        self.message_user(request, gettext("Queued again."), messages.SUCCESS)


class CopyAdminForm(forms.ModelForm):
    class Meta:
        model = GeneratedCopy
        fields = ("text", "override_reason")
        widgets = {"text": forms.Textarea(attrs={"rows": 8, "cols": 90})}


@admin.register(GeneratedCopy)
class GeneratedCopyAdmin(admin.ModelAdmin):
    form = CopyAdminForm
    list_display = ("id", "product_label", "field", "status", "guard", "short_text", "created_at")
    list_filter = ("status", "field", "job")
    search_fields = ("text", "object_pk")
    readonly_fields = (
        "product_label",
        "field",
        "status",
        "guard",
        "marked_text",
        "parameters",
        "model_name",
        "completion_tokens",
        "seconds",
        "reviewed_by",
        "reviewed_at",
        "published_at",
        "job",
    )
    fields = (
        "product_label",
        "field",
        "status",
        "guard",
        "marked_text",
        "text",
        "override_reason",
        "parameters",
        "model_name",
        "completion_tokens",
        "seconds",
        "job",
        "reviewed_by",
        "reviewed_at",
        "published_at",
    )
    actions = ["approve", "publish", "reject", "start_experiment"]
    list_select_related = ("content_type",)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("product"))
    def product_label(self, obj):
        try:
            product = obj.product
        except Exception:
            return gettext("%(product)s (deleted)") % {"product": obj.object_pk}
        url = reverse(f"admin:{product._meta.app_label}_{product._meta.model_name}_change", args=[product.pk])
        return format_html('<a href="{}">{}</a>', url, product)

    @admin.display(description=_("grounding guard"))
    def guard(self, obj):
        return guard_summary(obj.flags)

    @admin.display(description=_("draft (flagged phrases marked)"))
    def marked_text(self, obj):
        return _marked(obj.text, obj.flags)

    @admin.display(description=_("text"))
    def short_text(self, obj):
        return obj.text[:80] + ("…" if len(obj.text) > 80 else "")

    def save_model(self, request, obj, form, change):
        if "text" in form.changed_data:
            copy_service.recheck(obj)  # an edited draft is checked again
            if obj.status == GeneratedCopy.Status.APPROVED:
                obj.status = GeneratedCopy.Status.DRAFT
        super().save_model(request, obj, form, change)

    def _each(self, request, queryset, operation, done_message):
        done = 0
        for draft in queryset:
            try:
                operation(draft, user=request.user)
                done += 1
            except copy_service.CopyError as exc:
                self.message_user(
                    request, gettext("Draft %(id)s: %(error)s") % {"id": draft.pk, "error": exc}, messages.ERROR
                )
        if done:
            self.message_user(request, done_message(done) % done, messages.SUCCESS)

    def has_publish_permission(self, request, obj=None):
        """Publishing writes the product: change on the drafts and on the shop's products."""
        return self.has_change_permission(request, obj) and can_change_products(request.user)

    def has_experiment_permission(self, request, obj=None):
        return request.user.has_perm("shopai.add_experiment") and can_change_products(request.user)

    @admin.action(description=_("Approve selected drafts"), permissions=["change"])
    def approve(self, request, queryset):
        self._each(
            request,
            queryset,
            copy_service.approve,
            lambda n: ngettext("%d draft approved.", "%d drafts approved.", n),
        )

    @admin.action(
        description=_("Publish selected drafts to the product (flagged ones need an override reason)"),
        permissions=["publish"],
    )
    def publish(self, request, queryset):
        self._each(
            request,
            queryset,
            copy_service.publish,
            lambda n: ngettext("%d draft published to the shop.", "%d drafts published to the shop.", n),
        )

    @admin.action(description=_("Reject selected drafts"), permissions=["change"])
    def reject(self, request, queryset):
        self._each(
            request,
            queryset,
            copy_service.reject,
            lambda n: ngettext("%d draft rejected.", "%d drafts rejected.", n),
        )

    @admin.action(description=_("A/B test selected approved drafts against the live text"), permissions=["experiment"])
    def start_experiment(self, request, queryset):
        drafts = list(queryset)
        products = {(d.content_type_id, d.object_pk, d.field) for d in drafts}
        if len(products) != 1:
            self.message_user(request, gettext("Select drafts of one field of one product."), messages.ERROR)
            return None
        try:
            experiment = experiments.start_copy_experiment(
                product=drafts[0].product, field=drafts[0].field, drafts=drafts
            )
        except experiments.ExperimentError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        self.message_user(
            request, gettext("Experiment %(key)s is running.") % {"key": experiment.key}, messages.SUCCESS
        )
        return redirect(reverse("admin:shopai_experiment_change", args=[experiment.pk]))


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("name", "is_control", "weight", "text")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "status", "exposure_count", "winner")
    list_filter = ("status",)
    readonly_fields = ("results_table", "winner")
    inlines = [VariantInline]
    actions = ["promote_winner", "stop"]
    prepopulated_fields = {"key": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_exposures=Count("exposures"))

    @admin.display(description=_("visitors"), ordering="_exposures")
    def exposure_count(self, obj):
        return obj._exposures

    @admin.display(description=_("results"))
    def results_table(self, obj):
        if obj.pk is None:
            return "-"
        data = experiments.results(obj)
        comparisons = data["comparisons"]
        rows = []
        for arm in data["arms"]:
            comparison = comparisons.get(arm.variant.name)
            if comparison is None:
                verdict = gettext("control")
                uplift = ci = p = "-"
            else:
                verdict = gettext(comparison.verdict)
                uplift = f"{comparison.uplift:+.1%}" if comparison.uplift is not None else "n/a"
                ci = (
                    f"[{comparison.uplift_ci[0]:+.1%}, {comparison.uplift_ci[1]:+.1%}]"
                    if comparison.uplift_ci
                    else "n/a"
                )
                p = f"{comparison.adjusted_p_value:.4f}"
            rows.append((arm.variant.name, arm.impressions, arm.conversions, f"{arm.rate:.2%}", uplift, ci, p, verdict))
        body = format_html_join("", "<tr>" + "<td>{}</td>" * 8 + "</tr>", rows)
        head = format_html_join(
            "",
            "<th>{}</th>",
            (
                (heading,)
                for heading in (
                    gettext("variant"),
                    gettext("visitors"),
                    gettext("conversions"),
                    gettext("rate"),
                    gettext("uplift"),
                    gettext("95% CI"),
                    gettext("p (Holm)"),
                    gettext("verdict"),
                )
            ),
        )
        winner = data["winner"]
        note = (
            format_html("<p>{}</p>", _winner_note(winner.name))
            if winner
            else format_html("<p>{}</p>", gettext("No variant is significantly better than the control yet."))
        )
        return format_html("<table><tr>{}</tr>{}</table>{}", head, body, note)

    def has_publish_permission(self, request, obj=None):
        return self.has_change_permission(request, obj) and can_change_products(request.user)

    @admin.action(
        description=_("Promote the significant winner (stops the experiment, publishes its text)"),
        permissions=["publish"],
    )
    def promote_winner(self, request, queryset):
        for experiment in queryset:
            winner = experiments.results(experiment)["winner"]
            if winner is None:
                self.message_user(
                    request, gettext("%(key)s: no significant winner yet.") % {"key": experiment.key}, messages.WARNING
                )
                continue
            experiments.promote(experiment, winner)
            self.message_user(
                request,
                gettext("%(key)s: variant %(variant)s promoted.") % {"key": experiment.key, "variant": winner.name},
                messages.SUCCESS,
            )

    @admin.action(description=_("Stop selected experiments (the control is shown again)"), permissions=["change"])
    def stop(self, request, queryset):
        count = queryset.update(status=Experiment.Status.STOPPED)
        self.message_user(
            request, ngettext("%d experiment stopped.", "%d experiments stopped.", count) % count, messages.SUCCESS
        )


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("shown_name", "shown_description", "size", "reachable", "created_at")
    readonly_fields = ("size", "reachable", "defining_products", "overlap")
    exclude = ("centroid", "users", "model_name")
    actions = ["write_campaign", "write_campaign_zh", "refresh_rule"]

    @admin.display(description=_("agreed to marketing e-mail"))
    def reachable(self, obj):
        return segments.reachable_count(obj)

    @admin.display(description=_("products that define it"))
    def defining_products(self, obj):
        names = [str(product) for product in segments.segment_products(obj, k=5)]
        return ", ".join(names) or "–"

    @admin.display(description=_("shared shoppers with other segments"))
    def overlap(self, obj):
        rows = [(other.display_name, shared) for other, shared in segments.overlaps(obj)]
        if not rows:
            return "–"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows))

    @admin.display(description=_("name"), ordering="name")
    def shown_name(self, obj):
        return obj.display_name

    @admin.display(description=_("description"))
    def shown_description(self, obj):
        return obj.display_description

    def save_model(self, request, obj, form, change):
        # A name or description staff wrote replaces the one composed from what the segment likes.
        replaced = {"name": "categories", "description": "products"}
        obj.likes = {
            key: value
            for key, value in (obj.likes or {}).items()
            if key not in {replaced[field] for field in form.changed_data if field in replaced}
        }
        super().save_model(request, obj, form, change)
        if obj.rule:
            try:
                count = segments.apply_rule(obj)
            except segments.SegmentError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    ngettext("%d shopper matches the rule.", "%d shoppers match the rule.", count) % count,
                    messages.INFO,
                )

    def _queue_campaigns(self, request, queryset, language):
        try:
            for segment in queryset:
                queue_task("shopai.tasks.write_campaign", args=[segment.pk, "friendly", language], queue="generation")
        except QueueUnavailable as exc:
            self.message_user(
                request,
                gettext("The task queue is unreachable (%(error)s); try again later.") % {"error": exc},
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            gettext("Writing campaigns in the background; they appear under Campaigns as drafts."),
            messages.SUCCESS,
        )

    def has_campaign_permission(self, request, obj=None):
        return request.user.has_perm("shopai.add_campaign")

    @admin.action(
        description=_("Write an email campaign (English) for the selected segments"), permissions=["campaign"]
    )
    def write_campaign(self, request, queryset):
        self._queue_campaigns(request, queryset, "en")

    @admin.action(
        description=_("Write an email campaign (Chinese) for the selected segments"), permissions=["campaign"]
    )
    def write_campaign_zh(self, request, queryset):
        self._queue_campaigns(request, queryset, "zh")

    @admin.action(description=_("Recompute members of rule segments"), permissions=["change"])
    def refresh_rule(self, request, queryset):
        for segment in queryset.exclude(rule={}):
            try:
                count = segments.apply_rule(segment)
            except segments.SegmentError as exc:
                self.message_user(request, f"{segment}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    ngettext("%(segment)s: %(count)d shopper.", "%(segment)s: %(count)d shoppers.", count)
                    % {"segment": segment, "count": count},
                    messages.SUCCESS,
                )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_size=Count("users"))

    @admin.display(description=_("shoppers"), ordering="_size")
    def size(self, obj):
        return obj._size


class StudioProductAdminMixin:
    """The studio part of ``shopai.admin.ShopAIProductAdminMixin``: copy generation for products."""

    def get_urls(self):
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
        return generate_copy_action(self, request, queryset)

    shopai_generate_copy.short_description = _("Generate copy with AI… (shopai)")
