"""The demo shop's returns and cancellations rules, as shopai's order adapter sees them."""

from __future__ import annotations

from datetime import datetime

from shopai.adapters import Decision, OrderAdapter, OrderLine
from shopai.models import AfterSalesRequest
from store.models import Order


class StoreOrderAdapter(OrderAdapter):
    """Cancel until the parcel leaves; return within ASSISTANT["AFTER_SALES"]["RETURN_DAYS"] of delivery."""

    def can_cancel(self, *, order: Order) -> Decision:
        if order.status == Order.Status.CANCELLED:
            return Decision(False, "already_cancelled")
        if order.status == Order.Status.RETURNED:
            return Decision(False, "already_returned")
        if order.status in (Order.Status.PENDING, Order.Status.PAID) and order.shipped_at is None:
            return Decision(True, "ok")
        return Decision(False, "already_shipped")

    def can_return(self, *, order: Order, line: OrderLine, now: datetime) -> Decision:
        if order.status == Order.Status.CANCELLED:
            return Decision(False, "already_cancelled")
        if order.status == Order.Status.RETURNED:
            return Decision(False, "already_returned")
        if order.status != Order.Status.DELIVERED:
            return Decision(False, "not_delivered")
        # The window opens on delivery; an order marked delivered without a date counts from shipping.
        return self.return_window(since=order.delivered_at or order.shipped_at or order.created_at, now=now)

    def apply_decision(self, *, request: AfterSalesRequest) -> None:
        """An approved cancellation cancels the order; once every line's return is approved, it is returned."""
        order = self.order_of_request(request)
        if request.kind == AfterSalesRequest.Kind.CANCEL:
            decision = self.can_cancel(order=order)
            if not decision.allowed and decision.reason != "already_cancelled":
                raise ValueError(f"Order {order.pk} can no longer be cancelled ({decision.reason.replace('_', ' ')}).")
            order.status = Order.Status.CANCELLED
            order.save(update_fields=["status"])
            return
        approved = set(
            AfterSalesRequest.objects.filter(
                kind=AfterSalesRequest.Kind.RETURN,
                status=AfterSalesRequest.Status.APPROVED,
                order_number=request.order_number,
            ).values_list("line_ref", flat=True)
        )
        approved.add(request.line_ref)  # the one being approved may not be saved yet
        every_line = "" in approved or {line.ref for line in self.order_lines(order)} <= approved
        if every_line and order.status in (Order.Status.SHIPPED, Order.Status.DELIVERED):
            order.status = Order.Status.RETURNED
            order.save(update_fields=["status"])
