"""Search: the product index (vectors and keywords), hybrid search, its evaluation.

Public API for other features: ``search_products`` (the assistant's product questions use it).
"""

from shopai.search.hybrid import search_products

__all__ = ["search_products"]
