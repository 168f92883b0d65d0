"""Admin actions shopai offers for the host's own models (the host adds them to its ModelAdmin)."""

from __future__ import annotations

from collections import Counter

from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shopai.core.erasure import erase_shopper, signed_in_visitor_keys


@admin.action(
    description=_("Erase shopai data (questions, events, profile, segments, A/B exposures)"), permissions=["delete"]
)
def erase_shopai_data(modeladmin, request, queryset):
    """On the user admin: what ``manage.py shopai_erase_shopper`` does, for the selected users."""
    users = list(queryset)
    keys = signed_in_visitor_keys(user.pk for user in users)  # one pass over the sessions for all of them
    removed: Counter[str] = Counter()
    for user in users:
        removed.update(erase_shopper(user=user, visitor_keys=keys[str(user.pk)]))
    details = ", ".join(f"{what}: {count}" for what, count in removed.items() if count) or gettext("nothing was stored")
    message = ngettext(
        "Erased shopai's data of %(count)d user (%(details)s). The account itself is kept.",
        "Erased shopai's data of %(count)d users (%(details)s). The accounts themselves are kept.",
        len(users),
    ) % {"count": len(users), "details": details}
    modeladmin.message_user(request, message, messages.SUCCESS)
