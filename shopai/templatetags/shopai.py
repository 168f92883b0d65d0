"""Storefront template tags; they render overridable templates and never call a model."""

from django import template

register = template.Library()


@register.inclusion_tag("shopai/search_form.html", takes_context=True)
def shopai_search_form(context, placeholder=""):
    """``{% shopai_search_form %}``: the semantic search box, keeping the current query."""
    request = context.get("request")
    query = request.GET.get("q", "") if request is not None else ""
    return {"query": query, "placeholder": placeholder}
