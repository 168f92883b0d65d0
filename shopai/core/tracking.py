"""Which lists of products shoppers were shown, and what they clicked in them: recorded cheaply.

A list shown (search results, a recommendation shelf) gets a random token at once and is written
later, with the other lists of the same request, in one INSERT when the request finishes — after
the response has gone to the shopper — without waiting for the disk (``synchronous_commit`` off for
that one transaction: a crash may lose the last fraction of a second of lists, never anything
else). A list recorded outside a request is written at once.
Each visitor's lists are capped per hour (INSIGHTS["MAX_LISTS_PER_VISITOR_HOUR"]); lists over
the cap, or recorded while the database or cache is down, are dropped and logged: a storefront page
never fails or waits because of them.

A click names the token and the product; it counts only for a product the list held, once per
list, and the shopper is taken to the product's own URL (from its id, never from the request).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Sequence

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from shopai.api.throttling import client_address
from shopai.conf import shopai_settings
from shopai.core.language import detect_language
from shopai.core.redaction import redact
from shopai.core.visitors import VISITOR_KEY
from shopai.models import ListClick, ListImpression

logger = logging.getLogger(__name__)

_pending = threading.local()  # per thread: a request, a task
# Lists one request may buffer before they are written anyway (a page rarely shows more than a few).
_MAX_BUFFERED = 50


def tracking_enabled() -> bool:
    return bool(shopai_settings.INSIGHTS["TRACK"])


def visitor_of(request) -> tuple[object | None, str]:
    """(signed-in user or None, visitor id): the anonymous visitor's key if their session has one,
    else a keyed hash of their address, so distinct visitors can be counted without storing who."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user, ""
    session = getattr(request, "session", None)
    if session is not None:
        key = session.get(VISITOR_KEY) or session.session_key
        if key:
            return None, str(key)
    address = client_address(request) if request is not None else ""
    if not address:
        return None, ""
    return None, "ip:" + salted_hmac("shopai.tracking.visitor", address).hexdigest()[:24]


def list_shown(
    *,
    kind: str,
    placement: str,
    items: Sequence[tuple[object, str]],
    request=None,
    query: str = "",
    language: str = "",
) -> str | None:
    """Record that ``items`` ([(product pk, source)], in order) were shown; returns the list's token.

    None when tracking is off. Nothing is written yet (see the module's docstring).
    """
    if not tracking_enabled():
        return None
    user, visitor = visitor_of(request) if request is not None else (None, "")
    query = redact(query)[:300] if query else ""
    if not language:
        language = detect_language(query) if query else _request_language(request)
    impression = ListImpression(
        id=uuid.uuid4(),
        kind=kind,
        placement=placement[:40],
        query=query,
        language=language[:8],
        user=user,
        visitor=visitor[:64],
        product_pks=[str(pk)[:64] for pk, _ in items],
        sources=[str(source)[:24] for _, source in items],
        created_at=timezone.now(),
    )
    buffered = _buffer()
    buffered.append(impression)
    if request is None or len(buffered) >= _MAX_BUFFERED:  # outside a request nothing else would write it
        flush()
    return str(impression.id)


def click_url(token: str | None, product_pk) -> str | None:
    """The click link of a product in a recorded list (``/shopai/go/<token>/<pk>/``); None without a
    token or when the host does not mount shopai's pages."""
    if not token:
        return None
    try:
        return reverse("shopai:click", args=[token, str(product_pk)])
    except NoReverseMatch:
        return None


class Shown:
    """An item of a recorded list as templates and the API see it: the item's own attributes (``product``,
    ``score``, ``reason``…), its ``click_url`` (None when not tracked) and ``url``: the click link, else
    the product's own page."""

    def __init__(self, item, click_url: str | None) -> None:
        self._item, self.click_url = item, click_url

    def __getattr__(self, name):
        if name.startswith("__") or name == "_item":
            raise AttributeError(name)
        return getattr(self._item, name)

    @property
    def url(self) -> str | None:
        product = self._item.product
        return self.click_url or (product.get_absolute_url() if hasattr(product, "get_absolute_url") else None)


def show(items, *, kind: str, placement: str, source, request=None, query: str = "") -> tuple[str | None, list[Shown]]:
    """Record ``items`` (each with a ``product``; ``source(item)`` says why it is there) as a list shown,
    and link each through it. Returns the list's token and the linked items."""
    items = list(items)
    token = list_shown(
        kind=kind,
        placement=placement,
        items=[(item.product.pk, source(item)) for item in items],
        request=request,
        query=query,
    )
    return token, [Shown(item, click_url(token, item.product.pk)) for item in items]


def _request_language(request) -> str:
    from django.utils.translation import get_language

    return (getattr(request, "LANGUAGE_CODE", "") or get_language() or "").split("-")[0]


