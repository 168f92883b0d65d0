"""Opt-in phrasings suggested by the generation backend: off by default, stored, used only once accepted."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from shopai.assistant import phrasings as faq_phrasings
from shopai.assistant.faqs import embed_faqs
from shopai.backends import get_backend
from shopai.models import FAQ, FAQEmbedding
from tests.brokers import broker_client

pytestmark = pytest.mark.django_db
URL = "/admin/shopai/faq/"


def test_a_models_reply_is_cleaned_into_phrasings_in_the_faqs_language():
    reply = (
        "1. How long until my parcel arrives?\n"
        "- how long does delivery take?\n"  # the question itself
        "2) When will it get here?\n"
        "送货要多久？\n"  # another language
        "\n"
        "* When will it get here?\n"  # a repeat
        '"Is delivery fast?"\n'
        "What about weekends?\n"
    )
    phrasings = faq_phrasings.parse_phrasings(
        reply, question="How long does delivery take?", language="en", count=3, known=["Is shipping quick?"]
    )
    assert phrasings == ["How long until my parcel arrives?", "When will it get here?", "Is delivery fast?"]


def test_nothing_is_suggested_unless_switched_on(django_capture_on_commit_callbacks):
    broker_client().delete("generation")
    with django_capture_on_commit_callbacks(execute=True):
        faq = FAQ.objects.create(question="How long does delivery take?", answer="Three days.")
    assert broker_client().llen("generation") == 0
    assert FAQ.objects.get(pk=faq.pk).suggested_alternatives == []


def test_switched_on_a_saved_faq_is_queued_once_per_text(settings, django_capture_on_commit_callbacks):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "ASSISTANT": {**settings.SHOPAI.get("ASSISTANT", {}), "PHRASINGS": {"COUNT": 3, "BACKEND": "default"}},
    }
    broker_client().delete("generation")
    with django_capture_on_commit_callbacks(execute=True):
        faq = FAQ.objects.create(question="How long does delivery take?", answer="Three days.")
    assert broker_client().llen("generation") == 1

    faq_phrasings.suggest(faq)  # what the task does (the fake model's reply parses to nothing usable)
    faq.refresh_from_db()
    assert get_backend("GENERATION").calls == 1 and faq.suggested_for == faq_phrasings.texts_hash(faq)
    with django_capture_on_commit_callbacks(execute=True):
        faq.is_published = False
        faq.save()  # same texts: not asked again
    assert broker_client().llen("generation") == 1
    broker_client().delete("generation")


def test_suggestions_are_used_only_after_staff_accept_them(admin_client, django_user_model):
    faq = FAQ.objects.create(
        question="How long does delivery take?",
        answer="Three days.",
        suggested_alternatives=["When will my parcel arrive?"],
    )
    embed_faqs(faq_ids=[faq.pk])
    assert not FAQEmbedding.objects.filter(faq=faq, kind="alternative").exists()
    page = admin_client.get(f"{URL}{faq.pk}/change/")
    assert b"When will my parcel arrive?" in page.content

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_faq"))
    from django.test import Client

    as_viewer = Client()
    as_viewer.force_login(viewer)
    as_viewer.post(URL, {"action": "accept_phrasings", "_selected_action": [faq.pk]})
    assert FAQ.objects.get(pk=faq.pk).alternatives == []  # a view-only user changed nothing

    admin_client.post(URL, {"action": "accept_phrasings", "_selected_action": [faq.pk]})
    faq.refresh_from_db()
    assert faq.alternatives == ["When will my parcel arrive?"] and faq.suggested_alternatives == []
    embed_faqs(faq_ids=[faq.pk])
    assert FAQEmbedding.objects.filter(faq=faq, kind="alternative", text="When will my parcel arrive?").exists()


def test_command_suggests_for_published_faqs_and_can_accept():
    FAQ.objects.create(question="How long does delivery take?", answer="Three days.")
    FAQ.objects.create(question="Old question?", answer="Gone.", is_published=False)
    out = io.StringIO()
    call_command("shopai_suggest_phrasings", count=2, accept=True, no_progress=True, stdout=out)

    assert "for 1 FAQs" in out.getvalue()
    assert FAQ.objects.get(question="Old question?").alternatives == []
    assert FAQ.objects.get(question="How long does delivery take?").suggested_alternatives == []
