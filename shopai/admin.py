"""shopai's admin, registered by feature; Django's autodiscovery finds this module by name.

``ShopAIProductAdminMixin`` is what a host adds to its own product admin:
``class ProductAdmin(ShopAIProductAdminMixin, admin.ModelAdmin)``, with ``"shopai_embedding_status"``
in ``list_display``.
"""

from shopai.assistant import admin as assistant_admin  # noqa: F401  (registers FAQs, conversations)
from shopai.assistant import (
    admin_after_sales,  # noqa: F401  (registers returns and cancellations)
    admin_cases,  # noqa: F401  (registers handoff cases, conversations)
)
from shopai.core.admin_actions import erase_shopai_data  # for the host's user admin: actions = [erase_shopai_data]
from shopai.core.permissions import can_change_products, can_generate_copy
from shopai.insights import admin as insights_admin  # noqa: F401  (registers the AI insights pages)
from shopai.recommendations import admin as recommendations_admin  # noqa: F401  (registers tuned settings)
from shopai.search.admin import SearchProductAdminMixin
from shopai.studio import admin_campaigns  # noqa: F401  (registers campaigns)
from shopai.studio.admin import StudioProductAdminMixin

__all__ = ["ShopAIProductAdminMixin", "erase_shopai_data"]


class ShopAIProductAdminMixin(StudioProductAdminMixin, SearchProductAdminMixin):
    """Mix into the host's ProductAdmin: an embedding-status column, re-embed and copy actions, and
    the "Generate copy with AI" page of a product."""

    change_form_template = "admin/shopai/product_change_form.html"

    def get_actions(self, request):
        # Added after Django's own permission filtering of actions, so each asks for its permissions.
        actions = super().get_actions(request)
        allowed = {
            "shopai_re_embed": can_change_products(request.user),
            "shopai_generate_copy": can_generate_copy(request.user),
        }
        for name, permitted in allowed.items():
            if permitted:
                action = getattr(ShopAIProductAdminMixin, name)
                actions[name] = (action, name, action.short_description)
        return actions
