"""The insights pages' data, computed once and kept in the cache for INSIGHTS["CACHE_SECONDS"].

A large shop's figures take seconds of SQL (bench/insights_pages.py: about 1–3 s at a million
rows), so a page is read from the cache — charts already drawn — and recomputed when it is older
than CACHE_SECONDS, when staff ask for fresh figures, or ahead of time by the periodic task
``shopai.tasks.refresh_insights`` (every REFRESH_SECONDS in the host's beat schedule), which
computes the default view (last 30 days, all languages) of every page in every admin language.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation

from shopai.conf import shopai_settings
from shopai.insights import figures

logger = logging.getLogger(__name__)

PAGES = ("assistant", "search", "recommendations", "experiments")
_VERSION = 1  # bump when the cached shape changes


def _key(page: str, period: figures.Period) -> str:
    return f"shopai:insights:{_VERSION}:{page}:{period.days}:{period.language}:{translation.get_language()}"


def page_data(page: str, period: figures.Period, *, refresh: bool = False) -> dict:
    """The figures and drawn charts of one page ("overview" or one of PAGES), from the cache if fresh."""
    key = _key(page, period)
    if not refresh:
        try:
            found = cache.get(key)
        except Exception:  # the cache is down: compute
            logger.warning("Cache unreachable; insights computed without it", exc_info=True)
            found = None
        if found is not None:
            return found
    if page == "overview":
        data = _overview(period, refresh=refresh)
    else:
        data = getattr(figures, page)(period)
        for chart in data["charts"]:
            chart.draw()  # drawn once, kept with the figures
    data["computed_at"] = timezone.now()
    try:
        cache.set(key, data, int(shopai_settings.INSIGHTS["CACHE_SECONDS"]))
    except Exception:
        logger.warning("Cache unreachable; insights not kept", exc_info=True)
    return data


def _overview(period: figures.Period, *, refresh: bool) -> dict:
    """The headline figures and first chart of each page (read from the pages' own cache entries)."""
    result = {}
    for name in ("assistant", "search", "recommendations"):
        data = page_data(name, period, refresh=refresh)
        result[name] = {"totals": data["totals"], "chart": data["charts"][0]}
    running = page_data("experiments", period, refresh=refresh)
    result["experiments"] = {"count": len(running["experiments"]), "items": running["experiments"][:3]}
    return result


def refresh_all(*, days: int = 30) -> int:
    """Compute the default view of every page in every admin language; returns how many pages."""
    done = 0
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            page_data("overview", figures.Period(days=days), refresh=True)  # computes the four pages too
            done += len(PAGES) + 1
    return done
