"""Recommendations admin: tuned settings, what they measured, switching them on and off."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shopai.models import RecommenderSettings
from shopai.recommendations import tuned_settings as rec_settings


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

    @admin.display(description=_("blend"))
    def blend(self, obj):
        weights = obj.values.get("BLEND") or {}
        return ", ".join(f"{name} {weight:g}" for name, weight in weights.items() if weight) or "–"

    @admin.display(description=_("own purchases first"), boolean=True)
    def own_purchases_first(self, obj):
        return obj.values.get("BUY_AGAIN_FIRST")

    @admin.display(description=_("half-lives (own, trending)"))
    def half_lives(self, obj):
        own = obj.values.get("REPURCHASE_HALF_LIFE_DAYS", "–")
        return gettext("%(own)s / %(trending)s days") % {
            "own": gettext("no decay") if own is None else own,
            "trending": obj.values.get("TRENDING_HALF_LIFE_DAYS", "–"),
        }

    # xgettext:no-python-format
    @admin.display(description=_("measured (NDCG@k, 95% interval)"))
    def measured(self, obj):
        splits = (obj.report or {}).get("splits") or {}
        if not splits:
            return "–"
        names = list(next(iter(splits.values()))["results"])
        key = f"NDCG@{obj.report.get('k', 10)}"
        header = format_html_join("", "<th>{}</th>", ((name,) for name in names))
        rows = format_html_join(
            "",
            "<tr><td>{}</td>{}</tr>",
            (
                (
                    (
                        gettext("%(split)s (%(cases)s cases, dev)")
                        if block["dev"]
                        else gettext("%(split)s (%(cases)s cases)")
                    )
                    % {"split": split, "cases": block["cases"]},
                    format_html_join(
                        "",
                        "<td>{} [{}, {}]</td>",
                        (
                            (
                                f"{block['results'][n][key]:.3f}",
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
        return format_html("<table><tr><th>{}</th>{}</tr>{}</table>", gettext("split"), header, rows)

    @admin.action(description=_("Use the selected settings for recommendations"), permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one row to put in force."), messages.ERROR)
            return
        row = queryset.get()
        rec_settings.put_in_force(row)
        self.message_user(request, gettext("Recommendations now use %(row)s.") % {"row": row}, messages.SUCCESS)

    @admin.action(
        description=_("Stop using tuned settings (back to SHOPAI['RECOMMENDATIONS'])"), permissions=["change"]
    )
    def deactivate(self, request, queryset):
        if queryset.filter(active=True).exists():
            rec_settings.back_to_settings_file()
        self.message_user(request, gettext("Recommendations use the settings file again."), messages.SUCCESS)
