"""Returns and cancellations in an oscar shop: the pipeline and shipping events decide, approvals reach the order."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from oscar.core.loading import get_class, get_model

from shopai.adapters import Decision, OrderLine, get_order_adapter

InvalidOrderStatus = get_class("order.exceptions", "InvalidOrderStatus")
Order = get_model("order", "Order")
ShippingEvent = get_model("order", "ShippingEvent")
ShippingEventType = get_model("order", "ShippingEventType")

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def order(db):
    """Alice's order 100001 of the example shop (a merino tee in L and a stove), being processed."""
    call_command("load_oscar_demo", stdout=None)
    order = Order.objects.get(number="100001")
    Order.objects.filter(pk=order.pk).update(status="Being processed", date_placed=NOW - 20 * DAY)
    order.refresh_from_db()
    return order


def ship(order, *, on: datetime):
    kind, _ = ShippingEventType.objects.get_or_create(name="Shipped")
    event = ShippingEvent.objects.create(order=order, event_type=kind)
    ShippingEvent.objects.filter(pk=event.pk).update(date_created=on)


def approved(order, kind: str, line_ref: str = "", quantity: int = 1):
    """What apply_decision reads of an approved AfterSalesRequest."""
    return SimpleNamespace(
        kind=kind,
        status="approved",
        order_number=order.number,
        line_ref=line_ref,
        quantity=quantity,
        user_id=order.user_id,
        decided_by=None,
    )


def test_the_lines_are_oscars_order_lines(order):
    lines = get_order_adapter().order_lines(order)

    assert lines == [
        OrderLine(ref=str(line.pk), name=line.title, quantity=line.quantity, product_pk=str(line.product_id))
        for line in order.lines.order_by("pk")
    ]
    assert "Mini gas stove" in [line.name for line in lines]


def test_an_order_may_be_cancelled_before_a_shipping_event_and_not_after(order):
    adapter = get_order_adapter()

    assert adapter.supports_after_sales()
    assert adapter.can_cancel(order=order) == Decision(True, "ok")
    ship(order, on=NOW - DAY)
    assert adapter.can_cancel(order=order) == Decision(False, "already_shipped")


def test_a_complete_order_cannot_be_cancelled_and_a_cancelled_one_says_so(order):
    adapter = get_order_adapter()

    Order.objects.filter(pk=order.pk).update(status="Complete")
    order.refresh_from_db()
    assert adapter.can_cancel(order=order) == Decision(False, "already_shipped")  # the pipeline ends there
    Order.objects.filter(pk=order.pk).update(status="Cancelled")
    order.refresh_from_db()
    assert adapter.can_cancel(order=order) == Decision(False, "already_cancelled")


def test_the_return_window_runs_from_the_last_shipping_event(order):
    adapter = get_order_adapter()
    Order.objects.filter(pk=order.pk).update(status="Complete")
    order.refresh_from_db()
    line = adapter.order_lines(order)[0]

    placed_only = adapter.can_return(order=order, line=line, now=NOW + 11 * DAY)  # no shipping event: from the order
    assert placed_only == Decision(False, "window_closed", until=date(2026, 5, 30))

    ship(order, on=NOW - 15 * DAY)
    ship(order, on=NOW - 10 * DAY)  # the last event counts (a second parcel)
    assert adapter.can_return(order=order, line=line, now=NOW) == Decision(True, "ok", until=date(2026, 6, 9))
    assert adapter.describe(order).shipped_at == NOW - 10 * DAY
    assert adapter.can_return(order=order, line=line, now=NOW + 21 * DAY).reason == "window_closed"


def test_only_an_order_in_a_return_state_may_be_returned(order):
    adapter = get_order_adapter()
    ship(order, on=NOW - 2 * DAY)
    line = adapter.order_lines(order)[0]

    assert adapter.can_return(order=order, line=line, now=NOW) == Decision(False, "not_delivered")


def test_an_approved_cancellation_moves_the_order_to_cancelled(order):
    get_order_adapter().apply_decision(request=approved(order, "cancel"))

    order.refresh_from_db()
    assert order.status == "Cancelled"


def test_a_cancellation_the_pipeline_forbids_is_an_error_for_staff(order):
    adapter = get_order_adapter()
    Order.objects.filter(pk=order.pk).update(status="Complete")

    with pytest.raises(InvalidOrderStatus):
        adapter.apply_decision(request=approved(order, "cancel"))

    Order.objects.filter(pk=order.pk).update(status="Being processed")
    ship(order, on=NOW)
    with pytest.raises(InvalidOrderStatus, match="has shipped"):
        adapter.apply_decision(request=approved(order, "cancel"))
    order.refresh_from_db()
    assert order.status == "Being processed"


def test_an_approved_return_leaves_a_note_to_refund_it_in_the_dashboard(order):
    line = order.lines.get(product__upc="STOVE-MINI")

    get_order_adapter().apply_decision(request=approved(order, "return", str(line.pk)))

    (note,) = order.notes.all()
    assert note.message == "Return of 1 × Mini gas stove approved in shopai; refund it in the dashboard."
    assert note.note_type == "System"


def test_describe_keeps_oscars_order_page_and_fills_the_new_fields(order):
    ship(order, on=NOW - DAY)

    info = get_order_adapter().describe(order)

    assert info.url == "/accounts/orders/100001/" and info.state == "Being processed"
    assert info.expected_by == date(2026, 5, 24) and info.delivered_at is None
