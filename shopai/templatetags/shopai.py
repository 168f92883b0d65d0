"""Storefront template tags; they render overridable templates and never call a model."""

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.inclusion_tag("shopai/search_form.html", takes_context=True)
def shopai_search_form(context, placeholder=""):
    """``{% shopai_search_form %}``: the semantic search box, keeping the current query."""
    request = context.get("request")
    query = request.GET.get("q", "") if request is not None else ""
    return {"query": query, "placeholder": placeholder}


# Any id works for reverse(); the digits are swapped for "{id}" so the widget can fill in each answer's id.
_FEEDBACK_ID_SENTINEL = 918273645


@register.inclusion_tag("shopai/chat.html", takes_context=True)
def shopai_chat(context):
    """``{% shopai_chat %}``: the floating "Ask us" assistant; it talks to the ask and feedback API."""
    feedback_url = reverse("shopai-api:ask-feedback", args=[_FEEDBACK_ID_SENTINEL])
    return {
        "ask_url": reverse("shopai-api:ask"),
        "feedback_url_template": feedback_url.replace(str(_FEEDBACK_ID_SENTINEL), "{id}"),
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "request": context.get("request"),
    }
