"""The host's product and order models seen through adapters, and their loaders.

Import from here (``from shopai.adapters import get_product_adapter``); import strings in settings
("shopai.adapters.ProductAdapter", "shopai.adapters.OrderAdapter") name these re-exports.
"""

from shopai.adapters.orders import (
    DECISION_REASONS,
    Decision,
    OrderAdapter,
    OrderInfo,
    OrderLine,
    day_of,
    get_order_adapter,
)
from shopai.adapters.products import (
    ProductAdapter,
    ProductFilterError,
    content_hash,
    filter_products,
    get_product_adapter,
    get_product_model,
    is_product_model,
    orm_field,
    product_pks_as_text,
    resolve_path,
    text_relations,
)

__all__ = [
    "DECISION_REASONS",
    "Decision",
    "OrderAdapter",
    "OrderInfo",
    "OrderLine",
    "ProductAdapter",
    "ProductFilterError",
    "content_hash",
    "day_of",
    "filter_products",
    "get_order_adapter",
    "get_product_adapter",
    "get_product_model",
    "is_product_model",
    "orm_field",
    "product_pks_as_text",
    "resolve_path",
    "text_relations",
]
