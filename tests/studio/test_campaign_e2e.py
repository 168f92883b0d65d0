"""A campaign end to end in Debian's Chromium: staff build a rule segment, have its campaign written,
approve and send it; a shopper follows the product link in the mail and the click shows in admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.browser import chromium_page, require_browser

sync_api = require_browser("the campaign test")

from shopai.models import Campaign, CampaignClick, Event, Segment  # noqa: E402
from shopai.search import embeddings  # noqa: E402
from shopai.studio import campaigns  # noqa: E402
from shopai.studio.tasks import send_campaign_task, write_campaign_task  # noqa: E402
from tests.brokers import broker_client  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
QUEUES = ("default", "embeddings", "generation")


@pytest.fixture
def shop(live_server, make_product, settings, django_user_model, monkeypatch):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "MARKETING": {**settings.SHOPAI.get("MARKETING", {}), "SITE_URL": live_server.url},
    }
    for queue in QUEUES:
        broker_client().delete(queue)
    tent = make_product(name="Trail tent for two", description="A light hiking tent.", category="Outdoor/Tents")
    stove = make_product(name="Camping stove", description="A small gas stove.", category="Outdoor/Cooking")
    embeddings.embed_products(product_pks=[tent.pk, stove.pk])
    for name, agreed in (("ann", True), ("bo", True), ("cy", False)):
        shopper = django_user_model.objects.create_user(name, email=f"{name}@example.com")
        Event.objects.create(user=shopper, kind="purchase", object_pk=str(tent.pk), created_at=timezone.now())
        if agreed:
            campaigns.set_consent(shopper, consented=True, source="signup")
    admin = get_user_model().objects.create_superuser("marketer", "m@example.com", "pw-marketer-1")
    client = Client()
    client.force_login(admin)
    cookies = [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    try:
        with chromium_page(monkeypatch, locale="en-GB", height=900, cookies=cookies) as page:
            yield page, live_server
    finally:
        for queue in QUEUES:
            broker_client().delete(queue)


def _action(page, name: str) -> None:
    page.locator('input[name="_selected_action"]').first.check()
    page.locator('select[name="action"]').select_option(name)
    page.get_by_role("button", name="Go").click()


def test_staff_build_a_segment_send_its_campaign_and_see_the_click(shop):
    page, server = shop
    expect = sync_api.expect

    page.goto(f"{server.url}/admin/shopai/segment/add/")
    page.fill("#id_name", "Tent buyers")
    page.fill("#id_rule", '{"category": "Outdoor", "kind": "purchase"}')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("3 shoppers match the rule")

    _action(page, "write_campaign")
    expect(page.locator(".messagelist")).to_contain_text("Writing campaigns in the background")
    segment = Segment.objects.get(name="Tent buyers")
    campaign = Campaign.objects.get(pk=write_campaign_task.apply(args=[segment.pk, "friendly", "en"]).get())

    page.goto(f"{server.url}/admin/shopai/campaign/{campaign.pk}/change/")
    expect(page.locator(".field-guard")).to_be_visible()
    if campaign.flags:  # the writer may state something the products do not: staff say why it may go
        page.fill("#id_override_reason", "Checked by the marketing lead.")
        page.get_by_role("button", name="Save", exact=True).click()
    page.goto(f"{server.url}/admin/shopai/campaign/")
    _action(page, "approve")
    expect(page.locator(".messagelist")).to_contain_text("approved")
    _action(page, "send")
    expect(page.locator(".messagelist")).to_contain_text("2 mails queued (2 of 3 shoppers agreed")

    send_campaign_task.apply(args=[campaign.pk]).get()  # the worker's part, in this process
    assert sorted(message.to[0] for message in mail.outbox) == ["ann@example.com", "bo@example.com"]
    link = re.search(rf"{re.escape(server.url)}/shopai/m/\S+", mail.outbox[0].body).group(0)

    page.goto(link)  # the shopper follows the product link in their mail
    assert "/shopai/m/" not in page.url
    assert CampaignClick.objects.filter(recipient__campaign=campaign).count() == 1
    page.goto(f"{server.url}/admin/shopai/campaign/{campaign.pk}/change/")
    expect(page.locator(".field-delivery")).to_contain_text("clicked: 1")
    expect(page.locator(".field-delivery")).to_contain_text("sent: 2")
