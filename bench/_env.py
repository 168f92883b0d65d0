"""What every benchmark with a database of its own does before Django reads its settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def use_own_database(database: str, *, doing: str) -> None:
    """Point the embedded PostgreSQL server's project database at ``database``; refuse to run against
    a ``DATABASE_URL`` (someone's real database), ``doing`` saying what the benchmark does to it."""
    if os.environ.get("DATABASE_URL"):
        raise SystemExit(
            f"DATABASE_URL is set: this benchmark {doing}, so it only runs on the embedded server "
            f"(database {database!r}). Unset DATABASE_URL and run it again."
        )
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    os.environ["SHOPAI_DATABASE_NAME"] = database  # read by config/embedded.py at import
