"""Conversations: a chat's turns and the little the assistant remembers between them.

A conversation is found by the id the chat widget keeps (made by the server, 128 random bits) and is
reused only while it has not expired and only by its owner: the signed-in shopper it belongs to, or,
for an anonymous chat, whoever holds its id (a shopper who signs in mid-chat adopts it). Anything
else starts a fresh conversation with a new id, with no hint that the other one exists.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from shopai.conf import shopai_settings
from shopai.models import Conversation

STATE_VERSION = 1


def expiry_after(moment: datetime) -> datetime:
    minutes = float(shopai_settings.section("ASSISTANT", "CONVERSATIONS")["EXPIRE_MINUTES"])
    return moment + timedelta(minutes=minutes)


def _signed_in(user) -> bool:
    return user is not None and user.is_authenticated


def owned_conversation(
    *, session_id: str | None, user, now: datetime | None = None, live: bool = True
) -> Conversation | None:
    """The caller's conversation with this id, or None (unknown, somebody else's, or — with ``live`` —
    expired). A conversation with a case still open with staff does not expire: the shopper is
    waiting. Staff replies stay readable after expiry (``live=False``): a shopper who comes back to
    the tab after the case was resolved still sees the answer."""
    if not session_id:
        return None
    now = now or timezone.now()
    conversation = Conversation.objects.filter(session_id=str(session_id)[:64]).first()
    if conversation is None:
        return None
    if conversation.user_id is not None and not (_signed_in(user) and conversation.user_id == user.pk):
        return None
    expired = conversation.expires_at <= now and conversation.handoff_status != Conversation.Handoff.WITH_STAFF
    return None if expired and live else conversation


def open_conversation(
    *, session_id: str | None, user, visitor_key: str = "", now: datetime | None = None
) -> Conversation:
    """The conversation this turn belongs to: the caller's own live one, else a new one."""
    now = now or timezone.now()
    conversation = owned_conversation(session_id=session_id, user=user, now=now)
    if conversation is not None and conversation.user_id is None and _signed_in(user):
        # Signing in mid-chat adopts the chat only from the browser that began it (its visitor key):
        # an id that leaked elsewhere must not hand a stranger's chat and its staff replies to an account.
        if not conversation.session_key or conversation.session_key != visitor_key[:64]:
            conversation = None
    if conversation is None:
        return Conversation.objects.create(
            session_id=uuid.uuid4().hex,
            user=user if _signed_in(user) else None,
            session_key=visitor_key[:64],
            state={"v": STATE_VERSION},
            last_activity_at=now,
            expires_at=expiry_after(now),
        )
    if conversation.user_id is None and _signed_in(user):
        conversation.user = user  # signed in mid-chat: the chat is theirs from now on
        conversation.save(update_fields=["user"])
    return conversation


def state_of(conversation: Conversation) -> dict:
    """The conversation's state; one written by another version of shopai reads as empty."""
    state = conversation.state if isinstance(conversation.state, dict) else {}
    return dict(state) if state.get("v") == STATE_VERSION else {"v": STATE_VERSION}


def save_state(conversation: Conversation, *, state: dict, language: str, now: datetime | None = None) -> None:
    """Store the state after a turn, under a row lock so the row is written whole; two turns of the
    same chat at once (two tabs) are not merged: the later one's state wins."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        locked.state = {**state, "v": STATE_VERSION}
        if language:
            locked.language = language
        locked.last_activity_at = now
        locked.expires_at = expiry_after(now)
        locked.save(update_fields=["state", "language", "last_activity_at", "expires_at"])
    conversation.state, conversation.language = locked.state, locked.language
    conversation.last_activity_at, conversation.expires_at = now, locked.expires_at
