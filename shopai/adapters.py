"""How shopai reads the host's product model; subclass and point SHOPAI["PRODUCT_ADAPTER"] here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast
from django.utils.module_loading import import_string

from .conf import shopai_settings


def get_product_model():
    """The host's product model, from SHOPAI["PRODUCT_MODEL"]."""
    label = shopai_settings.PRODUCT_MODEL
    if not label:
        raise ImproperlyConfigured('Set SHOPAI["PRODUCT_MODEL"] to your product model, e.g. "store.Product".')
    try:
        return apps.get_model(label, require_ready=False)
    except (ValueError, LookupError) as exc:
        raise ImproperlyConfigured(
            f'SHOPAI["PRODUCT_MODEL"] refers to {label!r}, which is not an installed model '
            '(use the form "app_label.ModelName").'
        ) from exc


def is_product_model(model: type) -> bool:
    label = shopai_settings.PRODUCT_MODEL
    return bool(label) and model._meta.label_lower == str(label).lower()


def get_order_adapter():
    """The adapter that looks up a shopper's orders (SHOPAI["ORDER_ADAPTER"])."""
    path = shopai_settings.ORDER_ADAPTER
    try:
        return import_string(path)()
    except ImportError as exc:
        raise ImproperlyConfigured(f'SHOPAI["ORDER_ADAPTER"] = {path!r} cannot be imported: {exc}') from exc


def get_product_adapter():
    """The adapter instance chosen by SHOPAI["PRODUCT_ADAPTER"]."""
    path = shopai_settings.PRODUCT_ADAPTER
    try:
        adapter_class = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f'SHOPAI["PRODUCT_ADAPTER"] = {path!r} cannot be imported: {exc}') from exc
    return adapter_class()


def resolve_path(obj: Any, path: str) -> Any:
    """Follow a dotted attribute path ("category.full_name"); None when a link is missing."""
    value = obj
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part, None)
        if callable(value) and not isinstance(value, models.Manager):
            value = value()
    return value


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ProductAdapter:
    """Default adapter: field names from SHOPAI settings, no assumptions about the model."""

    @property
    def model(self) -> type[models.Model]:
        return get_product_model()

    def get_queryset(self) -> models.QuerySet:
        """Every product that should have an embedding, with the relations its text reads."""
        return self.model._default_manager.select_related(*self._text_relations())

    def _text_relations(self) -> list[str]:
        """Foreign keys named by dotted PRODUCT_TEXT_FIELDS paths ("category.name" → "category")."""
        relations = []
        for path in shopai_settings.PRODUCT_TEXT_FIELDS:
            model, chain = self.model, []
            for part in path.split(".")[:-1]:
                try:
                    field = model._meta.get_field(part)
                except FieldDoesNotExist:
                    break
                if not (field.many_to_one or field.one_to_one) or field.related_model is None:
                    break
                chain.append(part)
                model = field.related_model
            if chain:
                relations.append("__".join(chain))
        return relations

    def get_searchable_queryset(self) -> models.QuerySet:
        """Products a shopper may see in results."""
        return self.get_queryset().filter(**shopai_settings.SEARCHABLE_FILTER)

    def get_text_fields(self, product: models.Model) -> list[str]:
        """The values of PRODUCT_TEXT_FIELDS, in order ("" where empty): keyword search weighs them by position."""
        fields = []
        for path in shopai_settings.PRODUCT_TEXT_FIELDS:
            value = resolve_path(product, path)
            fields.append("" if value is None else str(value).strip())
        return fields

    def get_text(self, product: models.Model) -> str:
        """The text that is embedded for this product: its text fields, one per line."""
        return "\n".join(field for field in self.get_text_fields(product) if field)

    def get_facts(self, product: models.Model) -> str:
        """Everything generated copy may rely on: the embedded text plus PRODUCT_FACT_FIELDS.

        Dicts become "key: value" lines and lists comma-separated values. This is the source
        the grounding guard checks drafts against, and the only product data a prompt sees.
        """
        lines = [self.get_text(product)]
        for path in shopai_settings.PRODUCT_FACT_FIELDS:
            value = resolve_path(product, path)
            label = path.rsplit(".", 1)[-1]
            if isinstance(value, dict):
                lines += [f"{key}: {_flat(item)}" for key, item in value.items() if item not in (None, "", [])]
            elif value not in (None, "", []):
                lines.append(f"{label}: {_flat(value)}")
        return "\n".join(line for line in lines if line)

    def get_field(self, product: models.Model, name: str) -> Any:
        path = shopai_settings.PRODUCT_FIELDS.get(name)
        return resolve_path(product, path) if path else None

    def to_result(self, product: models.Model) -> dict[str, Any]:
        """What the API and templates show for a product."""
        price = self.get_field(product, "price")
        if isinstance(price, Decimal):
            price = str(price)
        url = product.get_absolute_url() if hasattr(product, "get_absolute_url") else None
        return {
            "id": str(product.pk),
            "sku": self.get_field(product, "sku"),
            "name": self.get_field(product, "name") or str(product),
            "price": price,
            "url": url,
        }


