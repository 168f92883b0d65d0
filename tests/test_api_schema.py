"""The OpenAPI schema describes every response body of shopai's API, errors included (no free-form objects)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _shopai_operations(schema):
    for path, operations in schema["paths"].items():
        if path.startswith("/api/shopai/"):
            for method, operation in operations.items():
                yield f"{method.upper()} {path}", operation


def test_every_response_body_has_a_described_shape(schema):
    checked = 0
    for name, operation in _shopai_operations(schema):
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                body = media["schema"]
                described = "$ref" in body or body.get("properties") or "items" in body
                assert described, f"{name} {status} has a free-form body: {body}"
                checked += 1
    assert checked >= 30  # 11 operations, each with its success and error bodies


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    for name, operation in _shopai_operations(schema):
        errors = {status: response for status, response in operation["responses"].items() if status.startswith("4")}
        assert errors, f"{name} documents no error response"
        for status, response in errors.items():
            body = response["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, f"{name} {status}: {body}"


def test_no_field_of_a_response_is_a_free_form_object(schema):
    """Nested fields too: an answer's sources and links, a draft's flags, a job's parameters."""
    free_form = []
    for component, shape in schema["components"]["schemas"].items():
        for field, spec in shape.get("properties", {}).items():
            inner = spec.get("items", spec)
            if inner.get("type") == "object" and not inner.get("properties") and not inner.get("additionalProperties"):
                free_form.append(f"{component}.{field}")
    assert not free_form, free_form
