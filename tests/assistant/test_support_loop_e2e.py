"""The whole customer-service loop on the demo shop, in two real browsers and with the real models: a
signed-in shopper asks about a late order, names it in a second turn, asks for a person; a colleague
finds the case in admin, reads the transcript and replies; the reply shows in the shopper's chat."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.browser import TIMEOUT_MS, chromium_page, require_browser

sync_api = require_browser("the support loop test")

from shopai.models import CaseMessage, Exchange, HandoffCase  # noqa: E402
from tests.assistant.conftest import REAL  # noqa: E402
from tests.factories import OrderFactory  # noqa: E402

pytestmark = pytest.mark.integration

SHOPPER_SCREENSHOT = Path("/tmp/support_loop_shopper.png")
STAFF_SCREENSHOT = Path("/tmp/support_loop_staff.png")
STAFF_REPLY = "Hi, I've asked the carrier — you'll hear from us today."
# The first question loads the embedding models in the live server: give it time.
FIRST_REPLY_MS = 120_000


def session_cookie(user, url: str) -> dict:
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": url}


@pytest.fixture
def loop(live_server, knowledge_base, settings, make_product, empty_embedding_queue, django_user_model):
    """The demo shop with a shopper whose order shipped nine days ago (due after five), and a colleague."""
    settings.SHOPAI = {
        **settings.SHOPAI,
        **REAL,
        "ASSISTANT": {**REAL["ASSISTANT"], "CONVERSATIONS": {"EXPIRE_MINUTES": 30, "POLL_SECONDS": 1}},
    }
    shopper = django_user_model.objects.create_user("ada-loop", password="pw-loop-123")
    staff = django_user_model.objects.create_superuser("mia-loop", "mia@example.com", "pw-loop-456", first_name="Mia")
    lamp = make_product(sku="LOOP-1", name="Trail desk lamp", price=30, category="Home")
    order = OrderFactory(
        user=shopper,
        status="shipped",
        shipped_at=timezone.now() - timedelta(days=9),
        tracking_number="TRK-LOOP-1",
        products=[lamp],
    )
    return {"server": live_server, "shopper": shopper, "staff": staff, "order": order}


def ask(page, question: str, *, timeout: int = TIMEOUT_MS):
    """Type a question, press Enter, and return the assistant's reply bubble."""
    replies = page.locator(".shopai-chat-msg--bot")
    before = replies.count()
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    sync_api.expect(replies).to_have_count(before + 1, timeout=timeout)
    sync_api.expect(page.locator(".shopai-chat-loading")).to_be_hidden(timeout=timeout)
    return replies.nth(before)


def test_late_order_to_a_person_and_back_to_the_shoppers_chat(loop, monkeypatch):
    expect = sync_api.expect
    url = loop["server"].url
    order_number = str(loop["order"].pk)

    with chromium_page(monkeypatch, locale="en-GB", cookies=[session_cookie(loop["shopper"], url)]) as page:
        # --- the shopper ---------------------------------------------------------------------
        page.goto(url + "/")
        expect(page.get_by_text("Hi ada-loop")).to_be_visible()
        widget = page.locator("[data-shopai-chat]")
        expect(widget).to_have_attribute("data-poll-seconds", "1")  # the setting, read per request
        page.get_by_role("button", name="Ask us").click()
        expect(page.get_by_role("dialog", name="Ask us")).to_be_visible()

        first = ask(page, "My parcel hasn't arrived yet", timeout=FIRST_REPLY_MS)
        first_text = first.locator(".shopai-chat-text")
        expect(first_text).to_contain_text("Which order")
        expect(first_text).to_contain_text(f"{order_number} (")  # the orders offered, by number
        expect(first.locator(".shopai-chat-handoff")).to_have_count(0)
        session_id = page.evaluate("window.sessionStorage.getItem('shopai-chat-session')")
        assert session_id

        second = ask(page, order_number)
        expect(second.locator(".shopai-chat-text")).to_contain_text(f"Order {order_number} is")
        expect(second.locator(".shopai-chat-text")).to_contain_text("TRK-LOOP-1")
        # Four days past the due date: the assistant hands over, and the widget follows the case.
        expect(second.locator(".shopai-chat-handoff")).to_have_text(re.compile("A colleague will take over"))
        assert page.evaluate("window.sessionStorage.getItem('shopai-chat-case')") == "1"
        case = HandoffCase.objects.get()
        assert case.reason == HandoffCase.Reason.DELIVERY and case.status == HandoffCase.Status.OPEN
        assert case.conversation.session_id == session_id and case.conversation.user == loop["shopper"]

        third = ask(page, "I want to talk to a person")
        expect(third.locator(".shopai-chat-handoff")).to_have_text(re.compile("A colleague will take over"))
        expect(third.get_by_role("link", name="Contact")).to_be_visible()
        assert HandoffCase.objects.get().pk == case.pk  # the same case, not a second one
        assert Exchange.objects.get(question="I want to talk to a person").session_id == session_id
        assert page.locator(".shopai-chat-msg--staff").count() == 0
        assert page.locator(".shopai-chat-msg--error").count() == 0

        # --- the colleague, in a browser context of their own ---------------------------------
        staff_context = page.context.browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-GB")
        staff_context.add_cookies([session_cookie(loop["staff"], url)])
        admin = staff_context.new_page()
        admin.set_default_timeout(TIMEOUT_MS)
        admin.goto(url + reverse("admin:shopai_handoffcase_changelist"))
        rows = admin.locator("#result_list tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("delivery")
        expect(rows.first).to_contain_text("I want to talk to a person")  # the last message, the shopper's
        rows.first.locator("th a").click()
        expect(admin).to_have_url(re.compile(re.escape(reverse("admin:shopai_handoffcase_change", args=[case.pk]))))

        transcript = admin.locator(".shopai-transcript")
        expect(transcript).to_contain_text("My parcel hasn't arrived yet")
        expect(transcript.locator(".shopai-transcript-shopper")).to_have_count(3)
        expect(transcript).to_contain_text("TRK-LOOP-1")
        admin.get_by_label("Reply to the shopper").fill(STAFF_REPLY)
        admin.locator("input[name=_save]").click()
        expect(admin.locator(".messagelist")).to_contain_text("Reply sent; the shopper sees it in their chat.")
        expect(transcript.locator(".shopai-transcript-staff")).to_have_text(re.compile(re.escape(STAFF_REPLY)))
        admin.screenshot(path=str(STAFF_SCREENSHOT), full_page=True)

        message = CaseMessage.objects.get()
        assert (message.case_id, message.author, message.body) == (case.pk, loop["staff"], STAFF_REPLY)
        case.refresh_from_db()
        assert case.status == HandoffCase.Status.WAITING and case.assignee == loop["staff"]

        # --- back in the shopper's chat: the widget polls every second ---------------------------
        staff_bubble = page.locator(".shopai-chat-msg--staff")
        expect(staff_bubble).to_have_count(1, timeout=10_000)
        expect(staff_bubble.locator(".shopai-chat-text")).to_have_text(STAFF_REPLY)
        expect(staff_bubble.locator(".shopai-chat-author")).to_have_text("Mia")  # SHOW_STAFF_NAMES: a first name
        page.screenshot(path=str(SHOPPER_SCREENSHOT))
        message.refresh_from_db()
        assert message.seen_at is not None
