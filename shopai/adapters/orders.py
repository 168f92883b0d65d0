"""How shopai reads a shopper's orders and asks the shop about returns and cancellations.

Subclass OrderAdapter and point SHOPAI["ORDER_ADAPTER"] at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.module_loading import import_string

from shopai.adapters.products import resolve_path
from shopai.conf import shopai_settings

# Why a return or a cancellation is (not) allowed; the assistant has a reply for each.
DECISION_REASONS = (
    "ok",
    "not_supported",
    "not_delivered",
    "already_shipped",
    "window_closed",
    "already_cancelled",
    "already_returned",
)


def get_order_adapter():
    """The adapter that looks up a shopper's orders (SHOPAI["ORDER_ADAPTER"])."""
    path = shopai_settings.ORDER_ADAPTER
    try:
        return import_string(path)()
    except ImportError as exc:
        raise ImproperlyConfigured(f'SHOPAI["ORDER_ADAPTER"] = {path!r} cannot be imported: {exc}') from exc


def day_of(moment: datetime | date) -> date:
    """The calendar day of ``moment`` in the current time zone (a date stays itself)."""
    if isinstance(moment, datetime):
        return timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()
    return moment


@dataclass(frozen=True)
class OrderInfo:
    """An order as the assistant tells a shopper about it."""

    number: str
    status: str  # as shown to the shopper (ORDER_FIELDS["status"])
    tracking: str | None
    created: Any
    url: str | None
    state: str = ""  # the raw state (ORDER_FIELDS["state"]), for rules rather than for reading
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    expected_by: date | None = None


@dataclass(frozen=True)
class OrderLine:
    """One line of an order: what a shopper may ask to return."""

    ref: str  # the line's id as text
    name: str  # the product's name (or the line's title)
    quantity: int
    product_pk: str | None = None


@dataclass(frozen=True)
class Decision:
    """Whether the shop allows a return or a cancellation, and why (one of DECISION_REASONS)."""

    allowed: bool
    reason: str
    until: date | None = None  # the last day of the return window, for the reply

    def __post_init__(self) -> None:
        if self.reason not in DECISION_REASONS:
            raise ValueError(f"Decision reason {self.reason!r} is not one of {', '.join(DECISION_REASONS)}.")


