"""The marketing studio: copy drafts, grounding, experiments, segments and campaigns.

Public API: ``start_job`` with its ``CopyRequest`` (queue copy drafts for products, as the admin
action does), ``check_text`` (the grounding guard on any text; ``shopai.studio.grounding`` has
the rest of it).
"""

from shopai.studio.copy import CopyError, CopyRequest, start_job
from shopai.studio.grounding import check_text

__all__ = ["CopyError", "CopyRequest", "check_text", "start_job"]
