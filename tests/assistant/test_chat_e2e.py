"""The storefront chat widget in a real browser: ask, see the answer, give feedback, get a human."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.browser import chromium_page, require_browser  # noqa: E402

sync_api = require_browser("the chat widget test")

from shopai.assistant.answers import link  # noqa: E402
from shopai.assistant.faqs import assistant_backend, embed_faqs  # noqa: E402
from shopai.assistant.intents import get_intent_classifier  # noqa: E402
from shopai.conf import shopai_settings  # noqa: E402
from shopai.models import FAQ, Exchange  # noqa: E402

SCREENSHOT = Path("/tmp/chat_widget.png")


@pytest.fixture
def shop(live_server, make_product, empty_embedding_queue, monkeypatch):
    """A shop with one product and a few embedded FAQs, served by a live server."""
    make_product(name="Ridgeline hiking jacket", category="Outdoor/Jackets")
    faqs = [
        FAQ.objects.create(
            question="How long does delivery take?",
            answer="Standard delivery takes 3 to 5 working days.",
            alternatives=["When will my parcel arrive?"],
        ),
        FAQ.objects.create(
            question="Which payment methods do you accept?",
            answer="We accept Visa, Mastercard and PayPal.",
        ),
        FAQ.objects.create(
            question="Do you offer gift wrapping?",
            answer="Yes, <b>not bold</b> gift wrapping is free. <script>window.shopaiInjected = true</script>",
        ),
    ]
    embed_faqs(faq_ids=[faq.pk for faq in faqs])
    # Train the intent classifier now, so that the first question is not slowed down by it.
    get_intent_classifier(assistant_backend())
    return live_server


@pytest.fixture
def page(shop, monkeypatch):
    with chromium_page(monkeypatch, locale="en-GB") as page:
        yield page


def ask(page, question: str):
    """Type a question, press Enter, and return the assistant's reply bubble."""
    replies = page.locator(".shopai-chat-msg--bot")
    before = replies.count()
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")
    sync_api.expect(replies).to_have_count(before + 1)
    return replies.nth(before)


def test_shopper_asks_gives_feedback_and_reaches_a_human(page, shop):
    expect = sync_api.expect
    page.goto(shop.url + "/")
    expect(page.get_by_role("heading", name="Ridgeline hiking jacket")).to_be_visible()

    page.get_by_role("button", name="Ask us").click()
    panel = page.get_by_role("dialog", name="Ask us")
    expect(panel).to_be_visible()
    expect(page.get_by_label("Your question")).to_be_focused()

    reply = ask(page, "How long does delivery take?")
    expect(reply.locator(".shopai-chat-text")).to_have_text(re.compile(r"Standard delivery takes 3 to 5 working days"))
    expect(reply.locator(".shopai-chat-confidence")).to_have_text(re.compile(r"^(very sure|fairly sure) · \d+%$"))
    expect(reply.locator(".shopai-chat-sources-list li").first).to_have_text("How long does delivery take?")
    expect(reply.locator(".shopai-chat-handoff")).to_have_count(0)
    session_id = page.evaluate("window.sessionStorage.getItem('shopai-chat-session')")
    assert session_id

    reply.get_by_role("button", name="Yes, this helped").click()
    expect(reply.get_by_text("Thanks for your feedback.")).to_be_visible()
    exchange = Exchange.objects.get(question="How long does delivery take?")
    assert exchange.helpful is True
    assert exchange.session_id == session_id

    # Shop text is shown as text: no <b> element, no script run.
    reply = ask(page, "Do you offer gift wrapping?")
    expect(reply.locator(".shopai-chat-text")).to_contain_text("Yes, <b>not bold</b> gift wrapping is free.")
    assert "<b>not bold</b>" in panel.inner_text()
    assert panel.locator("b").count() == 0
    assert panel.locator("script").count() == 0
    assert page.evaluate("window.shopaiInjected === undefined")

    page.get_by_role("button", name="Talk to a human").click()
    reply = page.locator(".shopai-chat-msg--bot").last
    expect(reply.locator(".shopai-chat-handoff")).to_have_text(re.compile("A colleague will take over"))
    expect(page.locator(".shopai-chat-msg--user").last).to_have_text("I want to talk to a person")
    expect(reply.get_by_role("link", name="Contact")).to_have_attribute("href", link("contact"))
    handoff = Exchange.objects.get(question="I want to talk to a person")
    assert handoff.handoff is True
    assert handoff.session_id == session_id  # later questions continue the same conversation

    page.screenshot(path=str(SCREENSHOT))


def test_api_errors_are_shown_as_readable_messages(page, shop):
    expect = sync_api.expect
    page.goto(shop.url + "/")
    page.get_by_role("button", name="Ask us").click()

    limit = int(shopai_settings.ASSISTANT["MAX_QUESTION_LENGTH"])
    page.get_by_label("Your question").evaluate("box => box.removeAttribute('maxlength')")
    page.get_by_label("Your question").fill("x" * (limit + 1))
    page.get_by_role("button", name="Send").click()

    error = page.locator(".shopai-chat-msg--error")
    expect(error).to_have_text(f"question: The question is {limit + 1} characters long; please keep it under {limit}.")
    expect(page.get_by_label("Your question")).to_have_value("x" * (limit + 1))  # given back to send again
    expect(page.locator(".shopai-chat-loading")).to_be_hidden()
    assert not Exchange.objects.exists()


def test_signed_in_shopper_passes_the_csrf_check(page, shop, django_user_model):
    shopper = django_user_model.objects.create_user(username="ada", password="secret-pass-123")
    client = Client()
    client.force_login(shopper)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": shop.url,
            }
        ]
    )
    page.goto(shop.url + "/")
    sync_api.expect(page.get_by_text("Hi ada")).to_be_visible()
    page.get_by_role("button", name="Ask us").click()

    reply = ask(page, "Which payment methods do you accept?")

    sync_api.expect(reply.locator(".shopai-chat-text")).to_contain_text("We accept Visa, Mastercard and PayPal.")
    assert page.locator(".shopai-chat-msg--error").count() == 0
    assert Exchange.objects.get(question="Which payment methods do you accept?").user == shopper
