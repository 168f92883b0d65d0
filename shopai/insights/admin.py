"""The "AI insights" pages in Django admin: an overview and a page per feature, charts with their numbers.

Staff who hold ``shopai.view_insight`` see them (superusers always); anyone else gets a 403 from
Django's admin (shoppers and anonymous visitors are sent to the admin login). Every chart can be
downloaded as CSV (``?csv=<chart name>``).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shopai.insights import figures, pages
from shopai.models import FAQ, Insight

PAGES = {
    "overview": gettext_lazy("Overview"),
    "assistant": gettext_lazy("Assistant"),
    "search": gettext_lazy("Search"),
    "recommendations": gettext_lazy("Recommendations"),
    "experiments": gettext_lazy("Experiments"),
}


@admin.register(Insight)
class InsightAdmin(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.has_perm("shopai.view_insight")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        pages = [
            path(f"{page}/", self.admin_site.admin_view(self._page_view(page)), name=f"shopai_insight_{page}")
            for page in PAGES
            if page != "overview"
        ]
        return [
            *pages,
            path("", self.admin_site.admin_view(self._page_view("overview")), name="shopai_insight_changelist"),
        ]

    def _page_view(self, page: str):
        def view(request, *args, **kwargs):
            return self.page(request, page)

        return view

    def page(self, request, page: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        period = figures.Period.from_request(request)
        started = time.perf_counter()
        data = pages.page_data(page, period, refresh=request.GET.get("refresh") == "1")
        charts = data.get("charts", [])
        if page == "overview":
            charts = [item["chart"] for item in data.values() if isinstance(item, dict) and "chart" in item]
        wanted = request.GET.get("csv")
        if wanted:
            return self._csv(charts, wanted, page)
        query = {"days": period.days, **({"language": period.language} if period.language else {})}
        drawn = [
            {
                "chart": chart,
                "svg": None if chart.empty else mark_safe(chart.draw()),  # noqa: S308  (matplotlib escapes text)
                "table": chart.table(),
                "csv_url": f"?{urlencode({**query, 'csv': chart.name})}",
            }
            for chart in charts
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("AI insights: %(page)s") % {"page": PAGES[page]},
            "page": page,
            "pages": [
                {"name": name, "label": label, "url": reverse(f"admin:shopai_insight_{_url_name(name)}")}
                for name, label in PAGES.items()
            ],
            "period": period,
            "periods": figures.PERIODS,
            "languages": [("", _("all languages")), *FAQ.Language.choices],
            "query": urlencode(query),
            "data": data,
            "drawn": drawn,
            "seconds": time.perf_counter() - started,
            "computed_at": data["computed_at"],
            "refresh_url": f"?{urlencode({**query, 'refresh': 1})}",
        }
        return TemplateResponse(request, f"admin/shopai/insights/{page}.html", context)

    def _csv(self, charts, name: str, page: str) -> HttpResponse:
        chart = next((chart for chart in charts if chart.name == name), None)
        if chart is None:
            raise Http404(_("No such chart."))
        response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="shopai-{page}-{chart.name}.csv"'
        return response


def _url_name(page: str) -> str:
    return "changelist" if page == "overview" else page