class OrderAdapter:
    """Looks up a shopper's own orders in SHOPAI["ORDER_MODEL"]; never anybody else's.

    For order questions a shop implements nothing: ORDER_FIELDS names its fields. To let shoppers
    ask the assistant for returns and cancellations, a shop overrides ``can_cancel`` and/or
    ``can_return`` (its rules), optionally ``create_return_request`` and
    ``create_cancellation_request`` (to record a request in its own system and return its
    reference), and ``apply_decision`` (what a staff approval does to the order). A shopper's
    order reaches these methods through ``get_order``, which only finds the shopper's own.
    """

    @property
    def model(self) -> type[models.Model] | None:
        label = shopai_settings.ORDER_MODEL
        if not label:
            return None
        try:
            return apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise ImproperlyConfigured(f'SHOPAI["ORDER_MODEL"] = {label!r} is not an installed model.') from exc

    def _field(self, name: str) -> str:
        return shopai_settings.ORDER_FIELDS[name]

    def _read(self, obj: Any, name: str) -> Any:
        """The value of ORDER_FIELDS[name] on ``obj``; None when the shop records no such field ("")."""
        path = self._field(name)
        return resolve_path(obj, path) if path else None

    # Looking orders up: always scoped to the shopper.

    def orders_of(self, user) -> models.QuerySet:
        model = self.model
        if model is None or user is None or not user.is_authenticated:
            return model._default_manager.none() if model is not None else None
        return model._default_manager.filter(**{self._field("user"): user})

    def get_order(self, *, user, number: str) -> models.Model | None:
        """The order with this number if it belongs to ``user``; None otherwise (anonymous, another
        shopper's, or no such order: no hint which). The only way a shopper reaches an order."""
        queryset = self.orders_of(user)
        if queryset is None:
            return None
        try:
            return queryset.filter(**{self._field("number"): number}).first()
        except (ValueError, ValidationError):  # "abc" for an integer key
            return None

    def order_of_request(self, request) -> models.Model:
        """The order an after-sales request names, for carrying out staff's decision (still the
        shopper's own when the request records one); raises the model's DoesNotExist."""
        orders = self.model._default_manager.filter(**{self._field("number"): request.order_number})
        user_id = getattr(request, "user_id", None)
        if user_id is not None:
            orders = orders.filter(**{self._field("user").replace(".", "__"): user_id})
        return orders.get()

    def find_order(self, *, user, number: str) -> OrderInfo | None:
        """The shopper's order with this number, described; None otherwise (no hint whether it exists)."""
        order = self.get_order(user=user, number=number)
        return self.describe(order) if order is not None else None

    def recent_orders(self, *, user, limit: int = 3) -> list[OrderInfo]:
        queryset = self.orders_of(user)
        if queryset is None:
            return []
        created = self._field("created")
        return [self.describe(order) for order in queryset.order_by(f"-{created}")[:limit]]

    # Reading an order.

    def describe(self, order: models.Model) -> OrderInfo:
        tracking = self._read(order, "tracking") or None
        state = self._read(order, "state")
        url = order.get_absolute_url() if hasattr(order, "get_absolute_url") else None
        return OrderInfo(
            number=str(resolve_path(order, self._field("number"))),
            status=str(resolve_path(order, self._field("status"))),
            tracking=str(tracking) if tracking else None,
            created=resolve_path(order, self._field("created")),
            url=url,
            state="" if state is None else str(state),
            shipped_at=self.shipped_at(order),
            delivered_at=self.delivered_at(order),
            expected_by=self.expected_delivery(order),
        )

    def shipped_at(self, order: models.Model) -> datetime | None:
        """When the order left the shop (ORDER_FIELDS["shipped"]); None if it has not, or is not recorded."""
        value = self._read(order, "shipped")
        return value if isinstance(value, date) else None

    def delivered_at(self, order: models.Model) -> datetime | None:
        """When the order arrived (ORDER_FIELDS["delivered"]); None if it has not, or is not recorded."""
        value = self._read(order, "delivered")
        return value if isinstance(value, date) else None

    def expected_delivery(self, order: models.Model) -> date | None:
        """The day a shipped order is due: shipped + ASSISTANT["DELIVERY"]["EXPECTED_DAYS"]; None
        before it ships. Override it when the carrier gives a date."""
        shipped = self.shipped_at(order)
        if shipped is None:
            return None
        days = shopai_settings.section("ASSISTANT", "DELIVERY")["EXPECTED_DAYS"]
        return day_of(shipped) + timedelta(days=days)

    def order_lines(self, order: models.Model) -> list[OrderLine]:
        """The order's lines (ORDER_FIELDS "items", "item_product", "item_quantity"), in the order placed."""
        items = self._read(order, "items")
        if items is None:
            return []
        if isinstance(items, models.Manager):
            items = items.all()
        if isinstance(items, models.QuerySet) and not items.ordered:
            items = items.order_by("pk")
        lines = []
        for item in items:
            product = self._read(item, "item_product")
            quantity = self._read(item, "item_quantity")
            lines.append(
                OrderLine(
                    ref=str(item.pk),
                    name=str(product) if product is not None else str(item),
                    quantity=int(quantity) if quantity is not None else 1,
                    product_pk=str(product.pk) if product is not None else None,
                )
            )
        return lines

    # Returns and cancellations: what the shop allows, records and does on approval.

    def supports_after_sales(self) -> bool:
        """Whether this shop takes returns or cancellations through the assistant (it overrides a rule)."""
        cls = type(self)
        return cls.can_cancel is not OrderAdapter.can_cancel or cls.can_return is not OrderAdapter.can_return

    def can_cancel(self, *, order: models.Model) -> Decision:
        """Whether the shopper may ask to cancel the whole ``order`` now. Shops implement their rule."""
        return Decision(False, "not_supported")

    def can_return(self, *, order: models.Model, line: OrderLine, now: datetime) -> Decision:
        """Whether the shopper may ask to return ``line`` of ``order`` at ``now``; ``until`` is the last
        day of the window. Shops implement their rule (``return_window`` counts the days)."""
        return Decision(False, "not_supported")

    def return_window(self, *, since: datetime | date, now: datetime) -> Decision:
        """ok up to ASSISTANT["AFTER_SALES"]["RETURN_DAYS"] days after ``since``'s day, window_closed after."""
        days = shopai_settings.section("ASSISTANT", "AFTER_SALES")["RETURN_DAYS"]
        until = day_of(since) + timedelta(days=days)
        if day_of(now) <= until:
            return Decision(True, "ok", until=until)
        return Decision(False, "window_closed", until=until)

    def create_return_request(self, *, request) -> str:
        """Record the return ``request`` (an AfterSalesRequest) in the shop's own system; return its
        reference there (an RMA number), or "" when the shop keeps none."""
        return ""

    def create_cancellation_request(self, *, request) -> str:
        """Record the cancellation ``request`` (an AfterSalesRequest) in the shop's own system; return its
        reference there, or ""."""
        return ""

    def apply_decision(self, *, request) -> None:
        """Carry out what staff approved (``request.status == "approved"``): cancel the order, accept
        the return. Let an exception propagate when the order cannot change: staff are told."""
