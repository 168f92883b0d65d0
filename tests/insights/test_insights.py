"""The insights pages: lists shown and clicked, the figures built from them, who may see them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from shopai.core import tracking
from shopai.insights import figures
from shopai.models import Event, Experiment, Exposure, ListClick, ListImpression, Variant
from shopai.search import embeddings
from shopai.studio import wilson_interval
from tests.brokers import broker_client

pytestmark = pytest.mark.django_db
SEARCH = "/api/shopai/search"
CLICKS = "/api/shopai/clicks"
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
        "bag": make_product(name="Sleeping bag", description="Hiking sleeping bag.", category="Outdoor/Sleeping"),
        "pan": make_product(name="Frying pan", description="Kitchen pan.", category="Home/Kitchen"),
        "pot": make_product(name="Stock pot", description="Kitchen pot.", category="Home/Kitchen"),
    }
    embeddings.embed_products(product_pks=[p.pk for p in items.values()])
    return items


def _period(**kwargs):
    return figures.Period(days=7, **kwargs)


def test_a_search_with_a_click_and_one_without_give_half_click_through(client, shop):
    first = client.get(SEARCH, {"q": "tent"}).json()
    second = client.get(SEARCH, {"q": "kitchen pan"}).json()
    assert first["tracking"] and second["tracking"] and first["tracking"] != second["tracking"]
    clicked = first["results"][0]
    assert (
        client.post(CLICKS, {"token": first["tracking"], "product_id": clicked["id"]}, "application/json").status_code
        == 204
    )
    # The same click again counts once.
    client.post(CLICKS, {"token": first["tracking"], "product_id": clicked["id"]}, "application/json")

    totals = figures.search(_period())["totals"]
    assert totals["searches"] == 2
    assert totals["searches_clicked"] == 1
    assert totals["click_through"] == pytest.approx(0.5)
    assert totals["mean_position"] == pytest.approx(1.0)
    assert ListClick.objects.get().source in {"keyword", "vector", "both"}


def test_a_click_on_a_product_the_list_did_not_show_is_not_counted(client, shop):
    body = client.get(SEARCH, {"q": "tent"}).json()
    other = str(max(p.pk for p in shop.values())) + "0"  # a product the list did not hold
    assert client.post(CLICKS, {"token": body["tracking"], "product_id": other}, "application/json").status_code == 204
    bad = client.post(CLICKS, {"token": "not-a-token", "product_id": other}, "application/json")
    assert bad.status_code == 400
    assert ListClick.objects.count() == 0


def test_the_click_link_goes_to_the_products_own_page_and_counts_once(client, shop):
    body = client.get(SEARCH, {"q": "tent"}).json()
    hit = body["results"][0]
    response = client.get(hit["click_url"])
    assert response.status_code == 302
    assert response["Location"] == hit["url"]
    client.get(hit["click_url"])
    assert ListClick.objects.filter(impression_id=body["tracking"], product_pk=hit["id"]).count() == 1
    assert client.get(f"/shopai/go/{body['tracking']}/no-such-product/").status_code == 404


def test_a_recommendation_click_is_attributed_to_its_source(client, shop, django_user_model, settings):
    settings.SHOPAI = {**settings.SHOPAI, "INSIGHTS": {**settings.SHOPAI.get("INSIGHTS", {}), "ATTRIBUTION_DAYS": 7}}
    shopper = django_user_model.objects.create_user("ann", password="pw")
    two_months_ago = timezone.now() - timedelta(days=60)
    Event.objects.create(
        user=shopper, kind=Event.Kind.PURCHASE, object_pk=str(shop["pan"].pk), created_at=two_months_ago
    )
    client.force_login(shopper)
    body = client.get(RECS, {"k": 4}).json()
    again = body["results"][0]
    assert again["source"] in {"buy_again", "interests", "bought_together", "trending"}, body
    client.post(CLICKS, {"token": body["tracking"], "product_id": again["id"]}, "application/json")
    # Bought two days later (an order's line), and something never clicked bought too.
    never_clicked = next(str(p.pk) for p in shop.values() if str(p.pk) != again["id"])
    later = timezone.now() + timedelta(days=2)
    Event.objects.create(
        user=shopper, kind=Event.Kind.PURCHASE, object_pk=again["id"], created_at=later, source="order:1"
    )
    Event.objects.create(
        user=shopper, kind=Event.Kind.PURCHASE, object_pk=never_clicked, created_at=later, source="order:1"
    )

    attributed = figures.attributed_orders(figures.Period(days=7, now=later + timedelta(hours=1)))
    assert attributed["by_source"] == {again["source"]: {"lines": 1, "orders": 1}}

    # Bought after the attribution window: not the recommendation's doing.
    much_later = timezone.now() + timedelta(days=20)
    Event.objects.create(
        user=shopper, kind=Event.Kind.PURCHASE, object_pk=again["id"], created_at=much_later, source="order:2"
    )
    attributed = figures.attributed_orders(figures.Period(days=7, now=much_later + timedelta(hours=1)))
    assert attributed["orders"] == 0


def test_the_recommendation_tag_links_through_the_click_link(rf, shop, django_user_model):
    request = RequestFactory().get("/")
    request.user = django_user_model.objects.create_user("bo", password="pw")
    request.session = {}
    html = Template("{% load shopai %}{% shopai_recommendations k=3 %}").render(Context({"request": request}))
    tracking.flush()
    shown = ListImpression.objects.get(kind="recommendation")
    assert shown.placement == "recommendations"
    assert len(shown.product_pks) == 3
    assert f"/shopai/go/{shown.pk}/{shown.product_pks[0]}/" in html


def test_the_experiment_chart_draws_the_intervals_of_experiment_stats(django_user_model):
    experiment = Experiment.objects.create(key="subject-test", name="Subject test", status=Experiment.Status.RUNNING)
    control = Variant.objects.create(experiment=experiment, name="A", text="a", is_control=True)
    variant = Variant.objects.create(experiment=experiment, name="B", text="b")
    now = timezone.now()
    for arm, shown, converted in ((control, 40, 4), (variant, 50, 12)):
        Exposure.objects.bulk_create(
            Exposure(
                experiment=experiment,
                variant=arm,
                visitor=f"{arm.name}{i}",
                converted_at=now if i < converted else None,
            )
            for i in range(shown)
        )
    page = figures.experiments(_period())
    (item,) = page["experiments"]
    arms = {arm["name"]: arm for arm in item["arms"]}
    assert (arms["A"]["low"], arms["A"]["high"]) == wilson_interval(4, 40, 0.95)
    assert (arms["B"]["low"], arms["B"]["high"]) == wilson_interval(12, 50, 0.95)
    chart = item["chart"]
    assert chart.series["low"] == [arms["A"]["low"], arms["B"]["low"]]
    assert arms["A"]["still_needed"] > 0
    assert "<svg" in chart.svg()


def test_a_script_typed_into_search_is_shown_as_text_on_the_page(admin_client, settings):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "INSIGHTS": {**settings.SHOPAI.get("INSIGHTS", {}), "MIN_DISTINCT_VISITORS": 2},
    }
    for visitor in ("v1", "v2"):
        ListImpression.objects.create(
            kind="search",
            placement="search_page",
            query="<script>alert(1)</script>",
            visitor=visitor,
            language="en",
            created_at=timezone.now(),
        )
    response = admin_client.get("/admin/shopai/insight/search/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # in the chart's text and in its table
    export = admin_client.get("/admin/shopai/insight/search/", {"csv": "top_queries"})
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[1][0] == "<script>alert(1)</script>"


def test_a_query_few_visitors_asked_is_not_listed(admin_client):
    now = timezone.now()
    ListImpression.objects.create(kind="search", placement="api", query="my own name", visitor="v1", created_at=now)
    for visitor in ("v1", "v2", "v3"):  # the default threshold: three different visitors
        ListImpression.objects.create(kind="search", placement="api", query="Tent", visitor=visitor, created_at=now)
    page = figures.search(_period())
    assert page["totals"]["searches"] == 4 and page["totals"]["visitors"] == 3
    assert [row["text"] for row in page["top"]] == ["tent"]


def test_the_search_page_links_each_result_through_the_click_link(client, shop):
    page = client.get("/shopai/search/", {"q": "tent"}).content.decode()
    shown = ListImpression.objects.get(kind="search", placement="search_page")
    assert shown.query == "tent" and shown.product_pks
    assert f'href="/shopai/go/{shown.pk}/{shown.product_pks[0]}/"' in page


@pytest.mark.parametrize("page", ["", "assistant/", "search/", "recommendations/", "experiments/"])
def test_who_may_see_the_insights_pages(client, django_user_model, page):
    url = f"/admin/shopai/insight/{page}"
    assert client.get(url).status_code == 302  # anonymous: to the admin login
    shopper = django_user_model.objects.create_user("shopper", password="pw")
    client.force_login(shopper)
    assert client.get(url).status_code == 302  # not staff: to the admin login
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_insight"))
    client.force_login(django_user_model.objects.get(pk=staff.pk))
    response = client.get(url)
    assert response.status_code == 200
    assert b"AI insights" in response.content


def test_lists_over_the_hourly_cap_are_not_recorded(settings):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "INSIGHTS": {**settings.SHOPAI.get("INSIGHTS", {}), "MAX_LISTS_PER_VISITOR_HOUR": 3},
    }
    request = RequestFactory().get("/")
    request.user = None
    visitor = f"capped-{uuid.uuid4()}"  # the hourly counts live in the shared cache: a visitor of its own
    request.session = {"shopai_visitor": visitor}
    for _ in range(5):
        tracking.list_shown(kind="search", placement="api", items=[("1", "keyword")], request=request, query="tee")
    assert tracking.flush() == 3
    assert ListImpression.objects.filter(visitor=visitor).count() == 3


def test_a_page_is_read_from_the_cache_until_staff_ask_for_fresh_figures(admin_client, settings):
    from django.core.cache import cache

    from shopai.insights import pages

    settings.SHOPAI = {**settings.SHOPAI, "INSIGHTS": {**settings.SHOPAI.get("INSIGHTS", {}), "CACHE_SECONDS": 60}}
    period = figures.Period(days=7, language="zh")
    cache.delete(pages._key("search", period))
    try:
        first = pages.page_data("search", period)
        ListImpression.objects.create(
            kind="search", placement="api", query="茶叶", visitor="v1", language="zh", created_at=timezone.now()
        )
        assert pages.page_data("search", period)["totals"]["searches"] == first["totals"]["searches"] == 0
        fresh = admin_client.get("/admin/shopai/insight/search/", {"days": 7, "language": "zh", "refresh": 1})
        assert fresh.status_code == 200
        assert pages.page_data("search", period)["totals"]["searches"] == 1
    finally:
        cache.delete(pages._key("search", period))
