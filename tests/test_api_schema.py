"""The OpenAPI schema describes every response body of shopai's API (no free-form objects)."""

import pytest

pytestmark = pytest.mark.django_db


def test_every_response_body_has_a_described_shape(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/shopai/"):
            continue
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    body = media["schema"]
                    described = "$ref" in body or body.get("properties") or "items" in body
                    assert described, f"{method.upper()} {path} {status} has a free-form body: {body}"
                    checked += 1
    assert checked >= 8  # search, ask, recommendations, similar, copy job, job, check, assignment