@dataclass(frozen=True)
class OrderInfo:
    number: str
    status: str
    tracking: str | None
    created: Any
    url: str | None


def _flat(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return ", ".join(str(item) for item in value)
    return str(value)


class OrderAdapter:
    """Looks up a shopper's own orders in SHOPAI["ORDER_MODEL"]; never anybody else's."""

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

    def orders_of(self, user) -> models.QuerySet:
        model = self.model
        if model is None or user is None or not user.is_authenticated:
            return model._default_manager.none() if model is not None else None
        return model._default_manager.filter(**{self._field("user"): user})

    def find_order(self, *, user, number: str) -> OrderInfo | None:
        """The order with this number if it belongs to ``user``; None otherwise (no hint whether it exists)."""
        queryset = self.orders_of(user)
        if queryset is None:
            return None
        try:
            order = queryset.filter(**{self._field("number"): number}).first()
        except (ValueError, ValidationError):  # "abc" for an integer key
            return None
        return self.describe(order) if order is not None else None

    def recent_orders(self, *, user, limit: int = 3) -> list[OrderInfo]:
        queryset = self.orders_of(user)
        if queryset is None:
            return []
        created = self._field("created")
        return [self.describe(order) for order in queryset.order_by(f"-{created}")[:limit]]

    def describe(self, order: models.Model) -> OrderInfo:
        tracking = resolve_path(order, self._field("tracking")) or None
        url = order.get_absolute_url() if hasattr(order, "get_absolute_url") else None
        return OrderInfo(
            number=str(resolve_path(order, self._field("number"))),
            status=str(resolve_path(order, self._field("status"))),
            tracking=str(tracking) if tracking else None,
            created=resolve_path(order, self._field("created")),
            url=url,
        )


def filter_products(queryset, *, in_stock: bool = False, category=None, min_price=None, max_price=None):
    """The shop's business filters, on the fields named in SHOPAI["PRODUCT_FIELDS"]."""
    fields = {name: path.replace(".", "__") for name, path in shopai_settings.PRODUCT_FIELDS.items() if path}
    if in_stock and "stock" in fields:
        queryset = queryset.filter(**{f"{fields['stock']}__gt": 0})
    if category is not None and "category" in fields:
        queryset = queryset.filter(**{fields["category"]: category})
    if min_price is not None and "price" in fields:
        queryset = queryset.filter(**{f"{fields['price']}__gte": min_price})
    if max_price is not None and "price" in fields:
        queryset = queryset.filter(**{f"{fields['price']}__lte": max_price})
    return queryset


def product_pks_as_text(products: QuerySet):
    """The primary keys of ``products`` as text, for matching ``object_pk`` columns in SQL."""
    return products.order_by().annotate(_pk_text=Cast("pk", output_field=CharField())).values("_pk_text")
