"""Storefront template tags; they render overridable templates and never call a model."""

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, gettext

from shopai.conf import shopai_settings
from shopai.core import tracking
from shopai.recommendations.recommenders import bought_together, recommend_for_user, similar_products
from shopai.studio.copy import current_text
from shopai.studio.experiments import ExperimentError, assign, running_for, visitor_id

register = template.Library()


@register.inclusion_tag("shopai/search_form.html", takes_context=True)
def shopai_search_form(context, placeholder=""):
    """``{% shopai_search_form %}``: the semantic search box, keeping the current query."""
    request = context.get("request")
    query = request.GET.get("q", "") if request is not None else ""
    return {"query": query, "placeholder": placeholder}


# Any id works for reverse(); the digits are swapped for "{id}" so the widget can fill in each answer's id.
_FEEDBACK_ID_SENTINEL = 918273645
# Likewise for a conversation's session id, swapped for "{session}".
_SESSION_SENTINEL = "shopaisession918273645"


@register.inclusion_tag("shopai/chat.html", takes_context=True)
def shopai_chat(context):
    """``{% shopai_chat %}``: the floating "Ask us" assistant; it talks to the ask and feedback API, and
    polls for staff replies while a colleague holds the chat."""
    feedback_url = reverse("shopai-api:ask-feedback", args=[_FEEDBACK_ID_SENTINEL])
    messages_url = reverse("shopai-api:conversation-messages", args=[_SESSION_SENTINEL])
    try:
        # The language in the URL: the catalogue is cached (server and browser) per URL, and a
        # shopper who switches language must get the other one.
        catalog_url = f"{reverse('shopai:jsi18n')}?{urlencode({'lang': get_language() or settings.LANGUAGE_CODE})}"
    except NoReverseMatch:  # the host mounts the API but not shopai's pages: the widget speaks English
        catalog_url = ""
    return {
        "ask_url": reverse("shopai-api:ask"),
        "catalog_url": catalog_url,
        "feedback_url_template": feedback_url.replace(str(_FEEDBACK_ID_SENTINEL), "{id}"),
        "messages_url_template": messages_url.replace(_SESSION_SENTINEL, "{session}"),
        "poll_seconds": shopai_settings.section("ASSISTANT", "CONVERSATIONS")["POLL_SECONDS"],
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "request": context.get("request"),
    }


def _shown(items, *, context, placement: str) -> list[tracking.Shown]:
    """Record the list as shown (written with the request's other lists) and link each item through it."""
    if not items:
        return []
    _token, shown = tracking.show(
        items,
        kind="recommendation",
        placement=placement,
        source=lambda item: item.source,
        request=context.get("request"),
    )
    return shown


@register.inclusion_tag("shopai/recommendations.html", takes_context=True)
def shopai_recommendations(context, k=8, title=None, placement="recommendations"):
    """``{% shopai_recommendations k=8 %}``: picks for the current shopper (a database query, no model call).

    ``placement`` names the shelf on the insights pages ("home", "cart", …)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    items = _shown(recommend_for_user(user=user, k=int(k)), context=context, placement=placement)
    return {"items": items, "title": title or gettext("Recommended for you")}


@register.inclusion_tag("shopai/recommendations.html", takes_context=True)
def shopai_similar(context, product, k=6, title=None, placement="similar"):
    """``{% shopai_similar product k=6 %}``: products whose description means something close."""
    items = _shown(similar_products(product=product, k=int(k)), context=context, placement=placement)
    return {"items": items, "title": title or gettext("Similar products")}


@register.inclusion_tag("shopai/track.html")
def shopai_track(product=None, query=""):
    """``{% shopai_track product %}``: tell shopai the shopper viewed this (a beacon after the page loads)."""
    return {
        "url": reverse("shopai-api:events"),
        "event_type": "view" if product is not None else "search",
        "product_id": "" if product is None else str(product.pk),
        "query": query,
    }


@register.inclusion_tag("shopai/recommendations.html", takes_context=True)
def shopai_bought_together(context, product, k=4, title=None, placement="bought_together"):
    """``{% shopai_bought_together product %}``: products shoppers bought in the same basket."""
    items = _shown(bought_together(product=product, k=int(k)), context=context, placement=placement)
    return {"items": items, "title": title or gettext("Often bought together")}


@register.simple_tag(takes_context=True)
def shopai_experiment_text(context, product, field="description"):
    """``{% shopai_experiment_text product "description" as text %}``: the visitor's variant of a running
    A/B test of this product field (an impression is recorded once), else the live text."""
    request = context.get("request")
    experiment = running_for(product, field) if request is not None else None
    if experiment is None:
        return current_text(product, field)
    try:
        return assign(experiment, visitor_id(request)).text
    except ExperimentError:
        return current_text(product, field)
