"""Search: the product index (vectors and keywords), hybrid search, its evaluation.

Public API for other features: ``search_products`` (the assistant's product questions use it) and
``nearest_products`` (nearest neighbours in the product index: recommendations' interests and the
studio's segments use it).
"""

from shopai.search.hybrid import search_products
from shopai.search.selectors import nearest_products

__all__ = ["nearest_products", "search_products"]
