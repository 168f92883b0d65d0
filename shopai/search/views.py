"""The storefront search page that shopai serves itself (rendered with overridable templates)."""

from django.shortcuts import render
from django.utils.translation import gettext

from shopai.api.exceptions import first_error_message
from shopai.api.throttling import SearchThrottle, throttle_page
from shopai.core import tracking
from shopai.search.hybrid import search_products
from shopai.search.serializers import SearchQuerySerializer


def search(request):
    """Search results page; the host restyles it by overriding ``shopai/search.html``.

    Throttled like the search API (the same rate and identity), so the page is no way around it.
    """
    wait = throttle_page(request, SearchThrottle)
    if wait is not None:
        context = {
            "query": "",
            "hits": [],
            "error": gettext("Too many searches; try again in %(wait)s seconds.") % {"wait": f"{wait:.0f}"},
        }
        response = render(request, "shopai/search.html", context, status=429)
        response["Retry-After"] = str(int(wait + 0.999))
        return response
    query = request.GET.get("q", "")
    hits, error = [], None
    if "q" in request.GET:
        params = SearchQuerySerializer(data={"q": query, "k": 24})
        if params.is_valid():
            hits = search_products(query=params.validated_data["q"], k=24)
            token = tracking.list_shown(
                kind="search",
                placement="search_page",
                items=[(hit.product.pk, hit.via) for hit in hits],
                request=request,
                query=query,
            )
            hits = [TrackedHit(hit, tracking.click_url(token, hit.product.pk)) for hit in hits]
        else:
            error = first_error_message(params.errors)
    return render(request, "shopai/search.html", {"query": query, "hits": hits, "error": error})


class TrackedHit:
    """A search hit as the template sees it: ``product``, ``score``, ``via`` and its ``click_url``."""

    def __init__(self, hit, click_url: str | None) -> None:
        self.product, self.score, self.via, self.click_url = hit.product, hit.score, hit.via, click_url
        self.url = click_url or getattr(hit.product, "get_absolute_url", lambda: None)()
