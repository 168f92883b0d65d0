"""Who may do what: Django's model permissions, asked in one place for admin actions and the API.

Changing live products (publishing a draft, promoting an A/B winner, queueing their re-embedding or
copy) needs the change permission on the shop's product model, whatever shopai's own models allow.
"""

from __future__ import annotations

from django.contrib.auth import get_permission_codename

from shopai.adapters import get_product_model
from shopai.models import GenerationJob


def has_model_perm(user, model, action: str) -> bool:
    """``user`` holds ``<app>.<action>_<model>`` (view, add, change, delete)."""
    opts = model._meta
    return bool(user and user.is_active and user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}"))


def can_change_products(user) -> bool:
    return has_model_perm(user, get_product_model(), "change")


def can_generate_copy(user) -> bool:
    """Queue copy drafts for products: add a generation job, and be allowed to change products."""
    return has_model_perm(user, GenerationJob, "add") and can_change_products(user)
