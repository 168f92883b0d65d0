"""The marketing studio: copy drafts, grounding, experiments, segments and campaigns.

Public API: ``start_job`` with its ``CopyRequest`` (queue copy drafts for products, as the admin
action does), ``check_text`` (the grounding guard on any text; it lives in
``shopai.core.grounding``, and ``shopai.studio.grounding`` adds ``check_product_text``);
``experiment_results`` (an A/B test's arms, comparisons and winner) with ``wilson_interval`` and
``sample_size_per_arm`` from its statistics (the insights pages draw them).
"""

from shopai.core.grounding import check_text
from shopai.studio.copy import CopyError, CopyRequest, start_job
from shopai.studio.experiment_stats import sample_size_per_arm, wilson_interval
from shopai.studio.experiments import results as experiment_results

__all__ = [
    "CopyError",
    "CopyRequest",
    "check_text",
    "experiment_results",
    "sample_size_per_arm",
    "start_job",
    "wilson_interval",
]
