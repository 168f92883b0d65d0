"""Recommendations: events, interest profiles, recommenders, tuning and offline evaluation.

Public API: ``recommend_for_user``, ``similar_products`` and ``bought_together`` (each a list of
``Recommendation`` with its reason), ``record_event`` (what ``POST /api/shopai/events`` records)
and ``erase_shopper_data`` (a shopper's right to be forgotten).
"""

from shopai.recommendations.events import erase_shopper_data, record_event
from shopai.recommendations.recommenders import (
    Recommendation,
    bought_together,
    recommend_for_user,
    similar_products,
)

__all__ = [
    "Recommendation",
    "bought_together",
    "erase_shopper_data",
    "recommend_for_user",
    "record_event",
    "similar_products",
]
