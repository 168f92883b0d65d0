"""django-oscar's catalogue and orders, seen through shopai's adapters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.urls import NoReverseMatch, reverse
from oscar.core.loading import get_class, get_model

from shopai.adapters import OrderAdapter, OrderInfo, ProductAdapter

Category = get_model("catalogue", "Category")
Selector = get_class("partner.strategy", "Selector")


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
    """Oscar's orders: the number shoppers see, the status of the pipeline, the order page's link."""

    def describe(self, order: models.Model) -> OrderInfo:
        info = super().describe(order)
        try:
            url = reverse("customer:order", kwargs={"order_number": order.number})
        except NoReverseMatch:
            url = None
        return OrderInfo(number=info.number, status=info.status, tracking=info.tracking, created=info.created, url=url)
