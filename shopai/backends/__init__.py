"""Model backends chosen by alias and import string, loaded once per process, on first use."""

from __future__ import annotations

import json
import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from shopai.conf import shopai_settings

_instances: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


class BackendError(Exception):
    """A backend failed in a way that is worth retrying (timeout, server down)."""


class Backend:
    """Base of the model backends: an alias, its CONFIG, and a model loaded once, on first use."""

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        self.alias = alias
        self.config = config
        self._model: Any = None
        self._load_lock = threading.Lock()

    def load(self) -> Any:
        """The model, loaded by ``_load`` the first time (thread-safe)."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        return None


def backend_class(kind: str, alias: str) -> tuple[type, dict[str, Any]]:
    """Import the class for SHOPAI[kind][alias] without instantiating it."""
    configured = getattr(shopai_settings, kind)
    if alias not in configured:
        raise ImproperlyConfigured(f'SHOPAI["{kind}"] has no backend named {alias!r}.')
    entry = configured[alias]
    path = entry.get("CLASS")
    if not path:
        raise ImproperlyConfigured(f'SHOPAI["{kind}"]["{alias}"] needs a "CLASS" import string.')
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f'SHOPAI["{kind}"]["{alias}"]["CLASS"] = {path!r} cannot be imported: {exc}'
        ) from exc
    return cls, dict(entry.get("CONFIG", {}))


def get_backend(kind: str, alias: str = "default") -> Any:
    """The backend of SHOPAI[kind][alias]; aliases configured identically share one instance (one model)."""
    key = (kind, alias)
    backend = _instances.get(key)
    if backend is None:
        with _lock:
            backend = _instances.get(key)
            if backend is None:
                cls, config = backend_class(kind, alias)
                same = (kind, cls, json.dumps(config, sort_keys=True, default=str))
                backend = _instances.get(same) or cls(alias=alias, config=config)
                _instances[key] = _instances[same] = backend
    return backend


def get_embedding_backend(alias: str = "default"):
    return get_backend("EMBEDDINGS", alias)


def reset() -> None:
    """Forget loaded backends (settings changed, or tests)."""
    with _lock:
        _instances.clear()
