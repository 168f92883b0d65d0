"""The click link of a tracked list: count the click, then go to the product's own page."""

from django.http import Http404, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from shopai.adapters import get_product_adapter
from shopai.api.throttling import ClickThrottle
from shopai.core import tracking


@never_cache
@require_GET
def click(request, token, product_id: str):
    """``/shopai/go/<token>/<product id>/``: the target is the product's ``get_absolute_url()``, looked
    up from its id, never a URL from the request (no open redirect). Over the click rate, or for a list
    that was not recorded, the shopper still gets to the product; the click is not counted."""
    product = get_product_adapter().find(product_id)
    if product is None:
        raise Http404(_("No such product."))
    url = get_product_adapter().to_result(product).get("url")
    if not url:
        raise Http404(_("This product has no page."))
    if ClickThrottle().allow_request(request, None):
        tracking.record_click(token=token, product_pk=product.pk, request=request)
    response = HttpResponseRedirect(url)
    response["X-Robots-Tag"] = "noindex"
    return response
