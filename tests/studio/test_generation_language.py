"""Generation backends chosen per language: Chinese copy can go to another model than English copy."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from shopai import backends
from shopai.assistant import phrasings as faq_phrasings
from shopai.backends.generation import generation_alias
from shopai.checks import check_generation_languages
from shopai.models import FAQ, GeneratedCopy, Segment
from shopai.recommendations.events import record_event
from shopai.studio import copy as copy_service
from shopai.studio.segments import apply_rule, write_campaign

FAKE = "shopai.backends.generation.FakeGenerationBackend"


def fake(name: str) -> dict:
    return {"CLASS": FAKE, "CONFIG": {"name": name}}


@pytest.fixture
def two_models(settings):
    """English copy on one fake model, Chinese on another; they differ by the name they sign with."""
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {"default": fake("english-model"), "chinese": fake("chinese-model")},
        "GENERATION_BY_LANGUAGE": {"zh": "chinese"},
    }


def run_copy_job(products, language: str) -> list[GeneratedCopy]:
    request = copy_service.CopyRequest.from_dict({"field": "description", "language": language})
    job = copy_service.start_job(product_pks=[p.pk for p in products], request=request)
    job = copy_service.run_job(job.pk)
    assert (job.status, job.failed) == ("done", 0), job.error
    return list(job.drafts.all())


@pytest.mark.django_db
def test_a_chinese_job_is_written_by_the_chinese_model_and_an_english_one_by_the_default(two_models, make_product):
    kettle = make_product(name="不锈钢电热水壶", description="一点七升，食品级不锈钢内胆。", category="Home/Kitchen")
    pan = make_product(name="Cast iron pan", description="A 26 cm cast iron pan.", category="Home/Kitchen")

    [zh] = run_copy_job([kettle], "zh")
    [en] = run_copy_job([pan], "en")

    assert (zh.backend, zh.model_name) == ("chinese", "chinese-model")
    assert (en.backend, en.model_name) == ("default", "english-model")
    chinese, english = backends.get_backend("GENERATION", "chinese"), backends.get_backend("GENERATION", "default")
    assert (chinese.calls, english.calls) == (1, 1)
    assert "请用简体中文" in chinese.requests[0]["messages"][-1]["content"]
    assert "in English" in english.requests[0]["messages"][-1]["content"]
    assert "不锈钢电热水壶" in zh.text and "Cast iron pan" in en.text and zh.flags == en.flags == []


@pytest.mark.django_db
def test_a_chinese_campaign_is_written_by_the_chinese_model(two_models, make_product, django_user_model):
    pans = [make_product(name=f"铸铁锅 {i}", description="铸铁锅。", category="Home/Kitchen") for i in range(2)]
    cook = django_user_model.objects.create_user("cook")
    for pan in pans:
        record_event(kind="purchase", user=cook, product_pk=pan.pk)
    segment = Segment.objects.create(name="Cooks", rule={"category": "Home", "kind": "purchase", "min_events": 1})
    apply_rule(segment)

    zh = write_campaign(segment, language="zh")
    en = write_campaign(segment, language="en")

    assert (zh.parameters["backend"], zh.parameters["model"]) == ("chinese", "chinese-model")
    assert (en.parameters["backend"], en.parameters["model"]) == ("default", "english-model")


@pytest.mark.django_db
def test_faq_phrasings_in_chinese_are_asked_of_the_chinese_model(two_models):
    faq = FAQ.objects.create(question="送货要多久？", answer="三天。", language="zh")

    faq_phrasings.suggest(faq, count=2)

    assert backends.get_backend("GENERATION", "chinese").calls == 1
    assert backends.get_backend("GENERATION", "default").calls == 0


def test_a_language_is_matched_by_its_tag_then_its_primary_language(settings):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {"default": fake("a"), "chinese": fake("b"), "traditional": fake("c"), "copy": fake("d")},
        "GENERATION_BY_LANGUAGE": {"zh": "chinese", "zh-Hant": "traditional"},
    }

    assert generation_alias(language="zh_CN") == "chinese"
    assert generation_alias(language="zh-hant") == "traditional"
    assert generation_alias(language="en-GB") == "default"
    assert generation_alias(language=None) == "default"
    # A feature's own alias (COPY["BACKEND"]) is used for the languages the mapping leaves out.
    assert generation_alias("copy", language="en") == "copy"
    assert generation_alias("copy", language="zh") == "chinese"


def test_the_default_routes_every_language_to_the_features_alias():
    assert check_generation_languages() == []
    assert generation_alias(language="zh") == "default"


def test_a_language_mapped_to_an_unknown_alias_fails_the_check_and_the_job(settings):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {"default": fake("a")},
        "GENERATION_BY_LANGUAGE": {"zh": "qwen", "en": "default"},
    }

    errors = check_generation_languages()

    assert [error.id for error in errors] == ["shopai.E011"]
    assert "['zh'] = 'qwen'" in errors[0].msg and "'default'" in errors[0].hint
    with pytest.raises(ImproperlyConfigured, match=r'GENERATION_BY_LANGUAGE"\]\[\'zh\'\] = \'qwen\''):
        copy_service.generation_backend("zh")
    assert copy_service.generation_backend("en").name == "a"


def test_a_mapping_that_is_no_dict_fails_the_check(settings):
    settings.SHOPAI = {**settings.SHOPAI, "GENERATION_BY_LANGUAGE": ["zh", "chinese"]}

    assert [error.id for error in check_generation_languages()] == ["shopai.E011"]


# --- A Chinese model behind an OpenAI-compatible server ---------------------------------------------


REPLY = "这款电热水壶容量一点七升。"


class ChineseChatServer(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with a fixed Chinese description; keeps what it was sent."""

    received: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChineseChatServer.received.append((self.path, body))
        reply = {
            "model": body["model"],
            "choices": [{"message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 90, "completion_tokens": 12},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def chinese_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChineseChatServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    ChineseChatServer.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_a_chinese_job_calls_the_openai_compatible_server_configured_for_zh(settings, chinese_server, make_product):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {
            "default": fake("english-model"),
            "chinese": {
                "CLASS": "shopai.backends.generation.OpenAIChatBackend",
                "CONFIG": {"base_url": chinese_server, "model": "qwen2.5-7b-instruct", "max_retries": 0},
            },
        },
        "GENERATION_BY_LANGUAGE": {"zh": "chinese"},
    }
    kettle = make_product(name="电热水壶", description="容量一点七升，不锈钢内胆。", category="Home/Kitchen")

    run_copy_job([kettle], "en")
    assert ChineseChatServer.received == []  # English stays on the default model
    [draft] = run_copy_job([kettle], "zh")

    [(path, body)] = ChineseChatServer.received
    assert path == "/v1/chat/completions" and body["model"] == "qwen2.5-7b-instruct"
    assert "电热水壶" in body["messages"][-1]["content"] and "请用简体中文" in body["messages"][-1]["content"]
    assert (draft.text, draft.backend, draft.model_name) == (
        "这款电热水壶容量一点七升。",
        "chinese",
        "qwen2.5-7b-instruct",
    )
    assert draft.flags == []  # 一点七升 is in the product's data