def _buffer() -> list[ListImpression]:
    buffered = getattr(_pending, "lists", None)
    if buffered is None:
        buffered = _pending.lists = []
    return buffered


def flush() -> int:
    """Write the lists buffered by this thread or task in one INSERT; returns how many were written."""
    buffered = getattr(_pending, "lists", None)
    if not buffered:
        return 0
    _pending.lists = []
    kept = _under_cap(buffered)
    if not kept:
        return 0
    connection = connections[ListImpression.objects.db]
    try:
        own_transaction = not connection.in_atomic_block
        # A savepoint inside the caller's transaction: a failure here never breaks it.
        with transaction.atomic(using=connection.alias):
            if own_transaction:  # only this transaction's commit skips the wait for the disk
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            ListImpression.objects.bulk_create(kept)
    except DatabaseError:
        logger.warning("Could not record %d lists shown; they are not counted", len(kept), exc_info=True)
        return 0
    return len(kept)


def _under_cap(lists: list[ListImpression]) -> list[ListImpression]:
    """The lists whose visitor is still under the hourly cap (one cache update per visitor)."""
    cap = int(shopai_settings.INSIGHTS["MAX_LISTS_PER_VISITOR_HOUR"])
    by_visitor: dict[str, list[ListImpression]] = {}
    for impression in lists:
        who = f"u{impression.user_id}" if impression.user_id else impression.visitor or "-"
        by_visitor.setdefault(who, []).append(impression)
    hour = timezone.now().strftime("%Y%m%d%H")
    kept: list[ListImpression] = []
    for who, theirs in by_visitor.items():
        key = f"shopai:lists:{hour}:{who}"
        try:
            if cache.add(key, len(theirs), timeout=3700):
                count = len(theirs)
            else:
                count = cache.incr(key, len(theirs))
        except Exception:  # the cache is down: count nothing rather than fail the page
            logger.warning("Cache unreachable; lists shown are not counted", exc_info=True)
            return []
        allowed = max(0, cap - (count - len(theirs)))
        kept += theirs[:allowed]
    return kept


def _flush_when_finished(**kwargs) -> None:
    try:
        flush()
    except Exception:  # never let analytics break the end of a request
        logger.exception("Could not record the lists shown")


def _forget_leftovers(**kwargs) -> None:
    """A new request starts with an empty buffer (lists of a thread's earlier work that nothing wrote,
    such as a test's hand-made request, do not belong to it)."""
    leftovers = getattr(_pending, "lists", None)
    if leftovers:
        logger.debug("Dropping %d lists shown outside a finished request", len(leftovers))
    _pending.lists = []


request_started.connect(_forget_leftovers, dispatch_uid="shopai_tracking_start")
request_finished.connect(_flush_when_finished, dispatch_uid="shopai_tracking_flush")


def record_click(*, token, product_pk, request=None) -> ListClick | None:
    """Count a click on ``product_pk`` in the list ``token``; None if the list is unknown (never
    recorded, over the cap, erased) or did not hold that product. A repeated click counts once."""
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        return None
    row = (
        ListImpression.objects.filter(pk=token)
        .values("kind", "language", "placement", "product_pks", "sources", "user_id", "visitor")
        .first()
    )
    if row is None:
        return None
    product_pk = str(product_pk)
    if product_pk not in row["product_pks"]:
        return None
    index = row["product_pks"].index(product_pk)
    user, visitor = visitor_of(request) if request is not None else (None, "")
    sources = row["sources"]
    click = ListClick(
        impression_id=token,
        product_pk=product_pk,
        position=index + 1,
        source=sources[index] if index < len(sources) else "",
        kind=row["kind"],
        language=row["language"],
        placement=row["placement"],
        # The shopper who clicks may have signed in since the list was shown.
        user_id=user.pk if user is not None else row["user_id"],
        visitor=visitor or row["visitor"],
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            created = ListClick.objects.bulk_create([click], ignore_conflicts=True)
    except IntegrityError:  # the list was erased meanwhile
        return None
    return created[0] if created else None


def merge_visitor(*, session_key: str, user) -> int:
    """A visitor signed in: their lists and clicks become the account's (orders are attributed to it)."""
    if not session_key:
        return 0
    moved = ListClick.objects.filter(visitor=session_key, user__isnull=True).update(user=user)
    ListImpression.objects.filter(visitor=session_key, user__isnull=True).update(user=user)
    return moved


def erase(*, user, visitor_keys: Iterable[str]) -> int:
    """Delete the lists and clicks of this shopper (signed in and as these anonymous visitors)."""
    keys = [key for key in visitor_keys if key]
    clicks = (ListClick.objects.filter(user=user) | ListClick.objects.filter(visitor__in=keys)).delete()[0]
    lists = (ListImpression.objects.filter(user=user) | ListImpression.objects.filter(visitor__in=keys)).delete()[0]
    return clicks + lists
