"""Public catalogues from ../shared/data as rows of the demo shop's catalogue import.

Each loader returns dicts with the columns of ``store.catalog_import`` (sku, name, category,
price, description, language), built the way a shop owner would fill those fields:
the category path, and the description with whatever other text the source has (brand and
tags; a Chinese product's brief and attributes). Nothing here is committed data: the files
are read from the path given on the command line.
"""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

SETS = ("magento", "dummyjson", "litemall")
LANGUAGE = {"magento": "en", "dummyjson": "en", "litemall": "zh"}


def load(name: str, data_dir: Path) -> list[dict[str, str]]:
    """The catalogue rows of set ``name`` (one of SETS) read from ``data_dir`` (../shared/data)."""
    return {"magento": _magento, "dummyjson": _dummyjson, "litemall": _litemall}[name](Path(data_dir))


def _magento(data_dir: Path) -> list[dict[str, str]]:
    """The 199 products a shopper sees (variants are folded into their parents upstream)."""
    with (data_dir / "magento_luma" / "products_flat.derived.csv").open(encoding="utf-8", newline="") as handle:
        return [
            {
                "sku": row["sku"],
                "name": row["name"],
                "category": row["category"],
                "price": row["price"],
                "description": row["description"],
                "language": "en",
            }
            for row in csv.DictReader(handle)
        ]


def _listing(value) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    try:
        parsed = ast.literal_eval(str(value))
    except (ValueError, SyntaxError):
        return []
    return [str(item) for item in parsed] if isinstance(parsed, list) else []


def _dummyjson(data_dir: Path) -> list[dict[str, str]]:
    products = json.loads((data_dir / "dummyjson" / "products.json").read_text(encoding="utf-8"))
    rows = []
    for product in products:
        extra = []
        if product.get("brand"):
            extra.append(f"Brand: {product['brand']}.")
        tags = _listing(product.get("tags"))
        if tags:
            extra.append(f"Tags: {', '.join(tags)}.")
        rows.append(
            {
                "sku": product["sku"],
                "name": product["title"],
                "category": product["category"].replace("-", " ").title(),
                "price": f"{float(product['price']):.2f}",
                "description": " ".join([product["description"], *extra]),
                "language": "en",
            }
        )
    return rows


def _litemall(data_dir: Path) -> list[dict[str, str]]:
    goods = json.loads((data_dir / "litemall_zh" / "goods.derived.json").read_text(encoding="utf-8"))
    rows = []
    for item in goods:
        attributes = "；".join(f"{key}：{value}" for key, value in item.get("attributes") or [] if key and value)
        description = "。".join(part for part in (item.get("brief", "").strip(), attributes) if part)
        rows.append(
            {
                "sku": item["goods_sn"],
                "name": item["name"],
                "category": f"{item['category_l1']}/{item['category_l2']}",
                "price": f"{float(item['retail_price']):.2f}",
                "description": description,
                "language": "zh",
            }
        )
    return rows


def product_text(row: dict[str, str]) -> str:
    """The text the demo shop embeds: name, category path, description (PRODUCT_TEXT_FIELDS)."""
    category = " / ".join(part.strip() for part in row["category"].split("/") if part.strip())
    return "\n".join(part for part in (row["name"], category, row["description"]) if part)
