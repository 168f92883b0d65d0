"""Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp server, OpenAI)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from shopai.backends.generation.base import MAX_RETRY_AFTER, GenerationBackend, GenerationRejected, TransientError


class OpenAIChatBackend(GenerationBackend):
    """Any server speaking the OpenAI ``/v1/chat/completions`` protocol (vLLM, llama.cpp server, Ollama, hosted).

    CONFIG: base_url (e.g. "http://127.0.0.1:8080/v1"), model, api_key_env (name of the
    environment variable holding the key; local servers need none), plus the common keys.
    Connection errors, timeouts, 5xx, 408 and 429 are retried (honouring a short Retry-After);
    other 4xx raise GenerationRejected with the server's message.
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        for key in ("base_url", "model"):
            if not config.get(key):
                raise ImproperlyConfigured(f'SHOPAI["GENERATION"]["{alias}"]["CONFIG"] needs {key!r}.')
        self.url = str(config["base_url"]).rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key_env = self.config.get("api_key_env")
        if key_env:
            key = os.environ.get(key_env)
            if not key:
                raise ImproperlyConfigured(
                    f"{self.setting('api_key_env')}: the environment variable {key_env} is unset."
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        body: dict[str, Any] = {
            "model": self.config["model"],
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            body["stop"] = stop
        if "seed" in self.config:
            body["seed"] = int(self.config["seed"])
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=self._headers(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            message = _server_message(exc)
            if exc.code in (408, 409, 429) or exc.code >= 500:
                error = TransientError(f"{self.url} answered {exc.code}: {message}")
                error.retry_after = _retry_after(exc)
                raise error from exc
            raise GenerationRejected(f"{self.url} rejected the request ({exc.code}): {message}", status=exc.code)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
                raise TransientError(f"{self.url} did not answer within {self.timeout:g} s") from exc
            raise TransientError(f"{self.url} is unreachable: {reason}") from exc
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TransientError(f"{self.url} sent an unexpected answer: {raw[:200]!r}") from exc
        usage = payload.get("usage") or {}
        return (
            text.strip(),
            usage.get("prompt_tokens") or 0,
            usage.get("completion_tokens") or 0,
            choice.get("finish_reason"),
            payload.get("model") or self.name,
        )


def _server_message(error: urllib.error.HTTPError) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body's start, else the reason."""
    try:
        raw = error.read()
    except Exception:  # the body is a nicety: any failure to read it falls back to the reason
        raw = b""
    try:
        payload = json.loads(raw)
        detail = payload.get("error", payload)
        if isinstance(detail, dict):
            detail = detail.get("message") or detail.get("detail") or json.dumps(detail)
        return str(detail)
    except (ValueError, AttributeError):
        text = raw.decode("utf-8", "replace").strip()
        return text[:500] or str(error.reason)


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER) if value is not None else None
    except ValueError:
        return None
