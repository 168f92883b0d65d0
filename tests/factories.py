"""Products (and the demo shop's orders) for tests, built for whichever model SHOPAI["PRODUCT_MODEL"] names.

Tests describe a product in a shop's own words — name, description, price, stock, category
(a "Men/Tops" path), whether it is on sale — and the factory of the configured product model maps them onto its
fields: the demo shop's ``store.Product`` keeps them as they are, the test app's
``testapp.Gadget`` (UUID key, other names, price in cents) stores ``title``, ``blurb``,
``cost_cents``, ``available`` and a maker. A shop model added to the tests gets a factory here,
and every test that builds products through ``make_product`` runs against it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from shopai.adapters import get_product_adapter


class CategoryFactory(DjangoModelFactory):
    """A category of the demo shop from a path, every level created once: ``CategoryFactory(path="Men/Tops")``."""

    class Meta:
        model = "store.Category"

    path = "Men/Tops"

    @classmethod
    def _create(cls, model_class, *, path: str, **_: Any):
        return model_class.from_path(path)


class StoreProductFactory(DjangoModelFactory):
    class Meta:
        model = "store.Product"

    sku = factory.Sequence(lambda n: f"T-{n + 1:05d}")
    name = "Plain tee"
    description = "A cotton t-shirt."
    price = Decimal("10.00")
    stock = 5
    category = factory.SubFactory(CategoryFactory)

    @classmethod
    def from_shop_terms(cls, *, category: str = "Men/Tops", on_sale: bool = True, **fields: Any):
        fields.setdefault("is_active", on_sale)
        return cls(category=CategoryFactory(path=category), **fields)


class MakerFactory(DjangoModelFactory):
    class Meta:
        model = "testapp.Maker"
        django_get_or_create = ("label",)

    label = "Acme"


class GadgetFactory(DjangoModelFactory):
    class Meta:
        model = "testapp.Gadget"

    code = factory.Sequence(lambda n: f"G-{n + 1:05d}")
    title = "Desk fan"
    blurb = "Quiet."
    cost_cents = 1000
    available = True
    maker = None

    @classmethod
    def from_shop_terms(
        cls,
        *,
        name: str = "Desk fan",
        description: str = "Quiet.",
        price: Decimal | str | int = Decimal("10.00"),
        stock: int = 5,
        on_sale: bool = True,
        category: str | None = None,
        sku: str | None = None,
        **fields: Any,
    ):
        """The gadget model has no category (the path's first level becomes its maker, a relation it embeds)
        and no stock count (a gadget is available while on sale)."""
        if sku is not None:
            fields["code"] = sku
        if category:
            fields["maker"] = MakerFactory(label=category.split("/")[0])
        return cls(
            title=name,
            blurb=description,
            cost_cents=int(Decimal(str(price)) * 100),
            available=on_sale,
            **fields,
        )


FACTORIES: dict[str, type[DjangoModelFactory]] = {
    "store.Product": StoreProductFactory,
    "testapp.Gadget": GadgetFactory,
}


def make_product(**shop_terms: Any):
    """A saved product of the configured product model, described in a shop's words."""
    label = get_product_adapter().model._meta.label
    try:
        factory_class = FACTORIES[label]
    except KeyError:
        raise LookupError(f"No test factory for the product model {label}; add one to tests/factories.py.") from None
    return factory_class.from_shop_terms(**shop_terms)


class OrderFactory(DjangoModelFactory):
    """An order of the demo shop (its order adapter is what shopai reads purchases from)."""

    class Meta:
        model = "store.Order"
        skip_postgeneration_save = True  # the items hook saves what it creates

    user = None
    status = "paid"
    tracking_number = ""

    @factory.post_generation
    def products(order, create: bool, products, **_: Any):  # noqa: N805 (factory_boy passes the object)
        for product in products or ():
            order.items.create(product=product, quantity=1, unit_price=product.price)
