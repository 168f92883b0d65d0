"""The marketing studio: copy drafts, grounding, experiments, segments and campaigns.

Public API: ``start_job`` with its ``CopyRequest`` (queue copy drafts for products, as the admin
action does), ``check_text`` (the grounding guard on any text; it lives in
``shopai.core.grounding``, and ``shopai.studio.grounding`` adds ``check_product_text``).
"""

from shopai.core.grounding import check_text
from shopai.studio.copy import CopyError, CopyRequest, start_job

__all__ = ["CopyError", "CopyRequest", "check_text", "start_job"]
