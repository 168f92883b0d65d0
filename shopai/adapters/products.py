"""How shopai reads the host's product model; subclass ProductAdapter and point SHOPAI["PRODUCT_ADAPTER"] at it."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from shopai.conf import shopai_settings


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


def get_product_adapter():
    """The adapter instance chosen by SHOPAI["PRODUCT_ADAPTER"]."""
    path = shopai_settings.PRODUCT_ADAPTER
    try:
        adapter_class = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f'SHOPAI["PRODUCT_ADAPTER"] = {path!r} cannot be imported: {exc}') from exc
    return adapter_class()


def resolve_path(obj: Any, path: str) -> Any:
    """Follow a dotted attribute path ("category.full_name"); None when a link is missing.

    Through a many-to-many or reverse relation ("categories.name") the rest of the path is read
    on each related object, giving a sorted list of the values that are set. A path that ends on
    such a relation gives its manager (the checks refuse that in text paths).
    """
    value = obj
    parts = path.split(".")
    for index, part in enumerate(parts):
        if value is None:
            return None
        value = getattr(value, part, None)
        if isinstance(value, models.Manager):
            rest = ".".join(parts[index + 1 :])
            if not rest:
                return value
            found = (resolve_path(item, rest) for item in value.all())
            return sorted({str(item) for item in found if item not in (None, "")})
        if callable(value):
            value = value()
    return value


class ProductFilterError(ValueError):
    """Filters a shopper asked for that this shop cannot apply: {filter: message}."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def orm_field(model: type[models.Model], lookup: str) -> models.Field | None:
    """The model field a "__" lookup path ends on, following relations; None if it is not a field path."""
    field = None
    for part in lookup.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if field.is_relation and field.related_model is not None:
            model = field.related_model
        elif part != lookup.split("__")[-1]:
            return None
    return field


