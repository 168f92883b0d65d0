"""The demo shop's order adapter: what a shopper may cancel or return and until when, and only their own orders."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from shopai.adapters import Decision, OrderAdapter, OrderLine, get_order_adapter
from shopai.models import AfterSalesRequest
from store.adapters import StoreOrderAdapter
from store.models import Order
from tests.factories import OrderFactory, StoreProductFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def adapter():
    return get_order_adapter()


@pytest.fixture
def shopper(django_user_model):
    return django_user_model.objects.create_user("sam", password="pw")


@pytest.fixture
def tent():
    return StoreProductFactory(sku="TENT-2", name="Two-person tent", price=120)


@pytest.fixture
def stove():
    return StoreProductFactory(sku="STOVE-1", name="Mini gas stove", price=35)


def order_of(user, status: str, products, **fields) -> Order:
    return OrderFactory(user=user, status=status, products=products, **fields)


def a_line(adapter, order) -> OrderLine:
    return adapter.order_lines(order)[0]


def test_the_demo_shop_takes_returns_and_cancellations_and_shopais_default_takes_none():
    assert isinstance(get_order_adapter(), StoreOrderAdapter)
    assert get_order_adapter().supports_after_sales()
    default = OrderAdapter()
    assert not default.supports_after_sales()
    assert default.can_cancel(order=None) == Decision(False, "not_supported")


# --- cancelling -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "shipped", "expected"),
    [
        ("pending", False, Decision(True, "ok")),
        ("paid", False, Decision(True, "ok")),
        ("paid", True, Decision(False, "already_shipped")),  # on its way, status not updated yet
        ("shipped", True, Decision(False, "already_shipped")),
        ("delivered", True, Decision(False, "already_shipped")),
        ("cancelled", False, Decision(False, "already_cancelled")),
        ("returned", True, Decision(False, "already_returned")),
    ],
)
def test_an_order_may_be_cancelled_until_it_ships(adapter, shopper, tent, status, shipped, expected):
    order = order_of(shopper, status, [tent], shipped_at=NOW - DAY if shipped else None)

    assert adapter.can_cancel(order=order) == expected


# --- returning ------------------------------------------------------------------


def test_a_delivered_line_may_be_returned_until_the_last_day_of_the_window(adapter, shopper, tent):
    delivered = NOW - 10 * DAY
    order = order_of(shopper, "delivered", [tent], shipped_at=delivered - 3 * DAY, delivered_at=delivered)
    last_day = date(2026, 5, 10) + timedelta(days=30)

    inside = adapter.can_return(order=order, line=a_line(adapter, order), now=NOW)
    on_the_last_day = adapter.can_return(order=order, line=a_line(adapter, order), now=NOW + 20 * DAY)
    the_day_after = adapter.can_return(order=order, line=a_line(adapter, order), now=NOW + 21 * DAY)

    assert inside == Decision(True, "ok", until=last_day)
    assert on_the_last_day == Decision(True, "ok", until=last_day)
    assert the_day_after == Decision(False, "window_closed", until=last_day)


def test_return_days_come_from_the_setting(adapter, shopper, tent, settings):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "ASSISTANT": {**settings.SHOPAI["ASSISTANT"], "AFTER_SALES": {"RETURN_DAYS": 7}},
    }
    order = order_of(shopper, "delivered", [tent], shipped_at=NOW - 12 * DAY, delivered_at=NOW - 10 * DAY)

    decision = adapter.can_return(order=order, line=a_line(adapter, order), now=NOW)

    assert decision == Decision(False, "window_closed", until=date(2026, 5, 17))


def test_an_order_marked_delivered_without_a_date_counts_from_shipping(adapter, shopper, tent):
    order = order_of(shopper, "delivered", [tent], shipped_at=NOW - 40 * DAY)

    decision = adapter.can_return(order=order, line=a_line(adapter, order), now=NOW)

    assert decision == Decision(False, "window_closed", until=date(2026, 5, 10))


@pytest.mark.parametrize(
    ("status", "shipped", "reason"),
    [
        ("paid", False, "not_delivered"),
        ("shipped", True, "not_delivered"),
        ("cancelled", False, "already_cancelled"),
        ("returned", True, "already_returned"),
    ],
)
def test_only_a_delivered_order_may_be_returned(adapter, shopper, tent, status, shipped, reason):
    order = order_of(shopper, status, [tent], shipped_at=NOW - 3 * DAY if shipped else None)

    decision = adapter.can_return(order=order, line=a_line(adapter, order), now=NOW)

    assert not decision.allowed and decision.reason == reason


# --- finding and reading orders -------------------------------------------------------


def test_get_order_finds_only_the_shoppers_own_order(adapter, shopper, tent, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    other = django_user_model.objects.create_user("olga", password="pw")
    mine = order_of(shopper, "paid", [tent])
    theirs = order_of(other, "paid", [tent])

    assert adapter.get_order(user=shopper, number=str(mine.pk)) == mine
    assert adapter.get_order(user=shopper, number=str(theirs.pk)) is None
    assert adapter.get_order(user=AnonymousUser(), number=str(mine.pk)) is None
    assert adapter.get_order(user=None, number=str(mine.pk)) is None
    assert adapter.get_order(user=shopper, number="abc") is None
    assert adapter.find_order(user=shopper, number=str(theirs.pk)) is None


def test_order_lines_name_each_product_with_its_quantity_in_the_order_placed(adapter, shopper, tent, stove):
    order = order_of(shopper, "delivered", [tent])
    two_stoves = order.items.create(product=stove, quantity=2, unit_price=stove.price)

    lines = adapter.order_lines(order)

    assert lines == [
        OrderLine(
            ref=str(order.items.get(product=tent).pk), name="Two-person tent", quantity=1, product_pk=str(tent.pk)
        ),
        OrderLine(ref=str(two_stoves.pk), name="Mini gas stove", quantity=2, product_pk=str(stove.pk)),
    ]


def test_a_shipped_order_is_expected_some_days_after_shipping_and_described_with_its_dates(
    adapter, shopper, tent, settings
):
    shipped = order_of(shopper, "shipped", [tent], shipped_at=NOW - 2 * DAY, tracking_number="TRK-1")
    delivered = order_of(shopper, "delivered", [tent], shipped_at=NOW - 9 * DAY, delivered_at=NOW - 6 * DAY)
    unshipped = order_of(shopper, "paid", [tent])

    info = adapter.describe(shipped)
    assert info.state == "shipped" and info.status == "Shipped" and info.tracking == "TRK-1"
    assert info.shipped_at == NOW - 2 * DAY and info.delivered_at is None
    assert info.expected_by == date(2026, 5, 23)  # shipped on the 18th + EXPECTED_DAYS (5)
    assert adapter.describe(delivered).delivered_at == NOW - 6 * DAY
    assert adapter.describe(unshipped).expected_by is None and adapter.describe(unshipped).shipped_at is None

    settings.SHOPAI = {
        **settings.SHOPAI,
        "ASSISTANT": {**settings.SHOPAI["ASSISTANT"], "DELIVERY": {"EXPECTED_DAYS": 2}},
    }
    assert adapter.expected_delivery(shipped) == date(2026, 5, 20)


def test_the_demo_shop_has_a_late_parcel_for_its_first_shopper_and_returnable_deliveries(adapter):
    call_command("load_demo", stdout=io.StringIO())
    today = timezone.localdate()

    late = adapter.describe(Order.objects.get(user__username="alice", status="shipped"))
    on_time = adapter.describe(Order.objects.get(user__username="bob", status="shipped"))
    delivered = Order.objects.filter(status="delivered")

    assert late.tracking and late.delivered_at is None and late.expected_by == today - timedelta(days=4)
    assert on_time.tracking and on_time.expected_by > today
    assert delivered.count() == 4 and all(order.delivered_at for order in delivered)
    for order in delivered:
        assert adapter.can_return(order=order, line=a_line(adapter, order), now=timezone.now()).allowed


# --- staff approve -------------------------------------------------------------


def approved(order, kind: str, line_ref: str = "") -> AfterSalesRequest:
    return AfterSalesRequest.objects.create(
        kind=kind,
        status="approved",
        user=order.user,
        order_number=str(order.pk),
        line_ref=line_ref,
        idempotency_key=f"{kind}-{order.pk}-{line_ref}",
    )


def test_an_approved_cancellation_cancels_the_order(adapter, shopper, tent):
    order = order_of(shopper, "paid", [tent])

    adapter.apply_decision(request=approved(order, "cancel"))

    order.refresh_from_db()
    assert order.status == "cancelled"


def test_a_cancellation_approved_after_the_order_shipped_is_refused(adapter, shopper, tent):
    order = order_of(shopper, "paid", [tent])
    request = approved(order, "cancel")
    Order.objects.filter(pk=order.pk).update(status="shipped", shipped_at=NOW)

    with pytest.raises(ValueError, match="already shipped"):
        adapter.apply_decision(request=request)

    order.refresh_from_db()
    assert order.status == "shipped"


def test_an_order_is_returned_once_the_return_of_every_line_is_approved(adapter, shopper, tent, stove):
    order = order_of(shopper, "delivered", [tent, stove], shipped_at=NOW - 5 * DAY, delivered_at=NOW - 3 * DAY)
    first, second = adapter.order_lines(order)

    adapter.apply_decision(request=approved(order, "return", first.ref))
    order.refresh_from_db()
    assert order.status == "delivered"  # one of two lines back: the order stands

    adapter.apply_decision(request=approved(order, "return", second.ref))
    order.refresh_from_db()
    assert order.status == "returned"
