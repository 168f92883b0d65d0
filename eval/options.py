"""Command-line options the evaluation scripts share."""

from __future__ import annotations

import json
from pathlib import Path


def json_object(value: str | None, option: str, *, report_part: str | None = None) -> dict | None:
    """An option given as inline JSON or as the path of a .json file; None when not given.

    With ``report_part``, a ``--json`` report of the plain-FAQ run (it has "per_language") gives that part.
    """
    if not value:
        return None
    text = Path(value).read_text(encoding="utf-8") if value.endswith(".json") else value
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{option} is not JSON: {exc}") from exc
    if report_part and isinstance(loaded, dict) and "per_language" in loaded:
        loaded = loaded.get(report_part) or {}
    if not isinstance(loaded, dict):
        raise SystemExit(f"{option} needs a JSON object")
    return loaded


def embeddings_entry(value: str | None) -> dict | None:
    """--embeddings: one SHOPAI["EMBEDDINGS"] entry, inline or in a .json file."""
    entry = json_object(value, "--embeddings")
    if entry is not None and not isinstance(entry.get("CLASS"), str):
        raise SystemExit('--embeddings needs {"CLASS": "dotted.path.Backend", "CONFIG": {...}}')
    return entry
