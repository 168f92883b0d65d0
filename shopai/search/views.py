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
            _token, hits = tracking.show(
                search_products(query=params.validated_data["q"], k=24),
                kind="search",
                placement="search_page",
                source=lambda hit: hit.via,
                request=request,
                query=query,
            )
        else:
            error = first_error_message(params.errors)
    return render(request, "shopai/search.html", {"query": query, "hits": hits, "error": error})