def text_relations(model: type[models.Model], paths: list[str]) -> list[tuple[type[models.Model], str]]:
    """(related model, lookup from the product) for every relation the dotted paths follow."""
    found = []
    for path in paths:
        current, chain = model, []
        for part in path.split(".")[:-1]:
            try:
                field = current._meta.get_field(part)
            except FieldDoesNotExist:
                break
            if not field.is_relation or field.related_model is None:
                break
            chain.append(field.name)  # a reverse relation's name is its query name
            current = field.related_model
            entry = (current, "__".join(chain))
            if entry not in found:
                found.append(entry)
    return found


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ProductAdapter:
    """Default adapter: field names from SHOPAI settings, no assumptions about the model."""

    @property
    def model(self) -> type[models.Model]:
        return get_product_model()

    def get_queryset(self) -> models.QuerySet:
        """Every product that should have an embedding, with the relations its text reads."""
        select, prefetch = self._text_joins()
        return self.model._default_manager.select_related(*select).prefetch_related(*prefetch)

    def _text_joins(self) -> tuple[list[str], list[str]]:
        """Relations named by dotted PRODUCT_TEXT_FIELDS paths: foreign keys to join ("category.name"
        → "category"), many-valued ones to prefetch ("categories.name" → "categories")."""
        select, prefetch = [], []
        for path in shopai_settings.PRODUCT_TEXT_FIELDS:
            model, chain, many = self.model, [], False
            for part in path.split(".")[:-1]:
                try:
                    field = model._meta.get_field(part)
                except FieldDoesNotExist:
                    break
                if not field.is_relation or field.related_model is None:
                    break
                many = many or field.many_to_many or field.one_to_many
                chain.append(part)
                model = field.related_model
            if chain:
                (prefetch if many else select).append("__".join(chain))
        return select, prefetch

    # What the text depends on: the receivers re-embed products when any of it changes.

    def text_attnames(self) -> tuple[str, ...] | None:
        """The product's own stored fields its text is built from (a foreign key by its id), so that
        a save changing none of them queues nothing; None when unknown (every save queues)."""
        names = []
        for path in shopai_settings.PRODUCT_TEXT_FIELDS:
            try:
                field = self.model._meta.get_field(path.split(".", 1)[0])
            except FieldDoesNotExist:
                return None
            if field.many_to_many or field.one_to_many:
                continue  # changes arrive as m2m_changed or as saves of the related rows
            if not getattr(field, "concrete", False):
                return None
            names.append(field.attname)
        return tuple(names)

    def text_relations(self) -> list[tuple[type[models.Model], str]]:
        """(related model, lookup from the product) for each relation the text reads: a save of such
        a row (a category renamed) re-embeds the products that read it."""
        return text_relations(self.model, list(shopai_settings.PRODUCT_TEXT_FIELDS))

    def products_affected_by(self, instance: models.Model) -> models.QuerySet:
        """The products whose text reads ``instance`` (a related row that was saved or deleted)."""
        condition = models.Q()
        for model, lookup in self.text_relations():
            if isinstance(instance, model):
                condition |= models.Q(**{lookup: instance})
        if not condition:
            return self.model._default_manager.none()
        return self.model._default_manager.filter(pk__in=self.model._default_manager.filter(condition).values("pk"))

    def find(self, pk: Any, *, searchable: bool = True) -> models.Model | None:
        """The product with this key (one shoppers may find, unless ``searchable`` is False); None for
        a key that is no key of this model ("abc", or beyond the column's range) or no product."""
        field = self.model._meta.pk
        try:
            value = field.to_python(pk)
            field.run_validators(value)
        except (ValidationError, TypeError, ValueError):
            return None
        queryset = self.get_searchable_queryset() if searchable else self.get_queryset()
        return queryset.filter(pk=value).first()

    def get_searchable_queryset(self) -> models.QuerySet:
        """Products a shopper may see in results."""
        return self.get_queryset().filter(**shopai_settings.SEARCHABLE_FILTER)

    def get_text_fields(self, product: models.Model) -> list[str]:
        """The values of PRODUCT_TEXT_FIELDS, in order ("" where empty): keyword search weighs them by position."""
        fields = []
        for path in shopai_settings.PRODUCT_TEXT_FIELDS:
            value = resolve_path(product, path)
            if isinstance(value, list):
                value = ", ".join(value)
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

    def shown_pks(self, product_pks: list[str]) -> dict[str, str]:
        """For bought products, the product shoppers find and are offered in their place (a variant's
        parent, say); by default each is itself."""
        return {str(pk): str(pk) for pk in product_pks}

    def get_field(self, product: models.Model, name: str) -> Any:
        """The value shown for ``name`` (sku, name, price, stock, category): PRODUCT_FIELDS' path."""
        path = shopai_settings.PRODUCT_FIELDS.get(name)
        return resolve_path(product, path) if path else None

    def get_categories(self, product: models.Model) -> list:
        """The product's categories (one for a foreign key, several for a many-to-many), for
        REPURCHASE_CATEGORIES and the category cap."""
        value = self.get_field(product, "category")
        if isinstance(value, models.Manager):
            return list(value.all())
        if isinstance(value, list | tuple):
            return list(value)
        return [] if value is None else [value]

    # Filters: lookups in the database, apart from what is shown.

    FILTERS = ("price", "stock", "category")

    def filter_lookup(self, name: str) -> str | None:
        """The ORM lookup that filters by ``name``: PRODUCT_FILTER_FIELDS, else PRODUCT_FIELDS' path
        when it is a field path ("category" → "category"); None when the shop cannot filter by it."""
        configured = shopai_settings.PRODUCT_FILTER_FIELDS
        if name in configured:
            return configured[name] or None
        path = shopai_settings.PRODUCT_FIELDS.get(name)
        if not path:
            return None
        lookup = path.replace(".", "__")
        return lookup if orm_field(self.model, lookup) is not None else None

    def clean_filters(
        self, *, in_stock: bool = False, category: Any = None, min_price: Any = None, max_price: Any = None
    ) -> dict[str, Any]:
        """The filters as database values; ProductFilterError names each one that cannot apply."""
        errors, cleaned = {}, {"in_stock": bool(in_stock)}
        if in_stock and self.filter_lookup("stock") is None:
            errors["in_stock"] = gettext("This shop's products cannot be filtered by stock.")
        for name, value in (("min_price", min_price), ("max_price", max_price)):
            if value is None:
                continue
            if self.filter_lookup("price") is None:
                errors[name] = gettext("This shop's products cannot be filtered by price.")
            else:
                cleaned[name] = value
        if category not in (None, ""):
            lookup = self.filter_lookup("category")
            field = orm_field(self.model, lookup) if lookup else None
            if field is None:
                errors["category"] = gettext("This shop's products cannot be filtered by category.")
            else:
                if isinstance(category, models.Model):  # a category object, from code rather than a URL
                    category = category.pk
                target = field.related_model._meta.pk if field.is_relation and field.related_model else field
                try:
                    value = target.to_python(category)
                    target.run_validators(value)  # an id beyond the column's range is no id either
                    cleaned["category"] = value
                except ValidationError:
                    errors["category"] = gettext("%(category)r is not a category id of this shop.") % {
                        "category": category
                    }
        if errors:
            raise ProductFilterError(errors)
        return cleaned

    def filter_products(self, queryset: models.QuerySet, **filters) -> models.QuerySet:
        """``queryset`` narrowed by the shop's filters (in SQL); raises ProductFilterError."""
        cleaned = self.clean_filters(**filters)
        conditions = {}
        if cleaned["in_stock"]:
            conditions[f"{self.filter_lookup('stock')}__gt"] = 0
        if "category" in cleaned:
            conditions[self.filter_lookup("category")] = cleaned["category"]
        if "min_price" in cleaned:
            conditions[f"{self.filter_lookup('price')}__gte"] = cleaned["min_price"]
        if "max_price" in cleaned:
            conditions[f"{self.filter_lookup('price')}__lte"] = cleaned["max_price"]
        if not conditions:
            return queryset
        # Through a many-valued relation (stock records, categories) a product matches once.
        return queryset.filter(pk__in=self.model._default_manager.filter(**conditions).values("pk"))

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


def _flat(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return ", ".join(str(item) for item in value)
    return str(value)


def filter_products(queryset, **filters):
    """The shop's business filters (in_stock, category, min_price, max_price), by its product adapter."""
    return get_product_adapter().filter_products(queryset, **filters)


def product_pks_as_text(products: QuerySet):
    """The primary keys of ``products`` as text, for matching ``object_pk`` columns in SQL."""
    return products.order_by().annotate(_pk_text=Cast("pk", output_field=CharField())).values("_pk_text")
