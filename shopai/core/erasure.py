"""Erasing a shopper: everything shopai holds about them, in every table, then ``shopper_erased`` for the host."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import models, transaction
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from shopai.core import tracking
from shopai.core.visitors import VISITOR_KEY
from shopai.models import (
    AfterSalesRequest,
    Campaign,
    CampaignRecipient,
    CaseMessage,
    Conversation,
    Event,
    Exchange,
    Exposure,
    GeneratedCopy,
    GenerationJob,
    HandoffCase,
    MarketingConsent,
    Segment,
    UserProfile,
)
from shopai.signals import shopper_erased


def signed_in_visitor_keys(user_pks: Iterable) -> dict[str, set[str]]:
    """The anonymous-visitor keys (``VISITOR_KEY``) kept in each user's live sessions, by user pk as text.

    Only a database-backed session engine can be searched: one pass over the unexpired sessions. With
    cache or cookie sessions every set is empty, and the caller passes the keys it knows.
    """
    found: dict[str, set[str]] = {str(pk): set() for pk in user_pks}
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not found or not hasattr(store, "get_model_class"):
        return found
    decoder = store()
    rows = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    for session_data in rows.values_list("session_data", flat=True).iterator():
        data = decoder.decode(session_data)
        owner = str(data.get(SESSION_KEY, ""))
        if owner in found and data.get(VISITOR_KEY):
            found[owner].add(str(data[VISITOR_KEY]))
    return found


def erase_shopper(*, user, visitor_keys: Iterable[str] | None = None) -> dict[str, int]:
    """Delete, or cut loose from ``user``, everything shopai holds about them; returns what, e.g. {"events": 12}.

    Deleted: their conversations with the assistant (signed in, as an anonymous visitor, and the
    anonymous turns of the same chats) with their exchanges, handoff cases and staff replies, their
    events signed in and as an anonymous visitor, the lists of products they were shown and their
    clicks (so they disappear from the insights pages), the campaign mails sent to them with their clicks
    (the campaigns' A/B counts keep their anonymised exposures), their marketing consent, their interest
    profile, their segment memberships.
    Kept but no longer theirs: their return and cancellation requests (the order number is the
    shop's business record; the host's ``shopper_erased`` receiver erases the order), their A/B
    exposures (under "erased:<id>", so running experiments keep their counts), and what they did as
    staff (copy jobs, reviews, cases assigned, replies written, requests decided). The account is
    the host's and stays. ``visitor_keys``: their anonymous-visitor keys; None looks them up
    (``signed_in_visitor_keys``). One transaction, ``shopper_erased`` sent inside it; idempotent.
    """
    if visitor_keys is None:
        visitor_keys = signed_in_visitor_keys([user.pk])[str(user.pk)]
    keys = sorted({str(key) for key in visitor_keys if key})
    with transaction.atomic():
        conversations = Exchange.objects.filter(user=user).values("session_id")
        chats = (
            Conversation.objects.filter(user=user)
            | Conversation.objects.filter(session_key__in=keys)
            | Conversation.objects.filter(session_id__in=conversations)
        )
        requests = AfterSalesRequest.objects.filter(user=user)
        unlinked_requests = requests.update(user=None, conversation=None)
        _, chat_rows = Conversation.objects.filter(pk__in=list(chats.values_list("pk", flat=True))).delete()
        exchanges = Exchange.objects.filter(user=user) | Exchange.objects.filter(
            user__isnull=True, session_id__in=conversations
        )
        membership = Segment._meta.get_field("users")
        removed = {
            "exchanges": exchanges.delete()[0] + chat_rows.get(Exchange._meta.label, 0),
            "events": (Event.objects.filter(user=user) | Event.objects.filter(session_key__in=keys)).delete()[0],
            "interest profiles": UserProfile.objects.filter(user=user).delete()[0],
            "segment memberships": membership.remote_field.through.objects.filter(
                **{membership.m2m_reverse_field_name(): user}
            ).delete()[0],
            "lists shown and clicks": tracking.erase(user=user, visitor_keys=keys),
            # Their campaign mails (and the clicks on them) and their marketing consent.
            "campaign mails": CampaignRecipient.objects.filter(user=user).delete()[1].get(
                CampaignRecipient._meta.label, 0
            ),
            "marketing consent": MarketingConsent.objects.filter(user=user).delete()[0],
            "experiment exposures anonymised": Exposure.objects.filter(
                visitor__in=[f"user:{user.pk}", *(f"visitor:{key}" for key in keys)]
            ).update(visitor=Concat(models.Value("erased:"), Cast("pk", models.CharField()))),
            "copy jobs and reviews unlinked": GenerationJob.objects.filter(created_by=user).update(created_by=None)
            + GeneratedCopy.objects.filter(reviewed_by=user).update(reviewed_by=None)
            + Campaign.objects.filter(reviewed_by=user).update(reviewed_by=None),
            "conversations": chat_rows.get(Conversation._meta.label, 0),
            "handoff cases": chat_rows.get(HandoffCase._meta.label, 0),
            "after-sales requests unlinked": unlinked_requests,
            "cases and replies unlinked (staff)": HandoffCase.objects.filter(assignee=user).update(assignee=None)
            + CaseMessage.objects.filter(author=user).update(author=None)
            + AfterSalesRequest.objects.filter(decided_by=user).update(decided_by=None),
        }
        for _receiver, response in shopper_erased.send(sender=type(user), user=user, visitor_keys=keys):
            for what, count in (response or {}).items():
                removed[what] = removed.get(what, 0) + count
    return removed
