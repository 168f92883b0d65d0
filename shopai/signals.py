"""shopai's own signals: how one feature reacts to another without importing it.

Sent by the recommendations feature (which records what shoppers do); the studio's A/B tests
listen (connected in ``shopai/receivers.py``). ``shopper_erased`` is for the host.
"""

from django.dispatch import Signal

# A visitor signed in: their anonymous session (``session_key``) now belongs to ``user``.
visitor_merged = Signal()
# Orders were recorded as purchases: ``user_id`` bought ``product_pks`` (new ones only).
purchases_recorded = Signal()
# shopai erased what it holds about ``user`` (``shopai.core.erasure.erase_shopper``), inside the same
# transaction: a host's receiver erases its own data (orders, logs) there, and fails the erasure if
# it raises. ``visitor_keys`` are the anonymous-visitor keys erased with them. A receiver may return
# {what: count} ({"orders": 3}); it is added to what the erasure reports.
shopper_erased = Signal()
# Every searchable product now has a vector of ``model_name`` (the default embedding model), for the
# first time: search serves that model from now on. Recommendations rebuild interest profiles in
# its space (they were in the previous model's).
embedding_model_completed = Signal()
# The assistant handed a conversation to staff and opened a case (``case_id``, ``reason``, ``priority``
# 1 urgent … 3 normal, ``language``), sent after the transaction commits. shopai's own receiver
# e-mails ASSISTANT["HANDOFF"]["EMAILS"] and calls its WEBHOOK; a host may connect its own (a chat
# tool, a ticket system).
handoff_requested = Signal()
