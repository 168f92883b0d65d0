"""Work collected during one database transaction and done once, together, when it commits."""

from __future__ import annotations

from collections.abc import Hashable

from django.db import connections, transaction


class CommitBatch:
    """Keys added during one transaction, handed to ``run`` together after it commits.

    ``schedule(key)`` joins the batch of the same class already waiting on the current
    transaction, or registers a new one. A rolled-back transaction drops its batch; outside
    a transaction the batch runs at once (Django's ``on_commit`` rules).
    """

    def __init__(self) -> None:
        self.keys: list[Hashable] = []
        self.done = False

    def run(self, keys: list[Hashable]) -> None:
        raise NotImplementedError

    def __call__(self) -> None:
        self.done = True
        self.run(list(self.keys))

    def add(self, key: Hashable) -> None:
        if key not in self.keys:
            self.keys.append(key)

    @classmethod
    def schedule(cls, key: Hashable, *, using: str = "default") -> None:
        connection = connections[using]
        if connection.in_atomic_block:
            # run_on_commit holds (savepoint ids, callable, robust) for this transaction.
            for _sids, func, _robust in connection.run_on_commit:
                if type(func) is cls and not func.done:
                    func.add(key)
                    return
        batch = cls()
        batch.add(key)
        transaction.on_commit(batch, using=using)
