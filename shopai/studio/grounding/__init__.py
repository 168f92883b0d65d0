"""The grounding guard as the studio uses it: ``shopai.core.grounding``, and a product's facts.

The guard moved to ``shopai.core.grounding`` so that other features can check text with it; its
names stay importable from here. ``check_product_text`` stays in the studio: it reads the
product through the host's product adapter.
"""

from __future__ import annotations

from shopai.adapters import get_product_adapter
from shopai.core.grounding import Flag, GroundingResult, check_text, without_fence_lookalikes

__all__ = ["Flag", "GroundingResult", "check_product_text", "check_text", "without_fence_lookalikes"]


def check_product_text(product, draft: str, *, language: str | None = None) -> GroundingResult:
    """``check_text`` against the product's facts (``ProductAdapter.get_facts``)."""
    return check_text(draft, get_product_adapter().get_facts(product), language=language)
