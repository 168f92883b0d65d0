"""Evaluation and benchmark figures written as JSON, for every feature's commands."""

from __future__ import annotations

import json
from pathlib import Path


def write_json(data: dict, path: str | Path | None) -> None:
    """Write ``data`` to ``path`` (folders made as needed); nothing when ``path`` is None."""
    if path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
