"""Events, interest profiles and recommendations on the real database (fake embedding model)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.db import transaction
from django.utils import timezone

from shopai.models import Event, UserProfile
from shopai.recommendations.events import erase_shopper_data, record_event
from shopai.recommendations.profiles import rebuild_profile
from shopai.recommendations.recommenders import recommend_for_user
from shopai.search import embeddings
from tests.brokers import broker_client
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
EVENTS = "/api/shopai/events"
RECS = "/api/shopai/recommendations"


@pytest.fixture(autouse=True)
def empty_queues():
    broker_client().delete("embeddings")
    yield
    broker_client().delete("embeddings")


@pytest.fixture
def shop(make_product):
    items = {
        "tent": make_product(name="Trail tent for two", description="Hiking tent, light.", category="Outdoor/Tents"),
        "tent2": make_product(name="Family tent", description="Hiking tent for four.", category="Outdoor/Tents"),
        "bag": make_product(name="Sleeping bag", description="Hiking sleeping bag.", category="Outdoor/Sleeping"),
        "pan": make_product(name="Frying pan", description="Kitchen pan.", category="Home/Kitchen"),
        "pot": make_product(name="Stock pot", description="Kitchen pot.", category="Home/Kitchen"),
        "kettle": make_product(name="Kettle", description="Kitchen kettle.", category="Home/Kitchen"),
    }
    embeddings.embed_products(product_pks=[p.pk for p in items.values()])
    return items


def test_a_shopper_without_history_gets_trending_products(shop, django_user_model):
    newcomer = django_user_model.objects.create_user("new")
    for _ in range(3):
        record_event(kind="view", session_key="s1", product_pk=shop["kettle"].pk)
    record_event(kind="purchase", session_key="s2", product_pk=shop["pan"].pk)

    recs = recommend_for_user(user=newcomer, k=3)

    assert [r.product for r in recs[:2]] == [shop["pan"], shop["kettle"]]  # purchase weighs 5, views 3 × 1
    assert recs[0].reason == "Trending now"
    assert len(recs) == 3


def test_a_shopper_with_history_gets_similar_products_with_a_reason(shop, django_user_model):
    hiker = django_user_model.objects.create_user("hiker")
    record_event(kind="view", user=hiker, product_pk=shop["tent"].pk)
    record_event(kind="view", user=hiker, product_pk=shop["bag"].pk)
    rebuild_profile(user_id=hiker.pk)

    recs = recommend_for_user(user=hiker, k=2)

    assert recs[0].product == shop["tent2"]
    assert recs[0].reason.startswith("Because you viewed ")
    assert not {shop["tent"], shop["bag"]} & {r.product for r in recs}  # already seen: not a discovery


def test_bought_items_do_not_come_back_unless_repurchase_is_on(shop, django_user_model, settings):
    buyer = django_user_model.objects.create_user("buyer")
    record_event(kind="purchase", user=buyer, product_pk=shop["tent"].pk)
    rebuild_profile(user_id=buyer.pk)

    assert shop["tent"] not in [r.product for r in recommend_for_user(user=buyer, k=5)]
    settings.SHOPAI = {**settings.SHOPAI, "RECOMMENDATIONS": {"REPURCHASE": True}}
    again = recommend_for_user(user=buyer, k=5)[0]
    assert again.product == shop["tent"] and again.reason == "Buy again: you bought this before"


def test_repurchase_per_category_by_name_covers_subcategories(shop, django_user_model, settings):
    buyer = django_user_model.objects.create_user("groceries")
    record_event(kind="purchase", user=buyer, product_pk=shop["tent"].pk)
    record_event(kind="purchase", user=buyer, product_pk=shop["pan"].pk)
    settings.SHOPAI = {
        **settings.SHOPAI,
        "RECOMMENDATIONS": {"REPURCHASE": False, "REPURCHASE_CATEGORIES": {"Home": True}},
    }

    shown = [r.product for r in recommend_for_user(user=buyer, k=6, blend={"buy_again": 1.0})]

    assert shown[0] == shop["pan"]  # Home/Kitchen recurs
    assert shop["tent"] not in shown  # Outdoor/Tents does not


def test_buy_again_blend_explains_each_item_by_the_part_that_chose_it(shop, django_user_model, settings):
    settings.SHOPAI = {**settings.SHOPAI, "RECOMMENDATIONS": {"REPURCHASE": True}}
    now = timezone.now()
    for name in ("a", "b"):  # other shoppers buy the kettle with the pan
        other = django_user_model.objects.create_user(f"kitchen-{name}")
        record_event(kind="purchase", user=other, product_pk=shop["pan"].pk, when=now - timedelta(days=2))
        record_event(kind="purchase", user=other, product_pk=shop["kettle"].pk, when=now - timedelta(days=2))
    buyer = django_user_model.objects.create_user("cook")
    record_event(kind="purchase", user=buyer, product_pk=shop["pan"].pk, when=now - timedelta(days=10))
    record_event(kind="view", user=buyer, product_pk=shop["tent"].pk, when=now - timedelta(days=1))

    recs = recommend_for_user(user=buyer, k=3, blend={"buy_again": 0.6, "bought_together": 0.4})
    reasons = {r.product: r.reason for r in recs}

    assert reasons[shop["pan"]] == "Buy again: you bought this before"
    assert reasons[shop["kettle"]] == "Often bought with Frying pan"
    assert shop["tent"] not in reasons  # viewed, not bought: not offered back


def test_replaying_history_at_a_past_moment_ignores_later_events(shop, django_user_model, settings):
    settings.SHOPAI = {**settings.SHOPAI, "RECOMMENDATIONS": {"REPURCHASE": True}}
    now = timezone.now()
    shopper = django_user_model.objects.create_user("replay")
    record_event(kind="purchase", user=shopper, product_pk=shop["bag"].pk, when=now - timedelta(days=30))
    record_event(kind="purchase", user=shopper, product_pk=shop["kettle"].pk, when=now - timedelta(days=1))
    then = now - timedelta(days=10)

    recs = recommend_for_user(user=shopper, k=2, now=then, blend={"buy_again": 1.0})

    assert recs[0].product == shop["bag"] and recs[0].reason == "Buy again: you bought this before"
    assert recs[1].reason == "New in the shop"  # the kettle was not bought yet, nor anything else trending
    newcomer_then = recommend_for_user(user=shopper, k=1, now=now - timedelta(days=40))
    assert newcomer_then[0].reason in {"Trending now", "New in the shop"}  # no history yet at that time


def test_unknown_blend_part_is_refused(shop, django_user_model):
    shopper = django_user_model.objects.create_user("typo")
    record_event(kind="view", user=shopper, product_pk=shop["tent"].pk)
    with pytest.raises(ValueError, match="Unknown recommendation parts"):
        recommend_for_user(user=shopper, k=2, blend={"popular": 1.0})


def test_filters_that_match_one_percent_still_return_k_results(make_product, django_user_model):
    products = []
    for i in range(600):
        category = "Rare/Lamps" if i % 100 == 0 else "Common/Things"
        products.append(make_product(name=f"Thing {i}", description=f"Item {i} hiking", category=category, stock=i % 3))
    embeddings.reindex_products()
    rare = products[0].category
    hiker = django_user_model.objects.create_user("filtered")
    record_event(kind="view", user=hiker, product_pk=products[5].pk)
    rebuild_profile(user_id=hiker.pk)

    recs = recommend_for_user(user=hiker, k=6, category=rare.pk)

    assert len(recs) == 6 and {r.product.category_id for r in recs} == {rare.pk}
    assert all(r.reason != "New in the shop" for r in recs)  # found by the vector search, not padded


def test_erasing_a_shoppers_data_removes_events_and_profile(shop, django_user_model):
    user = django_user_model.objects.create_user("gone")
    record_event(kind="view", user=user, product_pk=shop["tent"].pk)
    rebuild_profile(user_id=user.pk)

    erase_shopper_data(user=user)

    assert not Event.objects.filter(user=user).exists()
    assert not UserProfile.objects.filter(user=user).exists()


def test_old_events_count_less_than_new_ones(shop, django_user_model):
    user = django_user_model.objects.create_user("decay")
    record_event(kind="view", user=user, product_pk=shop["pan"].pk, when=timezone.now() - timedelta(days=365))
    record_event(kind="view", user=user, product_pk=shop["tent"].pk)
    rebuild_profile(user_id=user.pk)

    assert recommend_for_user(user=user, k=1)[0].product == shop["tent2"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "like", "product_id": "1"}, "is not an event type"),
        ({"type": "view"}, "needs the product_id"),
        ({"type": "search"}, "needs the query"),
        (["view"], "Send a JSON object"),
    ],
)
def test_bad_events_get_a_400(client, payload, message):
    response = client.post(EVENTS, payload, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_anonymous_events_follow_the_visitor_into_their_account(client, shop, django_user_model):
    user = django_user_model.objects.create_user("visitor", password="pw")
    assert (
        client.post(
            EVENTS, {"type": "view", "product_id": str(shop["tent"].pk)}, content_type="application/json"
        ).status_code
        == 201
    )
    assert Event.objects.get().user is None

    client.login(username="visitor", password="pw")

    assert Event.objects.get().user == user


def test_recommendations_api_and_staff_only_user_parameter(client, admin_client, shop, django_user_model):
    django_user_model.objects.create_user("someone")
    body = client.get(RECS, {"k": 3}).json()
    assert body["count"] == 3 and {"id", "name", "reason", "score"} <= set(body["results"][0])

    assert client.get(RECS, {"user": "someone"}).status_code == 403
    assert admin_client.get(RECS, {"user": "someone", "k": 2}).json()["count"] == 2
    assert admin_client.get(RECS, {"user": "nobody"}).status_code == 404
    assert client.get(RECS, {"k": 0}).status_code == 400


def test_similar_products_api(client, shop):
    body = client.get(f"/api/shopai/products/{shop['tent'].pk}/similar", {"k": 1}).json()
    assert body["results"][0]["id"] == str(shop["tent2"].pk)
    assert client.get("/api/shopai/products/999999/similar").status_code == 404


def test_bought_together_comes_from_shared_baskets(shop, django_user_model):
    now = timezone.now()
    for name in ("a", "b", "c"):
        user = django_user_model.objects.create_user(f"basket-{name}")
        record_event(kind="purchase", user=user, product_pk=shop["tent"].pk, when=now)
        record_event(kind="purchase", user=user, product_pk=shop["bag"].pk, when=now)
    loner = django_user_model.objects.create_user("loner")
    record_event(kind="purchase", user=loner, product_pk=shop["tent"].pk, when=now - timedelta(days=3))
    record_event(kind="purchase", user=loner, product_pk=shop["pan"].pk, when=now)  # another day: not together

    from shopai.recommendations.recommenders import bought_together

    together = bought_together(product=shop["tent"], k=3)

    assert [r.product for r in together] == [shop["bag"]]
    assert together[0].reason == "Often bought with Trail tent for two"


def test_import_events_creates_users_skips_unknown_skus_and_builds_profiles(shop, tmp_path):
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    path = tmp_path / "events.csv"
    path.write_text(
        "user,sku,type,timestamp\n"
        f"ann,{shop['tent'].sku},view,2026-11-01T10:00:00\n"
        f"ann,{shop['bag'].sku},purchase,11/02/2026 09:30\n"
        "ann,NO-SUCH-SKU,view,2026-11-03T10:00:00\n"
        f"ann,{shop['pan'].sku},like,2026-11-03T10:00:00\n"
        f"ann,{shop['pan'].sku},view,yesterday\n",
        encoding="utf-8",
    )
    out, err = StringIO(), StringIO()

    call_command("shopai_import_events", path, no_progress=True, stdout=out, stderr=err)

    ann = get_user_model().objects.get(username="ann")
    assert not ann.is_active
    assert Event.objects.filter(user=ann).count() == 2
    assert "2 events imported, 1 users created, 2 rows rejected." in out.getvalue()
    assert "NO-SUCH-SKU (1)" in err.getvalue() and "line 5: rejected: type 'like'" in err.getvalue()
    assert "line 6: rejected: timestamp 'yesterday'" in err.getvalue()
    assert UserProfile.objects.filter(user=ann).exists()


def test_rebuild_profiles_command_builds_profiles_once_products_have_vectors(make_product, django_user_model):
    from io import StringIO

    from django.core.management import call_command

    hiker = django_user_model.objects.create_user("late")
    tent = make_product(name="Tent", description="Hiking tent.")
    record_event(kind="view", user=hiker, product_pk=tent.pk)
    assert rebuild_profile(user_id=hiker.pk) is None  # the tent has no vector yet
    embeddings.embed_products(product_pks=[tent.pk])
    out = StringIO()

    call_command("shopai_rebuild_profiles", no_progress=True, stdout=out)

    assert UserProfile.objects.filter(user=hiker).exists()
    assert "1 profiles built" in out.getvalue()


def test_orders_count_as_purchases_and_cancelling_withdraws_them(
    shop, django_user_model, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    buyer = django_user_model.objects.create_user("orderer")
    # As a checkout does: the order, then its lines, in one transaction (the test's own
    # transaction never commits, so the commit hooks are run by hand).
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        order = OrderFactory(user=buyer, status="paid", products=[shop["tent"], shop["bag"]])

    bought = Event.objects.filter(user=buyer, kind="purchase")
    assert sorted(bought.values_list("object_pk", flat=True)) == sorted([str(shop["tent"].pk), str(shop["bag"].pk)])
    order.status = "cancelled"
    with django_capture_on_commit_callbacks(execute=True):
        order.save()
    assert not bought.exists()
    type(order).objects.filter(pk=order.pk).update(status="delivered")  # bypasses signals

    call_command("shopai_sync_orders", no_progress=True, stdout=StringIO())

    assert bought.count() == 2
    call_command("shopai_sync_orders", no_progress=True, stdout=StringIO())
    assert bought.count() == 2  # idempotent


def test_a_category_that_is_no_id_is_a_400_not_a_500(client, shop):
    response = client.get("/api/shopai/recommendations", {"category": "abc"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"category": ["'abc' is not a category id of this shop."]}
