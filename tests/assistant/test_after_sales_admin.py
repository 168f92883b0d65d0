"""Staff decide returns and cancellations in admin: approval goes through the shop's order adapter, a
refusal by the shop changes nothing and says why, view-only staff cannot decide."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from shopai.models import AfterSalesRequest
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:shopai_aftersalesrequest_changelist"


@pytest.fixture
def requests_(django_user_model, make_product):
    ann = django_user_model.objects.create_user("ann-asa", password="pw")
    socks = make_product(sku="S-9", name="Wool socks", price=12, category="Outdoor")
    paid = OrderFactory(user=ann, status="paid", products=[socks])
    gone = OrderFactory(user=ann, status="shipped", shipped_at=timezone.now() - timedelta(days=1), products=[socks])
    make = AfterSalesRequest.objects.create
    return {
        "paid": make(kind="cancel", user=ann, order_number=str(paid.pk), idempotency_key="a"),
        "gone": make(kind="cancel", user=ann, order_number=str(gone.pk), idempotency_key="b"),
        "orders": (paid, gone),
    }


def act(client, action, *requests):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [r.pk for r in requests]}, follow=True
    )


def test_approving_cancels_the_order_and_a_shipped_one_is_refused_with_the_reason(admin_client, requests_):
    response = act(admin_client, "approve", requests_["paid"], requests_["gone"])

    paid, gone = requests_["orders"]
    paid.refresh_from_db(), gone.refresh_from_db()
    assert paid.status == "cancelled" and gone.status == "shipped"
    statuses = dict(AfterSalesRequest.objects.values_list("idempotency_key", "status"))
    assert statuses == {"a": "approved", "b": "requested"}
    text = response.content.decode()
    assert "1 request approved." in text and "already shipped" in text


def test_rejecting_leaves_the_order_alone(admin_client, requests_):
    act(admin_client, "reject", requests_["paid"])

    paid, _ = requests_["orders"]
    paid.refresh_from_db()
    assert paid.status == "paid" and AfterSalesRequest.objects.get(idempotency_key="a").status == "rejected"


def test_view_only_staff_see_the_queue_but_cannot_decide(client, django_user_model, requests_):
    viewer = django_user_model.objects.create_user("viewer-asa", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_aftersalesrequest"))
    client.force_login(viewer)

    assert client.get(reverse(CHANGELIST)).status_code == 200
    act(client, "approve", requests_["paid"])

    paid, _ = requests_["orders"]
    paid.refresh_from_db()
    assert paid.status == "paid" and AfterSalesRequest.objects.get(idempotency_key="a").status == "requested"
