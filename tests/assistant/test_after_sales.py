"""Returns and cancellations through the assistant, on the demo shop's order adapter, with the real models.

What a shopper notices: the assistant checks the shop's rules for *their* order, asks before acting,
records one request however often they confirm, and refuses politely (naming the reason) otherwise.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from shopai.models import AfterSalesRequest, HandoffCase
from tests.assistant.conftest import ask
from tests.factories import OrderFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def shop(django_user_model, make_product):
    ann = django_user_model.objects.create_user("ann-as", password="pw")
    bob = django_user_model.objects.create_user("bob-as", password="pw")
    boots = make_product(sku="B-1", name="Trail boots", price=90, category="Outdoor")
    socks = make_product(sku="S-1", name="Wool socks", price=12, category="Outdoor")
    now = timezone.now()
    delivered = OrderFactory(
        user=ann,
        status="delivered",
        shipped_at=now - timedelta(days=6),
        delivered_at=now - timedelta(days=3),
        products=[boots, socks],
    )
    old = OrderFactory(
        user=ann,
        status="delivered",
        shipped_at=now - timedelta(days=70),
        delivered_at=now - timedelta(days=65),
        products=[boots],
    )
    paid = OrderFactory(user=ann, status="paid", products=[socks])
    shipped = OrderFactory(user=ann, status="shipped", shipped_at=now - timedelta(days=1), products=[socks])
    bobs = OrderFactory(
        user=bob,
        status="delivered",
        shipped_at=now - timedelta(days=6),
        delivered_at=now - timedelta(days=2),
        products=[boots],
    )
    return {"ann": ann, "bob": bob, "delivered": delivered, "old": old, "paid": paid, "shipped": shipped, "bobs": bobs}


def test_a_return_is_requested_for_own_order_within_the_window_once(client, assistant, shop):
    client.force_login(shop["ann"])
    number = shop["delivered"].pk

    asked = ask(client, f"I want to return the boots from order {number}")
    window_ends = (shop["delivered"].delivered_at + timedelta(days=30)).date()

    assert asked["intent"] == "return_refund", asked
    assert "Trail boots" in asked["reply"] and str(window_ends.day) in asked["reply"], asked["reply"]
    assert not AfterSalesRequest.objects.exists()  # nothing before the shopper confirms

    done = ask(client, "yes please", session_id=asked["session_id"])
    again = ask(client, "yes", session_id=asked["session_id"])

    request = AfterSalesRequest.objects.get()
    assert (request.kind, request.status, request.order_number) == ("return", "requested", str(number))
    assert request.user == shop["ann"] and request.line_description == "Trail boots"
    assert "Trail boots" in done["reply"] and not done["handoff"]
    assert "already" in again["reply"]
    # The same confirmation sent twice (a double click: both turns see the question pending).
    retry = ask(client, f"I want to return the socks from order {number}")
    pending = retry["session_id"]
    from shopai.models import Conversation

    state = Conversation.objects.get(session_id=pending).state
    ask(client, "yes", session_id=pending)
    conversation = Conversation.objects.get(session_id=pending)
    conversation.state = state
    conversation.save()
    ask(client, "yes", session_id=pending)
    assert AfterSalesRequest.objects.filter(line_description="Wool socks").count() == 1


def test_several_items_are_asked_about_and_chosen_by_position(client, assistant, shop):
    client.force_login(shop["ann"])

    asked = ask(client, f"I'd like to return something from order {shop['delivered'].pk}")
    assert "Trail boots" in asked["reply"] and "Wool socks" in asked["reply"], asked["reply"]

    chosen = ask(client, "the second one", session_id=asked["session_id"])
    assert "Wool socks" in chosen["reply"] and "Trail boots" not in chosen["reply"], chosen["reply"]


def test_another_shoppers_order_is_not_found_and_nothing_is_created(client, assistant, shop):
    client.force_login(shop["ann"])

    body = ask(client, f"I want to return the boots from order {shop['bobs'].pk}")
    ask(client, "yes", session_id=body["session_id"])

    assert "couldn't find order" in body["reply"], body["reply"]
    assert "Trail boots" not in body["reply"]
    assert not AfterSalesRequest.objects.exists()


def test_outside_the_window_the_refusal_names_the_last_day(client, assistant, shop):
    client.force_login(shop["ann"])
    closed = (shop["old"].delivered_at + timedelta(days=30)).date()

    body = ask(client, f"I want to return the boots from order {shop['old'].pk}")
    ask(client, "yes", session_id=body["session_id"])

    assert "closed" in body["reply"] and str(closed.year) in body["reply"], body["reply"]
    assert not AfterSalesRequest.objects.exists()


def test_anonymous_shoppers_are_asked_to_sign_in_and_nothing_is_created(client, assistant, shop):
    body = ask(client, f"I want to return the boots from order {shop['delivered'].pk}")
    ask(client, "yes", session_id=body["session_id"])

    assert "sign in" in body["reply"].lower(), body["reply"]
    assert "Trail boots" not in body["reply"]
    assert not AfterSalesRequest.objects.exists()


def test_cancellation_before_shipping_only(client, assistant, shop):
    client.force_login(shop["ann"])

    shipped = ask(client, f"Please cancel order {shop['shipped'].pk}")
    ask(client, "yes", session_id=shipped["session_id"])
    assert "already shipped" in shipped["reply"], shipped["reply"]
    assert not AfterSalesRequest.objects.exists()

    paid = ask(client, f"Please cancel order {shop['paid'].pk}")
    assert "cancel order" in paid["reply"].lower() and paid["intent"] == "cancel_order", paid
    declined = ask(client, "no", session_id=paid["session_id"])
    assert not AfterSalesRequest.objects.exists() and "haven't changed" in declined["reply"]

    paid = ask(client, f"Please cancel order {shop['paid'].pk}")
    ask(client, "yes", session_id=paid["session_id"])
    request = AfterSalesRequest.objects.get()
    assert (request.kind, request.order_number, request.line_ref) == ("cancel", str(shop["paid"].pk), "")


def test_a_shop_without_after_sales_hooks_gets_contact_us_and_a_case(client, assistant, shop, settings):
    settings.SHOPAI = {**settings.SHOPAI, "ORDER_ADAPTER": "shopai.adapters.OrderAdapter"}
    client.force_login(shop["ann"])

    body = ask(client, f"Please cancel order {shop['paid'].pk}")

    assert body["handoff"] and body["case"] is not None, body
    assert not AfterSalesRequest.objects.exists()
    assert HandoffCase.objects.get().reason == "needs_approval"


def test_staff_approval_cancels_the_order(assistant, shop, admin_user):
    from shopai.assistant.after_sales import decide_after_sales

    request = AfterSalesRequest.objects.create(
        kind="cancel", user=shop["ann"], order_number=str(shop["paid"].pk), idempotency_key="k1"
    )

    decide_after_sales(request=request, staff=admin_user, approve=True)

    shop["paid"].refresh_from_db()
    request.refresh_from_db()
    assert shop["paid"].status == "cancelled" and request.status == "approved" and request.decided_by == admin_user
