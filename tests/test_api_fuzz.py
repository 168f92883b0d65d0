"""schemathesis over the whole API, generated from its OpenAPI schema, on the real stack: no 5xx.

Every operation of /api/shopai/ gets ``EXAMPLES`` generated requests (valid and invalid ones), once
as an anonymous visitor and once as a superuser with a session and a CSRF token, against the test
database (a small catalogue, FAQs, an order) and the real Redis; the fake embedding model keeps it
fast. The only check is the one that matters here: the server never answers 5xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.middleware.csrf import get_token
from django.test import RequestFactory
from hypothesis import HealthCheck, settings

from shopai.models import FAQ

EXAMPLES = 20  # per operation and identity: 11 operations x 2 x 20 = up to 440 requests

pytestmark = pytest.mark.django_db(transaction=True)


# The schema is generated from the code (no database), so it is read once, when the tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
    path_regex="^/api/shopai/"
)


@pytest.fixture
def shop(make_product):
    make_product(name="Trail tent", description="A light tent for two.", category="Outdoor/Tents")
    make_product(name="Camp stove", description="Boils water fast.", category="Outdoor/Cooking")
    FAQ.objects.get_or_create(question="How long does delivery take?", defaults={"answer": "Three to five days."})


def _call(case, **kwargs) -> None:
    response = case.call(**kwargs)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_an_anonymous_visitor_never_gets_a_server_error(case, shop):
    _call(case)


@pytest.fixture
def staff_session(django_user_model, client):
    user = django_user_model.objects.filter(
        username="fuzz-admin"
    ).first() or django_user_model.objects.create_superuser("fuzz-admin", "fuzz@example.com", "pw")
    client.force_login(user)
    request = RequestFactory().get("/")
    token = get_token(request)
    return {
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": request.META["CSRF_COOKIE"]},
        "headers": {"X-CSRFToken": token},
    }


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_staff_never_get_a_server_error(case, shop, staff_session):
    _call(case, cookies=staff_session["cookies"], headers=staff_session["headers"])
