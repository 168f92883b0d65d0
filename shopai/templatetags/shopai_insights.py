"""Filters of the insights pages in admin (``{% load shopai_insights %}``)."""

from numbers import Number

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def cell(value):
    """A table cell: "–" for no value, whole numbers as they are, fractions to three places, text as text
    (autoescaped by the template)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool) or not isinstance(value, Number):
        return value
    if isinstance(value, int) or float(value).is_integer():
        return number_format(int(value), force_grouping=True)
    return number_format(round(float(value), 3), decimal_pos=3)


@register.filter
def percent(value):
    """0.123 as "12.3 %"; "–" for no value."""
    if value is None:
        return "–"
    return f"{float(value) * 100:.1f} %"
