"""Recording what shoppers do, cheaply, and keeping their interest profiles in step."""

from __future__ import annotations

import functools
import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from shopai import signals
from shopai.adapters import get_order_adapter, get_product_adapter, resolve_path
from shopai.conf import shopai_settings
from shopai.core.erasure import erase_shopper
from shopai.core.on_commit import CommitBatch
from shopai.core.redaction import redact
from shopai.core.tasks import QueueUnavailable, queue_task
from shopai.models import Event

logger = logging.getLogger(__name__)


def record_event(*, kind: str, user=None, session_key: str = "", product_pk=None, query: str = "", when=None) -> Event:
    """Store one event (no model call) and schedule the shopper's profile update."""
    signed_in = user is not None and user.is_authenticated
    event = Event.objects.create(
        user=user if signed_in else None,
        session_key="" if signed_in else (session_key or ""),
        kind=kind,
        object_pk="" if product_pk is None else str(product_pk),
        query=redact(query)[:300],  # a shopper may search for their own phone number or e-mail
        created_at=when or timezone.now(),
    )
    if signed_in:
        schedule_profile_update(user_id=user.pk)
    return event


def schedule_profile_update(*, user_id: int) -> None:
    """Debounced: the first event of a burst queues one update a few seconds later.

    If the cache or the broker is down, the profile is rebuilt by the next event or by
    ``shopai_rebuild_profiles``; the event itself is already saved.
    """
    delay = int(shopai_settings.RECOMMENDATIONS["PROFILE_DEBOUNCE_SECONDS"])
    try:
        first_of_burst = cache.add(f"shopai:profile-pending:{user_id}", 1, timeout=delay + 30)
    except Exception as exc:  # cache backends raise their own types; all mean "cache down"
        logger.warning("Cache unreachable; profile update of user %s not queued: %s", user_id, exc)
        return
    if not first_of_burst:
        return
    try:
        queue_task("shopai.tasks.update_profile", args=[user_id], countdown=delay, queue="embeddings")
    except QueueUnavailable as exc:
        cache.delete(f"shopai:profile-pending:{user_id}")  # let the next event try again
        logger.warning("Broker unreachable; profile update of user %s not queued: %s", user_id, exc)


def merge_session_events(*, session_key: str, user) -> int:
    """Give a visitor's anonymous events to the account they just signed in to."""
    if not session_key:
        return 0
    moved = Event.objects.filter(session_key=session_key, user__isnull=True).update(user=user, session_key="")
    signals.visitor_merged.send(sender=Event, session_key=session_key, user=user)
    if moved:
        schedule_profile_update(user_id=user.pk)
    return moved


def erase_shopper_data(*, user) -> int:
    """ "Erase my data": everything shopai holds about this shopper, not only their events and
    profile (``shopai.core.erasure.erase_shopper``); returns how many events went."""
    removed = erase_shopper(user=user)
    cache.delete(f"shopai:profile-pending:{user.pk}")
    return removed["events"]


# --- Orders count as purchases ------------------------------------------------------


def order_item_model():
    """The model of an order's lines (ORDER_FIELDS["items"]), or None without an order model."""
    model = get_order_adapter().model
    if model is None:
        return None
    return model._meta.get_field(shopai_settings.ORDER_FIELDS["items"]).related_model


def sync_order_purchases(*, order_pk) -> int:
    """Make the shopper's purchase events mirror this order: its lines if its state counts, else none.

    Idempotent (events carry ``source="order:<pk>"``); returns how many events it added or removed.
    """
    model = get_order_adapter().model
    fields = shopai_settings.ORDER_FIELDS
    source = f"order:{order_pk}"
    order = model._default_manager.filter(pk=order_pk).first()
    existing = Event.objects.filter(source=source)
    if order is None:
        return existing.delete()[0]
    states = shopai_settings.ORDER_PURCHASED_STATES
    counts = states is None or str(resolve_path(order, fields["state"])) in {str(state) for state in states}
    user_id = getattr(order, f"{fields['user']}_id", None)
    wanted: set[str] = set()
    if counts and user_id is not None:
        items = getattr(order, fields["items"]).all()
        bought = [str(pk) for pk in items.values_list(f"{fields['item_product']}_id", flat=True) if pk is not None]
        wanted = set(get_product_adapter().shown_pks(bought).values())
    when = resolve_path(order, fields["created"]) or timezone.now()
    with transaction.atomic():
        have = dict(existing.values_list("object_pk", "pk"))
        removed = Event.objects.filter(pk__in=[pk for product, pk in have.items() if product not in wanted]).delete()[0]
        Event.objects.filter(source=source).exclude(created_at=when).update(created_at=when)
        Event.objects.bulk_create(
            [
                Event(user_id=user_id, kind=Event.Kind.PURCHASE, object_pk=product, created_at=when, source=source)
                for product in sorted(wanted - set(have))
            ]
        )
    changed = removed + len(wanted - set(have))
    if changed and user_id is not None:
        schedule_profile_update(user_id=user_id)
    if wanted - set(have) and user_id is not None:  # A/B tests on these products may count a conversion
        signals.purchases_recorded.send(sender=Event, user_id=user_id, product_pks=wanted - set(have))
    return changed


class _OrderBatch(CommitBatch):
    """Orders touched in one transaction, mirrored once it commits (after their lines exist)."""

    def run(self, keys: list) -> None:
        for pk in keys:
            try:
                sync_order_purchases(order_pk=pk)
            except Exception:  # never break the shop's checkout; shopai_sync_orders repairs it
                logger.exception("Could not record the purchases of order %s", pk)


def schedule_order_sync(*, order_pk, using: str = "default") -> None:
    _OrderBatch.schedule(order_pk, using=using)


def order_pk_for(sender, instance):
    """The order a saved/deleted order or order line belongs to; None for any other model.

    Runs on every save of every model in the project, so the answer for other models is one
    dict lookup."""
    senders = order_senders()
    label = sender._meta.label_lower
    if label not in senders:
        return None
    attname = senders[label]
    return instance.pk if attname is None else getattr(instance, attname, None)


@functools.cache
def order_senders() -> dict[str, str | None]:
    """``label_lower`` of the order model (-> None) and of its line model (-> the line's order id
    attribute); empty without ORDER_MODEL. Cleared when SHOPAI changes (shopai.receivers.settings_changed)."""
    if not shopai_settings.ORDER_MODEL:
        return {}
    model = get_order_adapter().model
    relation = model._meta.get_field(shopai_settings.ORDER_FIELDS["items"])
    return {model._meta.label_lower: None, relation.related_model._meta.label_lower: relation.field.attname}
