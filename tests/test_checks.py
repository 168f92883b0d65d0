"""System checks catch configuration mistakes before the shop runs."""

import pytest
from django.core import checks

from shopai.checks import (
    check_backend_packages,
    check_database,
    check_embedding_backends,
    check_product_model,
    check_search_settings,
    check_task_durability,
)


def ids(errors):
    return [error.id for error in errors]


def test_the_demo_configuration_passes_every_check(db):
    assert check_product_model() == []
    assert check_embedding_backends() == []
    assert check_backend_packages() == []
    assert check_database(databases=["default"]) == []
    assert not [message for message in checks.run_checks(databases=["default"]) if message.id.startswith("shopai")]


@pytest.mark.parametrize("label", [None, "store.Nope", "not-a-label"])
def test_missing_or_unknown_product_model_is_E001(settings, label):
    settings.SHOPAI = {**settings.SHOPAI, "PRODUCT_MODEL": label}

    errors = check_product_model()

    assert ids(errors) == ["shopai.E001"]
    assert "PRODUCT_MODEL" in errors[0].msg


def test_text_field_the_model_lacks_is_E006(settings):
    settings.SHOPAI = {**settings.SHOPAI, "PRODUCT_TEXT_FIELDS": ["name", "colour_story"]}

    errors = check_product_model()

    assert ids(errors) == ["shopai.E006"]
    assert "colour_story" in errors[0].msg


def test_backend_that_cannot_be_imported_is_E002(settings):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {"default": {"CLASS": "shopai.backends.embeddings.NoSuchBackend"}},
    }

    errors = check_embedding_backends()

    assert ids(errors) == ["shopai.E002"]
    assert "NoSuchBackend" in errors[0].msg


def test_a_768_d_model_is_accepted_and_one_too_wide_to_index_is_E003(settings):
    def configure(dimensions):
        settings.SHOPAI = {
            **settings.SHOPAI,
            "EMBEDDINGS": {
                "default": {
                    "CLASS": "shopai.backends.embeddings.SentenceTransformerBackend",
                    "CONFIG": {"model": "intfloat/e5-base", "dimensions": dimensions},
                }
            },
        }

    configure(768)
    assert ids(check_embedding_backends()) == []

    configure(3072)
    errors = check_embedding_backends()
    assert ids(errors) == ["shopai.E003"]
    assert "3072" in errors[0].msg and "2000" in errors[0].msg


@pytest.mark.django_db
def test_a_model_stored_at_another_width_is_E012_and_a_switch_without_fallback_is_W005(settings, make_product):
    from shopai.checks import _check_embedding_spaces
    from shopai.search import embeddings

    fake = "shopai.backends.embeddings.FakeEmbeddingBackend"
    embeddings.reindex_products()  # nothing yet
    embeddings.embed_products(product_pks=[make_product(name="Storm shell").pk])
    embeddings.reindex_products()  # complete: fake-hashing, 384-d
    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {"default": {"CLASS": fake, "CONFIG": {"name": "fake-hashing", "dimensions": 512}}},
    }
    errors = _check_embedding_spaces("default")
    assert ids(errors) == ["shopai.E012"] and "384" in errors[0].msg and "512" in errors[0].msg

    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDINGS": {"default": {"CLASS": fake, "CONFIG": {"name": "new"}}}}
    embeddings.embed_products(product_pks=[make_product(name="Trail shoe").pk])  # one of two products
    assert ids(_check_embedding_spaces("default")) == ["shopai.W005"]

    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {"default": {"CLASS": fake, "CONFIG": {"name": "new"}}, "previous": {"CLASS": fake}},
    }
    assert _check_embedding_spaces("default") == []  # search serves the old model meanwhile


def test_pgvector_is_really_installed_in_the_database(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
    assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 8)


@pytest.mark.parametrize(
    ("search", "says"),
    [
        ({"FUSION": "average"}, "FUSION is 'average'"),
        ({"KEYWORD_WEIGHT": 1.5}, "KEYWORD_WEIGHT must be between 0 and 1"),
        ({"BM25_K1": "high"}, "BM25_K1 is 'high'"),
        ({"FIELD_WEIGHTS": []}, "FIELD_WEIGHTS is []"),
    ],
)
def test_search_settings_out_of_range_are_E007(settings, search, says):
    settings.SHOPAI = {**settings.SHOPAI, "SEARCH": search}

    errors = check_search_settings()

    assert ids(errors) == ["shopai.E007"]
    assert says in errors[0].msg


def test_shipped_search_settings_pass():
    assert check_search_settings() == []


@pytest.mark.django_db
def test_a_text_search_configuration_the_database_lacks_is_E008(settings):
    settings.SHOPAI = {**settings.SHOPAI, "SEARCH": {"TEXT_SEARCH_CONFIG": "klingon"}}

    errors = check_database(databases=["default"])

    assert ids(errors) == ["shopai.E008"]
    assert "'klingon'" in errors[0].msg
    settings.SHOPAI = {**settings.SHOPAI, "SEARCH": {"TEXT_SEARCH_CONFIG": "german"}}
    assert check_database(databases=["default"]) == []


def test_a_backend_whose_packages_are_missing_is_W001_naming_the_extra(settings, monkeypatch):
    """A shop that installed plain shopai learns at startup which extra to add, not from an ImportError later."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real_find_spec(name, *a)
    )
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {"default": {"CLASS": "shopai.backends.generation.LlamaCppBackend", "CONFIG": {}}},
        "EMBEDDINGS": {
            **settings.SHOPAI["EMBEDDINGS"],
            "custom": {
                "CLASS": "shopai.backends.onnx_embeddings.OnnxEmbeddingBackend",
                "CONFIG": {"model": "package:a_model_wheel_nobody_installed"},
            },
        },
    }

    warnings = {warning.msg.split(" (")[0]: warning for warning in check_backend_packages()}

    assert set(warnings) == {'SHOPAI["GENERATION"]["default"]', 'SHOPAI["EMBEDDINGS"]["custom"]'}
    assert {w.id for w in warnings.values()} == {"shopai.W001"}
    assert 'pip install "shopai[local]"' in warnings['SHOPAI["GENERATION"]["default"]'].hint
    assert "pip install a_model_wheel_nobody_installed" in warnings['SHOPAI["EMBEDDINGS"]["custom"]'].hint


def test_tasks_that_may_outlive_the_brokers_visibility_timeout_are_W003(settings):
    """A task still running when the broker redelivers it would run twice (acks late): warned at startup."""
    from celery import current_app

    transport = dict(current_app.conf.broker_transport_options or {})
    assert check_task_durability() == []  # shipped time limits sit below the default 3600 s
    current_app.conf.broker_transport_options = {**transport, "visibility_timeout": 600}
    try:
        (warning,) = check_task_durability()
    finally:
        current_app.conf.broker_transport_options = transport

    assert warning.id == "shopai.W003" and "shopai.tasks.generate_copy (3000 s)" in warning.msg
