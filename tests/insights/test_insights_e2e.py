"""The AI insights pages in Debian's Chromium: staff see each page's charts and numbers; a shopper and an
anonymous visitor are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from tests.browser import chromium_page, require_browser

sync_api = require_browser("the insights pages test")

from shopai.models import Exchange, Experiment, Exposure, Variant  # noqa: E402
from shopai.search import embeddings  # noqa: E402
from tests.brokers import broker_client  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
PAGES = {
    "": ["Questions to the assistant", "Searches"],
    "assistant/": ["Conversations", "Answered"],
    "search/": ["Searches", "Searches with a click"],
    "recommendations/": ["Lists shown", "Click-through"],
    "experiments/": ["Subject line"],
}


def _session_cookie(user, server) -> list[dict]:
    client = Client()
    client.force_login(user)
    return [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.url}]


@pytest.fixture
def activity(make_product, django_user_model):
    """A little of everything, recorded through the shop's own requests where shoppers make it."""
    broker_client().delete("embeddings")
    products = [
        make_product(name="Trail tent for two", description="Hiking tent.", category="Outdoor/Tents"),
        make_product(name="Sleeping bag", description="Warm sleeping bag.", category="Outdoor/Sleeping"),
        make_product(name="Frying pan", description="Kitchen pan.", category="Home/Kitchen"),
    ]
    embeddings.embed_products(product_pks=[p.pk for p in products])
    shopper = django_user_model.objects.create_user("shopper", password="pw-shopper-1")
    visitor = Client()
    visitor.force_login(shopper)
    for query in ("tent", "tent", "sleeping bag"):
        body = visitor.get("/api/shopai/search", {"q": query}).json()
        if query == "tent":
            visitor.get(body["results"][0]["click_url"])
    recs = visitor.get("/api/shopai/recommendations", {"k": 3}).json()
    visitor.get(recs["results"][0]["click_url"])
    for handoff, question in ((False, "How long does shipping take?"), (True, "I want to talk to a person")):
        Exchange.objects.create(
            session_id=f"chat-{question}",
            question=question,
            language="en",
            intent="human" if handoff else "shipping",
            reply="…",
            confidence=0.3 if handoff else 0.9,
            handoff=handoff,
            handoff_reason="asked_for_human" if handoff else "",
        )
    experiment = Experiment.objects.create(key="subject", name="Subject line", status=Experiment.Status.RUNNING)
    control = Variant.objects.create(experiment=experiment, name="A", text="a", is_control=True)
    variant = Variant.objects.create(experiment=experiment, name="B", text="b")
    for arm in (control, variant):
        Exposure.objects.bulk_create(
            Exposure(
                experiment=experiment,
                variant=arm,
                visitor=f"{arm.name}{i}",
                converted_at=timezone.now() if i < 3 else None,
            )
            for i in range(30)
        )
    broker_client().delete("embeddings")
    return shopper


def test_staff_see_every_insights_page_with_charts_and_numbers(activity, live_server, monkeypatch):
    staff = get_user_model().objects.create_user("analyst", password="pw-analyst-1", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_insight"))
    expect = sync_api.expect
    with chromium_page(monkeypatch, locale="en-GB", height=1000, cookies=_session_cookie(staff, live_server)) as page:
        for path, words in PAGES.items():
            page.goto(f"{live_server.url}/admin/shopai/insight/{path}")
            expect(page.locator("h1")).to_contain_text("AI insights")
            charts = page.locator("figure.shopai-chart svg")
            expect(charts.first).to_be_visible()
            for word in words:
                expect(page.locator("#content")).to_contain_text(word)
        page.goto(f"{live_server.url}/admin/shopai/insight/search/")
        # 3 searches, the two for "tent" with a click: the figures say so.
        figures = page.locator("ul.figures")
        expect(figures.locator("li", has_text="Searches with a click")).to_contain_text("66.7 %")
        expect(figures.locator("li", has_text="Distinct visitors")).to_contain_text("1")
        page.goto(f"{live_server.url}/admin/shopai/insight/experiments/")
        expect(page.locator("#chart-experiment_" + str(Experiment.objects.get().pk) + " svg")).to_be_visible()


def test_a_shopper_and_an_anonymous_visitor_are_refused(activity, live_server, monkeypatch):
    expect = sync_api.expect
    with chromium_page(monkeypatch, locale="en-GB") as page:
        page.goto(f"{live_server.url}/admin/shopai/insight/search/")
        expect(page.locator("#login-form")).to_be_visible()  # anonymous: the admin's login
        expect(page.locator("figure.shopai-chart")).to_have_count(0)
    with chromium_page(monkeypatch, locale="en-GB", cookies=_session_cookie(activity, live_server)) as page:
        page.goto(f"{live_server.url}/admin/shopai/insight/")
        expect(page.locator("#login-form")).to_be_visible()  # a shopper is not staff
        expect(page.locator("figure.shopai-chart")).to_have_count(0)
