"""Staff hear of a new handoff case by e-mail and webhook, once each, without what the shopper wrote."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core import mail

from shopai import checks
from shopai.assistant import handoffs, notifications
from shopai.assistant.conversations import open_conversation
from shopai.core.tasks import QueueUnavailable
from shopai.models import Exchange, HandoffCase
from shopai.tasks import notify_handoff_task
from tests.brokers import broker_client

SHOPPER_WROTE = "This is the third time my parcel is late, I am furious! Call me on 0176 5550199, Jane Roe"
SECRET_ENV = "SHOPAI_TEST_HANDOFF_SECRET"

pytestmark = pytest.mark.django_db


def handoff(settings, **values) -> None:
    """Set keys of ASSISTANT["HANDOFF"] (the others keep their defaults)."""
    assistant = settings.SHOPAI.get("ASSISTANT", {})
    settings.SHOPAI = {**settings.SHOPAI, "ASSISTANT": {**assistant, "HANDOFF": values}}


@pytest.fixture
def queue(settings):
    """QUEUES["notifications"] on a queue of this test's own: no worker of another test takes its messages."""
    name = f"test-notifications-{uuid.uuid4().hex[:12]}"
    settings.SHOPAI = {**settings.SHOPAI, "QUEUES": {**settings.SHOPAI.get("QUEUES", {}), "notifications": name}}
    yield name
    broker_client().delete(name)


def queued(queue: str) -> list[tuple[str, list]]:
    """(task name, args) of each message waiting in ``queue``, oldest first."""
    messages = []
    for raw in reversed(broker_client().lrange(queue, 0, -1)):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        messages.append((message["headers"]["task"], args))
    return messages


class Webhook:
    """A real HTTP server on localhost that answers each POST with the next of ``statuses`` (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append(({key.lower(): value for key, value in self.headers.items()}, body))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/shop-cases?token=abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def admin_link(case: HandoffCase) -> str:
    """The case's admin page on ADMIN_URL "https://shop.example"; none while the admin does not show cases."""
    registered = HandoffCase in admin.site._registry
    return f"https://shop.example/admin/shopai/handoffcase/{case.pk}/change/" if registered else ""


def open_case(django_capture_on_commit_callbacks, *, reason="angry", language="en") -> HandoffCase:
    """A chat handed to staff, committed (so handoff_requested is sent), with the shopper's own words."""
    with django_capture_on_commit_callbacks(execute=True):
        conversation = open_conversation(session_id=None, user=AnonymousUser())
        exchange = Exchange.objects.create(
            session_id=conversation.session_id,
            conversation=conversation,
            question=SHOPPER_WROTE,
            language=language,
            intent="complaint",
            reply="I am passing you to a colleague.",
            handoff=True,
            handoff_reason="very_negative",
        )
        return handoffs.open_case(
            conversation=conversation,
            exchange=exchange,
            reason=reason,
            detail="very_negative",
            sentiment_label="negative",
            sentiment_score=-0.9,
            language=language,
        )


