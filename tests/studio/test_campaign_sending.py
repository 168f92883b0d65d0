"""A segment's campaign sent through Django's e-mail framework (locmem): consent, once per shopper even
when the task runs again, unsubscribe from the link, a click and a later order credited to the variant."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone

from shopai.adapters import get_product_adapter
from shopai.models import (
    Campaign,
    CampaignClick,
    CampaignRecipient,
    Event,
    Exposure,
    GeneratedCopy,
    MarketingConsent,
    Segment,
)
from shopai.search import embeddings
from shopai.studio import campaigns, experiment_results
from shopai.studio.tasks import send_campaign_task
from tests.brokers import broker_client

pytestmark = pytest.mark.django_db
SITE = "http://testserver"


@pytest.fixture(autouse=True)
def marketing(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SHOPAI = {
        **settings.SHOPAI,
        "MARKETING": {**settings.SHOPAI.get("MARKETING", {}), "SITE_URL": SITE, "BATCH_SIZE": 3},
    }
    for queue in ("default", "embeddings"):
        broker_client().delete(queue)
    yield
    for queue in ("default", "embeddings"):
        broker_client().delete(queue)


@pytest.fixture
def campaign(make_product, django_user_model):
    tent = make_product(name="Trail tent for two", description="A light hiking tent.", category="Outdoor/Tents")
    embeddings.embed_products(product_pks=[tent.pk])
    segment = Segment.objects.create(name="Hikers")
    for number in range(8):
        shopper = django_user_model.objects.create_user(f"hiker{number}", email=f"hiker{number}@example.com")
        segment.users.add(shopper)
        if number < 6:  # two never agreed to marketing mail
            campaigns.set_consent(shopper, consented=True, source="signup")
    return Campaign.objects.create(
        segment=segment,
        subject="Our tent for two",
        body="A light tent for your next hike.",
        product_pks=[str(tent.pk)],
        parameters={"language": "en"},
    )


def _links(message, kind: str) -> list[str]:
    return re.findall(rf"{SITE}(/shopai/{kind}/[^\s\"<>]+)", message.body)


def test_a_two_variant_campaign_reaches_consenting_shoppers_once_and_credits_the_right_variant(
    campaign, client, django_user_model
):
    staff = django_user_model.objects.create_user("marketer", is_staff=True)
    campaigns.add_variant(campaign, field="subject", text="A tent for two, light on your back")
    campaign.refresh_from_db()
    campaigns.approve(campaign, user=staff)

    counts = campaigns.queue_sending(campaign)
    assert counts == {"members": 8, "consenting": 6, "queued": 6}
    first = send_campaign_task.apply(args=[campaign.pk]).get()
    assert first["sent"] == 3 and first["remaining"] == 3  # a batch of three
    send_campaign_task.apply(args=[campaign.pk]).get()
    # The task runs again (a retry, a second delivery): nobody gets a second mail.
    again = send_campaign_task.apply(args=[campaign.pk]).get()
    assert again["sent"] == 0
    campaigns.queue_sending(campaign)  # and queueing again adds nobody
    send_campaign_task.apply(args=[campaign.pk]).get()

    assert sorted(message.to[0] for message in mail.outbox) == [f"hiker{n}@example.com" for n in range(6)]
    subjects = {message.subject for message in mail.outbox}
    assert subjects <= {"Our tent for two", "A tent for two, light on your back"} and len(subjects) == 2
    campaign.refresh_from_db()
    assert campaign.sent_at is not None

    # One shopper clicks the tent in their mail and orders it two days later.
    message = mail.outbox[0]
    shopper = django_user_model.objects.get(email=message.to[0])
    recipient = CampaignRecipient.objects.get(campaign=campaign, user=shopper)
    (click,) = _links(message, "m")
    response = client.get(click)
    tent = get_product_adapter().find(campaign.product_pks[0])
    assert response.status_code == 302 and response["Location"] == tent.get_absolute_url()  # its own page
    assert CampaignClick.objects.filter(recipient=recipient).count() == 1
    Event.objects.create(user=shopper, kind="purchase", object_pk=campaign.product_pks[0], created_at=timezone.now())
    assert campaigns.attribute_purchase(user_id=shopper.pk) == 1

    result = experiment_results(campaign.experiment)
    converted = {arm.variant.name: arm.conversions for arm in result["arms"]}
    shown = {arm.variant.name: arm.impressions for arm in result["arms"]}
    assert sum(shown.values()) == 6
    assert converted == {recipient.variant.name: 1, ({"A", "B"} - {recipient.variant.name}).pop(): 0}
    assert Exposure.objects.get(experiment=campaign.experiment, visitor=f"user:{shopper.pk}").converted_at


def test_unsubscribe_works_from_the_link_without_signing_in(campaign, client):
    campaign.status = GeneratedCopy.Status.APPROVED
    campaign.save()
    campaigns.queue_sending(campaign)
    campaigns.send_batch(campaign.pk)
    message = mail.outbox[0]
    (link,) = _links(message, "unsubscribe")
    assert message.extra_headers["List-Unsubscribe"] == f"<{SITE}{link}>"

    page = client.get(link)  # a link checker's GET changes nothing
    assert page.status_code == 200 and b"Unsubscribe" in page.content
    shopper = CampaignRecipient.objects.get(email=message.to[0]).user
    assert MarketingConsent.objects.get(user=shopper).consented

    done = client.post(link)
    assert done.status_code == 200
    assert not MarketingConsent.objects.get(user=shopper).consented
    assert client.post(link[:-3] + "xx/").status_code == 404  # a forged token


def test_a_shopper_who_unsubscribes_after_queueing_gets_nothing(campaign):
    campaign.status = GeneratedCopy.Status.APPROVED
    campaign.save()
    campaigns.queue_sending(campaign)
    leaving = CampaignRecipient.objects.filter(campaign=campaign).order_by("pk").first()
    campaigns.set_consent(leaving.user, consented=False, source="account")

    while campaigns.send_batch(campaign.pk)["remaining"]:
        pass

    assert leaving.email not in {message.to[0] for message in mail.outbox}
    assert len(mail.outbox) == 5
    assert CampaignRecipient.objects.get(pk=leaving.pk).status == CampaignRecipient.Status.SKIPPED


def test_a_campaign_with_an_invented_claim_cannot_be_approved_without_a_reason(campaign, django_user_model):
    staff = django_user_model.objects.create_user("marketer", is_staff=True)
    campaign.body = "A light tent for your next hike, with a lifetime warranty and free shipping to Mars."
    campaigns.recheck(campaign)
    campaign.save()
    assert campaign.flags

    with pytest.raises(campaigns.CampaignError, match="flagged"):
        campaigns.approve(campaign, user=staff)
    with pytest.raises(campaigns.CampaignError, match="Approve"):
        campaigns.queue_sending(campaign)

    campaign.override_reason = "The warranty is on the brand's site; legal checked it."
    campaigns.approve(campaign, user=staff)
    assert Campaign.objects.get(pk=campaign.pk).status == GeneratedCopy.Status.APPROVED


def test_staff_review_send_and_export_in_admin_only_with_their_permissions(campaign, client, django_user_model):
    from django.contrib.auth.models import Permission

    url = "/admin/shopai/campaign/"
    editor = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_campaign", "change_campaign"]))
    client.force_login(editor)
    # An editor approves, but may not send: the action is not offered, and posting it anyway is refused.
    response = client.post(url, {"action": "approve", "_selected_action": [campaign.pk]})
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == GeneratedCopy.Status.APPROVED
    page = client.get(url)
    assert b'value="send"' not in page.content and b'value="approve"' in page.content
    client.post(url, {"action": "send", "_selected_action": [campaign.pk]})
    assert not CampaignRecipient.objects.exists()

    sender = django_user_model.objects.create_user("sender", password="pw", is_staff=True)
    sender.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_campaign", "change_campaign", "send_campaign"])
    )
    client.force_login(sender)
    exported = client.post(url, {"action": "export_recipients", "_selected_action": [campaign.pk]})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode().strip().splitlines()
    assert len(lines) == 1 + 6 and "/shopai/unsubscribe/" in lines[1]
    # Exported shoppers are the shop's to mail: sending afterwards does not mail them again.
    client.post(url, {"action": "send", "_selected_action": [campaign.pk]})
    campaigns.send_batch(campaign.pk)
    assert mail.outbox == []


def test_a_segment_shows_who_it_reaches_and_what_it_shares_with_others(campaign, admin_client):
    from shopai.studio import segments

    hikers = campaign.segment
    campers = Segment.objects.create(name="Campers")
    campers.users.add(*list(hikers.users.all())[:3])
    Event.objects.create(
        user=hikers.users.first(), kind="purchase", object_pk=campaign.product_pks[0], created_at=timezone.now()
    )

    assert segments.reachable_count(hikers) == 6
    assert segments.overlaps(hikers) == [(campers, 3)]
    page = admin_client.get(f"/admin/shopai/segment/{hikers.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Campers: 3" in text and "Trail tent for two" in text
