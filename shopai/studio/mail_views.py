"""The links in a campaign mail, followed without signing in: a product click, and unsubscribe."""

from django.core import signing
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from shopai.adapters import get_product_adapter
from shopai.api.throttling import MailLinkThrottle, throttle_page
from shopai.studio import campaigns


def _too_many(request):
    wait = throttle_page(request, MailLinkThrottle)
    if wait is None:
        return None
    response = render(request, "shopai/unsubscribe.html", {"state": "throttled"}, status=429)
    response["Retry-After"] = str(int(wait + 0.999))
    return response


@never_cache
def campaign_click(request, token: str):
    """``/shopai/m/<signed token>/``: count the click, then the product's page (its URL from its id)."""
    refused = _too_many(request)
    if refused is not None:
        return refused
    found = campaigns.record_click(token)
    if found is None:
        raise Http404(_("This link is not valid."))
    _recipient, product = found
    url = get_product_adapter().to_result(product).get("url")
    if not url:
        raise Http404(_("This product has no page."))
    return HttpResponseRedirect(url)


@never_cache
@csrf_exempt  # the signed token is the credential; mail clients post one-click unsubscribes without a form
def unsubscribe(request, token: str):
    """GET: a page asking to confirm (link checkers follow GETs); POST: unsubscribed, no sign-in needed."""
    refused = _too_many(request)
    if refused is not None:
        return refused
    try:
        user = campaigns.user_for_unsubscribe(token)
    except signing.SignatureExpired:
        return render(request, "shopai/unsubscribe.html", {"state": "expired"}, status=410)
    except signing.BadSignature:
        return render(request, "shopai/unsubscribe.html", {"state": "invalid"}, status=404)
    if user is None:
        return render(request, "shopai/unsubscribe.html", {"state": "invalid"}, status=404)
    if request.method == "POST":
        campaigns.set_consent(user, consented=False, source="unsubscribe link")
        return render(request, "shopai/unsubscribe.html", {"state": "done"})
    if request.method != "GET":
        return render(request, "shopai/unsubscribe.html", {"state": "invalid"}, status=405)
    return render(request, "shopai/unsubscribe.html", {"state": "confirm"})
