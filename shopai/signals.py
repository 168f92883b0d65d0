"""shopai's own signals: how one feature reacts to another without importing it.

Sent by the recommendations feature (which records what shoppers do); the studio's A/B tests
listen (connected in ``shopai/receivers.py``).
"""

from django.dispatch import Signal

# A visitor signed in: their anonymous session (``session_key``) now belongs to ``user``.
visitor_merged = Signal()
# Orders were recorded as purchases: ``user_id`` bought ``product_pks`` (new ones only).
purchases_recorded = Signal()
