"""JSON bodies with bounds: a size limit and nesting that cannot exhaust the parser's stack."""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

MAX_BODY_BYTES = 64 * 1024  # a question, an event or a copy request is a few hundred bytes


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is larger than 64 KB.")
    default_code = "body_too_large"


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies over 64 KB (413) and JSON nested too deep to parse (400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        try:
            return json.loads(raw.decode(encoding))
        except RecursionError as exc:
            raise ParseError(gettext("The JSON is nested too deeply.")) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(gettext("JSON parse error - %(error)s") % {"error": exc}) from exc
