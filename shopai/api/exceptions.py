"""Errors as JSON with one sentence a person can act on, plus per-field details."""

from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def first_error_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = first_error_message(value)
            return message if field in ("non_field_errors", "detail") else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return first_error_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": first_error_message(exc.detail), "fields": exc.detail}
    elif isinstance(exc, exceptions.Throttled):
        wait = f"{exc.wait or 1:.0f}"
        response.data = {"error": gettext("Too many requests; try again in %(wait)s seconds.") % {"wait": wait}}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response


class ShopAIExceptionMixin:
    """Use shopai's error format on shopai views whatever the host's DRF settings say."""

    def get_exception_handler(self):
        return exception_handler
