"""Reference catalogues for the benchmarks: the Magento 2 Luma sample store's product export, read
by path from the shared data folder (never copied into this repository).

``strip_html`` and ``first_category`` turn a Magento row's description and categories into the demo
shop's text; ``convert_magento`` writes a whole export in ``store.catalog_import``'s CSV format.
Standard library only.
"""

from __future__ import annotations

import csv
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

# The Luma export, relative to the shared data folder (--data-dir, default ../shared/data).
MAGENTO_CSV = Path("magento_luma") / "ConfigurableSampleData" / "products.csv"


@dataclass
class Conversion:
    """A Magento export turned into an import_catalog CSV."""

    path: Path
    rows: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> rows
    uncategorised: int = 0


# --- Magento export -> import_catalog CSV -------------------------------------------

_BLOCK_TAG = re.compile(r"<\s*(br|/p|/li|/div|/h\d|/tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")


def strip_html(text: str) -> str:
    """Plain text from a Magento description: tags dropped, entities decoded, whitespace tidied."""
    text = _BLOCK_TAG.sub("\n", text)
    text = html.unescape(_TAG.sub(" ", text))
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def first_category(value: str) -> str | None:
    """``Default Category/Men/Tops/Tees,...`` -> ``Men/Tops/Tees``: the first path below the root."""
    for path in value.split(","):
        parts = [part.strip() for part in path.split("/") if part.strip()]
        if parts and parts[0] == "Default Category":  # Magento's root category, not a real one
            parts = parts[1:]
        if parts:
            return "/".join(parts)
    return None


def convert_magento(source: Path, target: Path) -> Conversion:
    """Write ``source`` (Magento product export) as sku,name,category,price,description,stock."""
    report = Conversion(path=target)
    with (
        source.open(encoding="utf-8-sig", newline="") as handle,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(["sku", "name", "category", "price", "description", "stock", "language"])
        for row in csv.DictReader(handle):
            report.rows += 1
            sku, name = (row.get("sku") or "").strip(), (row.get("name") or "").strip()
            if not name:
                report.skipped["no name"] += 1
                continue
            if not sku:
                report.skipped["no sku"] += 1
                continue
            try:
                price = Decimal((row.get("price") or "").strip()).quantize(Decimal("0.01"))
            except InvalidOperation:
                report.skipped["no usable price"] += 1
                continue
            category = first_category(row.get("categories") or "")
            if category is None:
                category = "Uncategorised"
                report.uncategorised += 1
            description = strip_html(row.get("description") or "") or strip_html(row.get("short_description") or "")
            try:
                stock = str(max(0, int(float(row.get("qty") or 0))))
            except ValueError:
                stock = "0"
            writer.writerow([sku, name, category, str(price), description, stock, "en"])
            report.written += 1
    return report
