"""Embedding models of different widths side by side in one database, and a model switch that keeps
search answering: real Postgres + pgvector, fake models of 384 and 512 dimensions."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from shopai.backends import get_embedding_backend
from shopai.core import vector_spaces
from shopai.models import EmbeddingSpace, ProductEmbedding
from shopai.search import embeddings, nearest_products, search_products

pytestmark = pytest.mark.django_db

FAKE = "shopai.backends.embeddings.FakeEmbeddingBackend"
SMALL = {"CLASS": FAKE, "CONFIG": {"name": "small-384"}}
WIDE = {"CLASS": FAKE, "CONFIG": {"name": "wide-512", "dimensions": 512}}


def use_models(settings, **aliases):
    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDINGS": {**settings.SHOPAI["EMBEDDINGS"], **aliases}}


@pytest.fixture
def shop(make_product):
    return {
        "jacket": make_product(name="Waterproof hiking jacket", description="Taped seams and a hood."),
        "boots": make_product(name="Leather hiking boots", description="Ankle support for rocky trails."),
        "pan": make_product(name="Frying pan", description="Non-stick pan for the kitchen.", category="Home/Kitchen"),
    }


def plan_of_search(vector, products, model_name: str) -> str:
    """EXPLAIN of the query ``nearest_products`` itself sends for this model (no sequential scan, no
    sort: with three rows anything is cheap, so only the plans an index can give are left)."""
    with CaptureQueriesContext(connection) as queries:
        nearest_products(vector=vector, products=products, model_name=model_name, k=3)
    search = next(q["sql"] for q in queries.captured_queries if "<=>" in q["sql"] and "ORDER BY" in q["sql"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + search)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_two_widths_are_indexed_side_by_side_and_both_answer(settings, shop):
    settings.SHOPAI = {**settings.SHOPAI, "EXACT_SEARCH_MAX_ROWS": 0}  # the index plan, as in a large catalogue
    use_models(settings, default=WIDE)
    embeddings.embed_products(product_pks=[p.pk for p in shop.values()])
    use_models(settings, default=SMALL)
    embeddings.embed_products(product_pks=[p.pk for p in shop.values()])

    # (Module-scoped fixtures elsewhere may leave other models' rows behind: only these two are asked for.)
    stored = dict(
        EmbeddingSpace.objects.filter(model_name__in=["wide-512", "small-384"]).values_list("model_name", "dimensions")
    )
    assert stored == {"wide-512": 512, "small-384": 384}
    widths = set(
        ProductEmbedding.objects.annotate(width=RawSQL("vector_dims(embedding)", [])).values_list("model_name", "width")
    )
    assert widths == {("wide-512", 512), ("small-384", 384)}

    products = type(shop["jacket"]).objects.all()
    for alias, config in (("wide", WIDE), ("small", SMALL)):
        use_models(settings, **{alias: config})
        backend = get_embedding_backend(alias)
        vector = backend.embed_query("waterproof jacket")
        rows = nearest_products(vector=vector, products=products, model_name=backend.name, k=3)
        assert rows[0][0] == str(shop["jacket"].pk), alias
        # Each model's own partial HNSW index answers its queries.
        plan = plan_of_search(vector, products, backend.name)
        assert vector_spaces.index_name("product", backend.name) in plan, plan


def test_indexes_are_created_once_and_a_dropped_one_comes_back_with_reindex(settings, shop):
    use_models(settings, default=WIDE)
    embeddings.embed_products(product_pks=[p.pk for p in shop.values()])
    name = vector_spaces.index_name("product", "wide-512")
    assert vector_spaces.index_state(name) is True
    assert vector_spaces.ensure_indexes("wide-512", 512) == []  # idempotent

    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX "{name}"')
    call_command("shopai_reindex", "--no-progress")

    assert vector_spaces.index_state(name) is True


def test_a_model_switch_keeps_search_on_the_old_vectors_until_the_new_ones_are_complete(settings, shop, make_product):
    use_models(settings, default=SMALL)
    call_command("shopai_reindex", "--no-progress")
    assert EmbeddingSpace.objects.get(model_name="small-384").completed_at is not None

    # The switch: a new default model, the old one kept as "previous"; one product embedded so far.
    use_models(settings, default=WIDE, previous=SMALL)
    embeddings.embed_products(product_pks=[shop["pan"].pk])
    assert vector_spaces.serving_backend().name == "small-384"
    hits = search_products(query="waterproof jacket", k=3, mode="vector")
    assert [hit.product for hit in hits][:1] == [shop["jacket"]]  # still found: the old model serves

    call_command("shopai_reindex", "--no-progress")

    assert EmbeddingSpace.objects.get(model_name="wide-512").completed_at is not None
    assert vector_spaces.serving_backend().name == "wide-512"
    hits = search_products(query="waterproof jacket", k=3, mode="vector")
    assert hits[0].product == shop["jacket"]
    assert ProductEmbedding.objects.filter(model_name="wide-512").count() == 3


def test_prune_removes_models_no_longer_configured_only_once_the_new_one_is_complete(settings, shop):
    use_models(settings, default=SMALL)
    call_command("shopai_reindex", "--no-progress")
    use_models(settings, default=WIDE, previous=SMALL)
    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {k: v for k, v in settings.SHOPAI["EMBEDDINGS"].items() if k != "previous"},
    }
    with pytest.raises(CommandError, match="has not embedded every product"):
        call_command("shopai_reindex", "--prune")

    call_command("shopai_reindex", "--no-progress")
    call_command("shopai_reindex", "--prune")

    assert not ProductEmbedding.objects.filter(model_name="small-384").exists()
    assert vector_spaces.index_state(vector_spaces.index_name("product", "small-384")) is None
    assert not EmbeddingSpace.objects.filter(model_name="small-384").exists()
    assert EmbeddingSpace.objects.filter(model_name="wide-512").exists()


def test_the_same_model_name_at_another_width_is_refused_with_a_fix(settings, shop):
    use_models(settings, default=SMALL)
    embeddings.embed_products(product_pks=[shop["pan"].pk])
    use_models(settings, default={"CLASS": FAKE, "CONFIG": {"name": "small-384", "dimensions": 512}})

    with pytest.raises(ImproperlyConfigured, match="new CONFIG name"):
        embeddings.embed_products(product_pks=[shop["jacket"].pk])
