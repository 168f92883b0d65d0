"""django-oscar's catalogue and orders, seen through shopai's adapters."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from oscar.core.loading import get_class, get_model

from shopai.adapters import Decision, OrderAdapter, OrderInfo, OrderLine, ProductAdapter
from shopai.conf import shopai_settings

Category = get_model("catalogue", "Category")
InvalidOrderStatus = get_class("order.exceptions", "InvalidOrderStatus")
OrderNote = get_model("order", "OrderNote")
Selector = get_class("partner.strategy", "Selector")

# Order statuses in which a shopper may ask to return a line, when SHOPAI["ASSISTANT"]["AFTER_SALES"]
# names no RETURN_STATES (the preset does).
RETURN_STATES = ("Complete",)


class OscarProductAdapter(ProductAdapter):
    """Parents and standalone products are what shoppers find; a variant stands for its parent."""

    def get_queryset(self) -> models.QuerySet:
        return (
            super()
            .get_queryset()
            .exclude(structure=self.model.CHILD)
            .prefetch_related("attribute_values__attribute", "stockrecords", "children__stockrecords")
        )

    def products_affected_by(self, instance: models.Model) -> models.QuerySet:
        """A category's name is in the text of its own products and of its descendants' products."""
        if isinstance(instance, Category):
            manager = self.model._default_manager
            inside = manager.filter(categories__path__startswith=instance.path).values("pk")
            return manager.filter(pk__in=inside)
        return super().products_affected_by(instance)

    def shown_pks(self, product_pks: list[str]) -> dict[str, str]:
        """A bought variant counts for its parent, the product shoppers find and are offered."""
        rows = self.model._default_manager.filter(pk__in=product_pks, parent__isnull=False).values_list(
            "pk", "parent_id"
        )
        parents = {str(pk): str(parent) for pk, parent in rows}
        return {str(pk): parents.get(str(pk), str(pk)) for pk in product_pks}

    def purchase_info(self, product: models.Model):
        """Oscar's pricing strategy for a shopper who is not signed in: price, availability, stock record."""
        cache = product.__dict__.setdefault("_shopai_purchase_info", {})
        if "info" not in cache:
            strategy = Selector().strategy()
            cache["info"] = (
                strategy.fetch_for_parent(product) if product.is_parent else strategy.fetch_for_product(product)
            )
        return cache["info"]

    def get_field(self, product: models.Model, name: str) -> Any:
        if name == "price":
            price = self.purchase_info(product).price
            if not getattr(price, "exists", True):
                return None
            value = price.incl_tax if price.is_tax_known else price.excl_tax
            return str(value) if isinstance(value, Decimal) else value
        if name == "stock":
            availability = self.purchase_info(product).availability
            return getattr(availability, "num_available", None)
        if name == "name":
            return product.get_title()
        return super().get_field(product, name)

    def to_result(self, product: models.Model) -> dict[str, Any]:
        result = super().to_result(product)
        info = self.purchase_info(product)
        result["in_stock"] = bool(info.availability.is_available_to_buy)
        result["currency"] = getattr(info.price, "currency", None)
        return result


class OscarOrderAdapter(OrderAdapter):
    """Oscar's orders: the number shoppers see, the status of the pipeline, the order page's link.

    Returns and cancellations: an order may be cancelled while the pipeline allows CANCELLED and
    nothing has shipped (no shipping event); a line may be returned while the order's status is
    one of the return states, within RETURN_DAYS of the last shipping event (else of the order's
    date). An approved cancellation moves the order to CANCELLED; an approved return leaves a note
    on the order for staff to refund it in the dashboard.
    """

    CANCELLED = "Cancelled"
    RETURN_STATES = RETURN_STATES

    def describe(self, order: models.Model) -> OrderInfo:
        info = super().describe(order)
        try:
            url = reverse("customer:order", kwargs={"order_number": order.number})
        except NoReverseMatch:
            url = None
        return dataclasses.replace(info, url=url)

    def shipped_at(self, order: models.Model) -> datetime | None:
        """The date of the order's last shipping event; None before its first."""
        event = order.shipping_events.order_by("-date_created", "-pk").first()
        return event.date_created if event is not None else None

    def order_lines(self, order: models.Model) -> list[OrderLine]:
        return [
            OrderLine(
                ref=str(line.pk),
                name=line.title,
                quantity=line.quantity,
                product_pk=str(line.product_id) if line.product_id is not None else None,
            )
            for line in order.lines.order_by("pk")
        ]

    def return_states(self) -> tuple[str, ...]:
        """The statuses in which a line may be returned: the setting, else the class's RETURN_STATES."""
        states = shopai_settings.section("ASSISTANT", "AFTER_SALES").get("RETURN_STATES", self.RETURN_STATES)
        return tuple(states)

    def can_cancel(self, *, order: models.Model) -> Decision:
        if order.status == self.CANCELLED:
            return Decision(False, "already_cancelled")
        if self.CANCELLED in order.available_statuses() and self.shipped_at(order) is None:
            return Decision(True, "ok")
        return Decision(False, "already_shipped")

    def can_return(self, *, order: models.Model, line: OrderLine, now: datetime) -> Decision:
        if order.status == self.CANCELLED:
            return Decision(False, "already_cancelled")
        if order.status not in self.return_states():
            return Decision(False, "not_delivered")
        return self.return_window(since=self.shipped_at(order) or order.date_placed, now=now)

    def apply_decision(self, *, request) -> None:
        """A cancellation moves the order to CANCELLED (InvalidOrderStatus when the pipeline or a
        shipping event forbids it); a return is noted on the order, to be refunded in the dashboard."""
        order = self.order_of_request(request)
        if request.kind == "cancel":
            if self.shipped_at(order) is not None:
                raise InvalidOrderStatus(
                    gettext("Order %(number)s has shipped; it can no longer be cancelled.") % {"number": order.number}
                )
            order.set_status(self.CANCELLED)
            return
        line = order.lines.filter(pk=request.line_ref).first() if request.line_ref else None
        item = f"{request.quantity} × {line.title}" if line is not None else gettext("the whole order")
        OrderNote.objects.create(
            order=order,
            user=getattr(request, "decided_by", None),
            note_type=OrderNote.SYSTEM,
            message=gettext("Return of %(item)s approved in shopai; refund it in the dashboard.") % {"item": item},
        )