def test_a_new_case_queues_one_notice_and_staff_get_one_mail_without_the_shoppers_words(
    settings, queue, django_capture_on_commit_callbacks
):
    handoff(settings, EMAILS=["support@shop.example", "lead@shop.example"], ADMIN_URL="https://shop.example/")

    case = open_case(django_capture_on_commit_callbacks)

    assert queued(queue) == [("shopai.tasks.notify_handoff", [case.pk])]
    assert notify_handoff_task.apply(args=[case.pk]).get() == ["email"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["support@shop.example", "lead@shop.example"]
    assert f"#{case.pk}" in message.subject and "upset shopper" in message.subject and "urgent" in message.subject
    assert "Reason: upset shopper" in message.body and "Priority: urgent" in message.body
    assert "Language: en" in message.body and "Opened: " in message.body
    if admin_link(case):
        assert f"Open it in admin: {admin_link(case)}" in message.body
    for words in ("parcel", "furious", "0176", "Jane", "Roe", "passing you"):
        assert words not in message.subject + message.body, words


def test_the_webhook_gets_the_case_as_json_signed_with_the_shops_secret(
    settings, queue, webhook, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv(SECRET_ENV, "s3cret-of-the-shop")
    handoff(settings, WEBHOOK=webhook.url, WEBHOOK_SECRET_ENV=SECRET_ENV, ADMIN_URL="https://shop.example")

    case = open_case(django_capture_on_commit_callbacks, reason="delivery", language="zh-hans")

    assert queued(queue) == [("shopai.tasks.notify_handoff", [case.pk])]
    assert notify_handoff_task.apply(args=[case.pk]).get() == ["webhook"]
    assert not mail.outbox
    [(headers, body)] = webhook.requests
    expected = "sha256=" + hmac.new(b"s3cret-of-the-shop", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-shopai-signature"], expected)
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert set(payload) == {"case_id", "reason", "priority", "language", "opened_at", "admin_url"}
    assert (payload["case_id"], payload["reason"], payload["priority"], payload["language"]) == (
        case.pk,
        "delivery",
        HandoffCase.Priority.URGENT,
        "zh-hans",
    )
    assert payload["opened_at"] == case.opened_at.isoformat()
    assert payload["admin_url"] == admin_link(case)
    assert "furious" not in body.decode() and "0176" not in body.decode()


def test_without_a_secret_the_webhook_is_not_signed(settings, queue, webhook, django_capture_on_commit_callbacks):
    handoff(settings, WEBHOOK=webhook.url)
    case = open_case(django_capture_on_commit_callbacks)

    notifications.notify_handoff(case_id=case.pk)

    [(headers, _body)] = webhook.requests
    assert "x-shopai-signature" not in headers


def test_a_webhook_answering_500_fails_the_task_after_its_retries_and_staff_get_one_mail(
    settings, queue, webhook, django_capture_on_commit_callbacks
):
    handoff(settings, EMAILS=["support@shop.example"], WEBHOOK=webhook.url)
    case = open_case(django_capture_on_commit_callbacks)
    webhook.statuses = [500] * 100

    outcome = notify_handoff_task.apply(args=[case.pk])

    assert outcome.failed() and isinstance(outcome.result, notifications.NotificationFailed)
    assert "answered 500" in str(outcome.result) and "token" not in str(outcome.result)  # the host only
    assert len(webhook.requests) == 1 + notify_handoff_task.max_retries  # retried, every time
    assert len(mail.outbox) == 1  # the mail went out on the first try and is not repeated


def test_a_retry_after_the_mail_went_out_calls_only_the_webhook(
    settings, queue, webhook, django_capture_on_commit_callbacks
):
    handoff(settings, EMAILS=["support@shop.example"], WEBHOOK=webhook.url)
    case = open_case(django_capture_on_commit_callbacks)
    webhook.statuses = [503]

    with pytest.raises(notifications.NotificationFailed, match="answered 503"):
        notifications.notify_handoff(case_id=case.pk)
    assert len(mail.outbox) == 1

    assert notifications.notify_handoff(case_id=case.pk) == ["webhook"]  # the retry
    assert notifications.notify_handoff(case_id=case.pk) == []  # a redelivery: both got through
    assert len(mail.outbox) == 1 and len(webhook.requests) == 2


def test_an_unreachable_webhook_is_retried(settings, queue, django_capture_on_commit_callbacks):
    hook = Webhook()
    url = hook.url
    hook.close()  # nobody listens there any more
    handoff(settings, WEBHOOK=url)
    case = open_case(django_capture_on_commit_callbacks)

    with pytest.raises(notifications.NotificationFailed, match="unreachable"):
        notifications.notify_handoff(case_id=case.pk)


def test_a_shop_without_emails_or_webhook_queues_nothing(settings, queue, django_capture_on_commit_callbacks):
    case = open_case(django_capture_on_commit_callbacks)

    assert HandoffCase.objects.filter(pk=case.pk).exists()
    assert queued(queue) == []


def test_a_case_that_is_gone_tells_nobody(settings, queue, django_capture_on_commit_callbacks):
    handoff(settings, EMAILS=["support@shop.example"])
    case = open_case(django_capture_on_commit_callbacks)
    HandoffCase.objects.filter(pk=case.pk).delete()

    assert notify_handoff_task.apply(args=[case.pk]).get() == []
    assert not mail.outbox


def test_a_broker_that_is_down_costs_the_notice_not_the_case(
    settings, queue, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise QueueUnavailable("Connection refused")

    monkeypatch.setattr(notifications, "queue_task", broker_down)
    handoff(settings, EMAILS=["support@shop.example"])

    case = open_case(django_capture_on_commit_callbacks)

    assert HandoffCase.objects.filter(pk=case.pk).exists()
    assert f"staff are not told of handoff case {case.pk}" in caplog.text


# System checks


def warnings_of(check, id_: str) -> list[str]:
    return [message.msg for message in check() if message.id == id_]


def test_w006_a_webhook_without_https_outside_debug(settings):
    settings.DEBUG = False
    handoff(settings, WEBHOOK="http://hooks.shop.example/cases")
    assert any("not an https:// URL" in msg for msg in warnings_of(checks.check_handoff_notifications, "shopai.W006"))

    settings.DEBUG = True
    assert warnings_of(checks.check_handoff_notifications, "shopai.W006") == []

    settings.DEBUG = False
    handoff(settings, WEBHOOK="https://hooks.shop.example/cases")
    assert warnings_of(checks.check_handoff_notifications, "shopai.W006") == []


def test_w006_emails_sent_from_djangos_default_address(settings):
    handoff(settings, EMAILS=["support@shop.example"])
    settings.DEFAULT_FROM_EMAIL = "webmaster@localhost"
    assert any("DEFAULT_FROM_EMAIL" in msg for msg in warnings_of(checks.check_handoff_notifications, "shopai.W006"))

    settings.DEFAULT_FROM_EMAIL = "Trailhead & Home <service@shop.example>"
    assert warnings_of(checks.check_handoff_notifications, "shopai.W006") == []


def test_w006_a_secret_variable_that_is_unset(settings, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    handoff(settings, WEBHOOK="https://hooks.shop.example/cases", WEBHOOK_SECRET_ENV=SECRET_ENV)
    assert any(SECRET_ENV in msg for msg in warnings_of(checks.check_handoff_notifications, "shopai.W006"))

    monkeypatch.setenv(SECRET_ENV, "s3cret")
    assert warnings_of(checks.check_handoff_notifications, "shopai.W006") == []


def reply_writer(settings, *, backend: str, timeout: float = 2.5, generation: dict | None = None) -> None:
    assistant = settings.SHOPAI.get("ASSISTANT", {})
    settings.SHOPAI = {
        **settings.SHOPAI,
        "ASSISTANT": {**assistant, "REPLY_WRITER": {"BACKEND": backend, "TIMEOUT": timeout}},
        "GENERATION": {**settings.SHOPAI.get("GENERATION", {}), **(generation or {})},
    }


def server(**config) -> dict:
    return {
        "CLASS": "shopai.backends.generation.OpenAIChatBackend",
        "CONFIG": {"base_url": "http://127.0.0.1:8080/v1", "model": "qwen2.5-1.5b-instruct", **config},
    }


def test_e013_a_reply_writer_alias_that_does_not_exist(settings):
    reply_writer(settings, backend="writer")

    [error] = checks.check_reply_writer()
    assert error.id == "shopai.E013" and "'writer'" in error.msg


def test_w007_a_reply_writer_backend_that_retries_past_the_writers_timeout(settings):
    reply_writer(settings, backend="writer", generation={"writer": server(timeout=2)})  # 2 s x 3 tries
    [warning] = checks.check_reply_writer()
    assert warning.id == "shopai.W007" and "6 s" in warning.msg and '"max_retries": 0' in warning.hint

    reply_writer(settings, backend="writer", generation={"writer": server(timeout=2, max_retries=0)})
    assert checks.check_reply_writer() == []

    reply_writer(settings, backend="")  # off
    assert checks.check_reply_writer() == []


def test_w007_names_the_alias_a_language_is_routed_to(settings):
    reply_writer(settings, backend="writer", generation={"writer": server(timeout=2, max_retries=0), "zh": server()})
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION_BY_LANGUAGE": {"zh": "zh"},
        "ASSISTANT": {
            **settings.SHOPAI["ASSISTANT"],
            "REPLY_WRITER": {**settings.SHOPAI["ASSISTANT"]["REPLY_WRITER"], "LANGUAGES": ["en", "zh"]},
        },
    }

    [warning] = checks.check_reply_writer()
    assert warning.id == "shopai.W007" and "['zh']" in warning.msg and "GENERATION_BY_LANGUAGE" in warning.msg
