"""GET /api/shopai/conversations/<session_id>/messages: a handed-over chat's staff replies, for its owner only,
each once; and the chat widget that polls it."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from shopai.assistant import handoffs
from shopai.models import CaseMessage, Conversation, HandoffCase

pytestmark = pytest.mark.django_db


def messages_url(session_id: str) -> str:
    return f"/api/shopai/conversations/{session_id}/messages"


def conversation(user=None, **fields) -> Conversation:
    now = timezone.now()
    return Conversation.objects.create(
        session_id=uuid.uuid4().hex,
        user=user,
        last_activity_at=now,
        expires_at=fields.pop("expires_at", now + timedelta(minutes=30)),
        **fields,
    )


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agent(django_user_model):
    return django_user_model.objects.create_user("mia", password="pw", first_name="Mia", is_staff=True)


@pytest.fixture
def shopper(django_user_model):
    return django_user_model.objects.create_user("ada", password="pw")


def test_the_owner_polls_and_gets_each_staff_reply_once(client, shopper, agent):
    chat = conversation(user=shopper)
    case = handoffs.open_case(conversation=chat, exchange=None, reason="asked")
    client.force_login(shopper)

    before = client.get(messages_url(chat.session_id))
    first = handoffs.reply_to_case(case=case, staff=agent, body="Hello Ada, <b>I am</b> looking into it.")
    polled = client.get(messages_url(chat.session_id), {"after": 0})
    newest = polled.json()["messages"][-1]["id"]
    again = client.get(messages_url(chat.session_id), {"after": newest})
    second = handoffs.reply_to_case(case=case, staff=agent, body="Found it.")
    later = client.get(messages_url(chat.session_id), {"after": newest})

    assert before.status_code == 200 and before.json() == {"case": {"status": "open"}, "messages": []}
    body = polled.json()
    assert body["case"] == {"status": "waiting_on_shopper"}
    assert [set(m) for m in body["messages"]] == [{"id", "body", "author", "created_at"}]
    assert body["messages"][0] | {"created_at": None} == {
        "id": first.pk, "body": "Hello Ada, <b>I am</b> looking into it.", "author": "Mia", "created_at": None,
    }  # fmt: skip
    assert again.json()["messages"] == []
    assert [m["id"] for m in later.json()["messages"]] == [second.pk]
    first.refresh_from_db()
    assert first.seen_at is not None


def test_without_staff_names_the_author_is_customer_service(client, agent, settings):
    settings.SHOPAI = {**settings.SHOPAI, "ASSISTANT": {"HANDOFF": {"SHOW_STAFF_NAMES": False}}}
    chat = conversation()
    case = handoffs.open_case(conversation=chat, exchange=None, reason="asked")
    handoffs.reply_to_case(case=case, staff=agent, body="We are on it.")

    body = client.get(messages_url(chat.session_id)).json()

    assert body["messages"][0]["author"] == "Customer service"


def test_an_anonymous_chat_is_read_by_whoever_holds_its_id(client, agent):
    chat = conversation()
    case = handoffs.open_case(conversation=chat, exchange=None, reason="angry")
    handoffs.reply_to_case(case=case, staff=agent, body="Sorry about that.")

    response = client.get(messages_url(chat.session_id))

    assert response.status_code == 200
    assert [m["body"] for m in response.json()["messages"]] == ["Sorry about that."]


@pytest.mark.parametrize("who", ["another shopper", "anonymous"])
def test_somebody_elses_chat_is_a_404_that_gives_nothing_away(client, shopper, agent, django_user_model, who):
    chat = conversation(user=shopper)
    case = handoffs.open_case(conversation=chat, exchange=None, reason="asked")
    handoffs.reply_to_case(case=case, staff=agent, body="Private reply.")
    if who == "another shopper":
        client.force_login(django_user_model.objects.create_user("eve"))

    theirs = client.get(messages_url(chat.session_id))
    unknown = client.get(messages_url(uuid.uuid4().hex))

    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    assert "No conversation with this id is yours" in theirs.json()["error"]
    assert CaseMessage.objects.get().seen_at is None


@pytest.mark.parametrize("session_id", ["%00abc", "x" * 65, "a%20b", "%E4%BD%A0"])
def test_ids_that_cannot_be_a_conversation_are_a_404(client, session_id):
    response = client.get(messages_url(session_id))

    assert response.status_code == 404 and response.json()["error"]


def test_a_reply_sent_after_the_chat_expired_and_was_resolved_still_reaches_the_shopper(client, agent):
    chat = conversation()
    case = handoffs.open_case(conversation=chat, exchange=None, reason="asked")
    reply = handoffs.reply_to_case(case=case, staff=agent, body="We refunded you.")
    handoffs.resolve_case(case=case, staff=agent)
    Conversation.objects.filter(pk=chat.pk).update(expires_at=timezone.now() - timedelta(hours=5))

    body = client.get(messages_url(chat.session_id)).json()  # the shopper comes back to the tab

    assert body["case"] == {"status": "resolved"} and [m["id"] for m in body["messages"]] == [reply.pk]


def test_a_reply_to_a_case_resolved_meanwhile_is_refused(agent):
    chat = conversation()
    case = handoffs.open_case(conversation=chat, exchange=None, reason="asked")
    stale = HandoffCase.objects.get(pk=case.pk)
    handoffs.resolve_case(case=case, staff=agent)

    with pytest.raises(handoffs.CaseResolved):
        handoffs.reply_to_case(case=stale, staff=agent, body="Hello?")
    assert not CaseMessage.objects.exists() and HandoffCase.objects.get().status == "resolved"


def test_a_resolved_case_says_so_so_the_widget_stops(client):
    chat = conversation()
    case = handoffs.open_case(conversation=chat, exchange=None, reason="asked")
    handoffs.resolve_case(case=case)

    body = client.get(messages_url(chat.session_id)).json()

    assert body == {"case": {"status": "resolved"}, "messages": []}
    assert client.get(messages_url(conversation().session_id)).json() == {"case": None, "messages": []}


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "1e400", str(10**30)])
def test_a_bad_after_is_a_400_that_says_what_to_send(client, after):
    chat = conversation()

    response = client.get(messages_url(chat.session_id), {"after": after})

    assert response.status_code == 400
    assert "after" in response.json()["fields"]
    assert response.json()["error"].startswith("after: ")


def test_polling_is_throttled(client, settings):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "THROTTLE_RATES": {**settings.SHOPAI.get("THROTTLE_RATES", {}), "poll": "3/minute"},
    }
    chat = conversation()

    codes = [client.get(messages_url(chat.session_id)).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


# --- the chat widget ----------------------------------------------------------------------------


def test_the_chat_widget_shows_staff_replies_once_and_stops_when_the_case_is_resolved(
    live_server, agent, settings, monkeypatch
):
    from tests.browser import chromium_page, require_browser

    sync_api = require_browser("the staff reply polling test")
    expect = sync_api.expect
    settings.SHOPAI = {**settings.SHOPAI, "ASSISTANT": {"CONVERSATIONS": {"POLL_SECONDS": 2}}}
    chat = conversation()
    case = handoffs.open_case(conversation=chat, exchange=None, reason="asked")
    handoffs.reply_to_case(case=case, staff=agent, body="Hello, <b>not bold</b> <img src=x onerror=alert(1)>")

    with chromium_page(monkeypatch, locale="en-GB") as page:
        page.goto(live_server.url + "/")
        # What the widget keeps after an answer that opened a case.
        page.evaluate(
            "([session]) => { sessionStorage.setItem('shopai-chat-session', session);"
            " sessionStorage.setItem('shopai-chat-case', '1'); }",
            [chat.session_id],
        )
        page.reload()
        staff = page.locator(".shopai-chat-msg--staff")

        expect(staff).to_have_count(1, timeout=10_000)
        expect(page.locator(".shopai-chat-unread")).to_have_count(1)  # the panel is closed: a dot says so
        page.get_by_role("button", name="Ask us").click()
        expect(staff.locator(".shopai-chat-author")).to_have_text("Mia")
        expect(staff.locator(".shopai-chat-text")).to_have_text("Hello, <b>not bold</b> <img src=x onerror=alert(1)>")
        assert staff.locator("b, img").count() == 0
        assert page.locator(".shopai-chat-unread").count() == 0

        page.reload()  # a reload asks only for newer replies: none shown twice
        page.wait_for_timeout(4_500)
        expect(staff).to_have_count(0)
        handoffs.reply_to_case(case=case, staff=agent, body="Your parcel is at the depot.")
        expect(staff).to_have_count(1, timeout=10_000)
        expect(staff.locator(".shopai-chat-text")).to_have_text("Your parcel is at the depot.")

        handoffs.resolve_case(case=case, staff=agent)
        expect(page.locator(".shopai-chat-msg--notice")).to_have_text(
            re.compile("closed this conversation"), timeout=10_000
        )
        assert page.evaluate("sessionStorage.getItem('shopai-chat-case')") is None
        CaseMessage.objects.create(case=case, author=agent, body="Never polled for.")
        page.wait_for_timeout(4_500)
        expect(staff).to_have_count(1)
    assert HandoffCase.objects.get().status == HandoffCase.Status.RESOLVED
