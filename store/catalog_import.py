"""Create or update products from a CSV file, row by row, rejecting bad rows with a reason."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO

from django.db import DatabaseError, transaction

from store.models import Category, Product

REQUIRED_COLUMNS = ("sku", "name", "category", "price", "description")
OPTIONAL_COLUMNS = ("stock", "language", "attributes")
LANGUAGES = {choice.value for choice in Product.Language}
_price = Product._meta.get_field("price")
MAX_PRICE = Decimal(10) ** (_price.max_digits - _price.decimal_places)
MAX_STOCK = 2_147_483_647  # PositiveIntegerField on PostgreSQL
CATEGORY_NAME_LENGTH = Category._meta.get_field("name").max_length


class CatalogFormatError(ValueError):
    """The file as a whole cannot be read (missing columns, not CSV)."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _clean(row: dict[str, str]) -> dict:
    """Validate one row; raises ValueError with a reason a person can fix."""
    values = {key: (row.get(key) or "").strip() for key in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
    for key in ("sku", "name", "category"):
        if not values[key]:
            raise ValueError(f"{key} is empty")
    if len(values["sku"]) > 64:
        raise ValueError("sku is longer than 64 characters")
    if len(values["name"]) > 200:
        raise ValueError("name is longer than 200 characters")
    try:
        price = Decimal(values["price"])
    except InvalidOperation:
        raise ValueError(f"price {values['price']!r} is not a number (use e.g. 19.99)") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"price {values['price']!r} must be zero or more")
    if price.as_tuple().exponent < -2:
        raise ValueError(f"price {values['price']!r} has more than 2 decimal places")
    if price >= MAX_PRICE:
        raise ValueError(f"price {values['price']!r} is too large (at most {MAX_PRICE - Decimal('0.01')})")
    for part in values["category"].split("/"):
        if len(part.strip()) > CATEGORY_NAME_LENGTH:
            raise ValueError(f"category name {part.strip()[:30]!r}… is longer than {CATEGORY_NAME_LENGTH} characters")
    cleaned = {
        "sku": values["sku"],
        "name": values["name"],
        "category": values["category"],
        "price": price.quantize(Decimal("0.01")),
        "description": values["description"],
    }
    if values["stock"]:
        try:
            stock = int(values["stock"])
        except ValueError:
            raise ValueError(f"stock {values['stock']!r} is not a whole number") from None
        if stock < 0:
            raise ValueError("stock cannot be negative")
        if stock > MAX_STOCK:
            raise ValueError(f"stock {stock} is too large (at most {MAX_STOCK})")
        cleaned["stock"] = stock
    if values["language"]:
        if values["language"] not in LANGUAGES:
            raise ValueError(f"language {values['language']!r} is not one of {sorted(LANGUAGES)}")
        cleaned["language"] = values["language"]
    if values["attributes"]:
        try:
            attributes = json.loads(values["attributes"])
        except json.JSONDecodeError as exc:
            raise ValueError(f"attributes is not valid JSON ({exc.msg})") from None
        if not isinstance(attributes, dict):
            raise ValueError('attributes must be a JSON object like {"color": "red"}')
        cleaned["attributes"] = attributes
    return cleaned


# Invoice-line exports such as the UCI Online Retail data set: one row per line sold.
INVOICE_COLUMNS = ("InvoiceNo", "StockCode", "Description", "UnitPrice")
INVOICE_CATEGORY = "Online Retail"
# Stock codes of invoice lines that are charges, not products (postage, carriage, manual, fees...).
CHARGE_CODES = {"POST", "DOT", "C2", "M", "D", "S", "B", "CRUK", "PADS", "AMAZONFEE", "BANK CHARGES"}


def _rows(handle: IO[str]) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(handle)
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    if all(column in header for column in INVOICE_COLUMNS):
        yield from _invoice_products(reader)
        return
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise CatalogFormatError(
            f"The file lacks the column(s) {', '.join(missing)}; the header must contain "
            f"{','.join(REQUIRED_COLUMNS)} (optional: {','.join(OPTIONAL_COLUMNS)}), or be an invoice-line "
            f"export with {','.join(INVOICE_COLUMNS)}."
        )
    for row in reader:
        # line_num is where the row ends; count back over line breaks inside quoted fields
        # (blank lines between rows are skipped by the reader, so "previous end + 1" is wrong).
        breaks = sum(value.count("\n") for value in row.values() if isinstance(value, str))
        yield reader.line_num - breaks, row


def _invoice_products(reader: csv.DictReader) -> Iterable[tuple[int, dict[str, str]]]:
    """One catalogue row per stock code of an invoice-line file: its latest description and price.

    Cancellations (invoice numbers starting with C) and charges such as postage are skipped;
    each charge code is reported once, at its first line.
    """
    products: dict[str, tuple[int, dict[str, str]]] = {}
    for row in reader:
        line = reader.line_num
        code = (row.get("StockCode") or "").strip()
        if (row.get("InvoiceNo") or "").strip().upper().startswith("C"):
            continue
        if code.upper() in CHARGE_CODES:
            if code not in products:
                products[code] = (line, {"_reject": f"stock code {code} is a charge (postage, fee), not a product"})
            continue
        text = " ".join((row.get("Description") or "").split())
        if not code or not text:
            continue  # lines without a description are stock adjustments, not sales
        products[code] = (
            products.get(code, (line, {}))[0],
            {
                "sku": code,
                "name": text.title()[:200],
                "category": INVOICE_CATEGORY,
                "price": (row.get("UnitPrice") or "").strip(),
                "description": text.capitalize(),
            },
        )
    yield from sorted(products.values(), key=lambda item: item[0])


def import_catalog(handle: IO[str], *, progress=None) -> ImportReport:
    """Create or update products by sku. Idempotent: a second run reports everything unchanged.

    Each row is applied in its own savepoint, so a row that fails leaves nothing
    behind; the whole file is one transaction, so its products are embedded in
    a few batches once it commits.
    """
    report = ImportReport()
    seen: dict[str, int] = {}
    with transaction.atomic():
        for line, row in _rows(handle):
            if progress:
                progress(1)
            if None in row:
                report.rejected.append((line, "the row has more fields than the header"))
                continue
            if "_reject" in row:
                report.rejected.append((line, row["_reject"]))
                continue
            try:
                data = _clean(row)
                if data["sku"] in seen:
                    raise ValueError(f"sku {data['sku']} already appeared on line {seen[data['sku']]}")
                seen[data["sku"]] = line
                with transaction.atomic():
                    outcome = _apply(data)
            except ValueError as exc:
                report.rejected.append((line, str(exc)))
                continue
            except DatabaseError as exc:  # a limit _clean does not know about; the savepoint undid the row
                report.rejected.append((line, f"the database refused the row ({str(exc).splitlines()[0]})"))
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _apply(data: dict) -> str:
    category = Category.from_path(data.pop("category"))
    sku = data.pop("sku")
    product = Product.objects.filter(sku=sku).first()
    if product is None:
        Product.objects.create(sku=sku, category=category, **data)
        return "created"
    data["category"] = category
    changed = [name for name, value in data.items() if getattr(product, name) != value]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(product, name, data[name])
    product.save(update_fields=[*changed, "updated_at"])
    return "updated"
