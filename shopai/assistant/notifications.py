"""Staff told of a new handoff case: an e-mail to ASSISTANT["HANDOFF"]["EMAILS"], a signed POST to its WEBHOOK.

Neither carries what the shopper wrote, nor who they are: the case's id, reason, priority and
language, when it opened and the link to it in admin, where staff read the conversation.

A channel that got through is remembered in the cache, per case and channel, so the task's retry
after a failed webhook does not e-mail staff a second time. A key is claimed before sending, so
two runs of the same task at once send once; a run that dies while sending leaves a claim that
expires after CLAIM_SECONDS, then the retry sends. Delivery is at least once: a worker killed
between sending and remembering sends again on redelivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from shopai.conf import shopai_settings
from shopai.core.tasks import QueueUnavailable, queue_task
from shopai.models import HandoffCase

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5  # seconds per connection attempt and read
SIGNATURE_HEADER = "X-Shopai-Signature"
# A channel that got through is remembered for longer than any retry of the task takes.
SENT_SECONDS = 7 * 24 * 3600
# A claim outlives the task's time limit, so a claim is never taken over while its sender still runs.
CLAIM_SECONDS = 120
SENT, SENDING = "sent", "sending"


class NotificationFailed(ConnectionError):
    """A channel did not take the notice (mail server, a webhook's non-2xx answer or network error).

    A ConnectionError, so the task retries it like any transient failure (shopai.core.tasks.TRANSIENT)."""


def handoff_settings() -> dict:
    return shopai_settings.section("ASSISTANT", "HANDOFF")


def recipients() -> list[str]:
    """EMAILS as a list (a single address given as a string counts as one)."""
    emails = handoff_settings()["EMAILS"] or []
    return [emails] if isinstance(emails, str) else [str(email) for email in emails if email]


def channels() -> list[str]:
    """The configured channels: "email", "webhook", both or none."""
    wanted = ["email"] if recipients() else []
    return wanted + ["webhook"] if handoff_settings()["WEBHOOK"] else wanted


def schedule_handoff_notification(*, case_id: int) -> None:
    """Queue the task that tells staff of a new case, when EMAILS or WEBHOOK is set.

    Called once the case's transaction committed (``handoff_requested``). A broker that is down
    costs the notice only: the case is in admin either way."""
    if not channels():
        return
    try:
        queue_task("shopai.tasks.notify_handoff", args=[case_id], queue="notifications", retry=False)
    except QueueUnavailable as exc:
        logger.warning("Broker unreachable; staff are not told of handoff case %s (it is in admin): %s", case_id, exc)


@dataclass(frozen=True)
class HandoffNotice:
    """What staff are told of a case: nothing the shopper wrote, nothing that names them."""

    case_id: int
    reason: str
    priority: int
    language: str
    opened_at: datetime
    admin_url: str

    def payload(self) -> dict:
        """The webhook's JSON body."""
        return {
            "case_id": self.case_id,
            "reason": self.reason,
            "priority": self.priority,
            "language": self.language,
            "opened_at": self.opened_at.isoformat(),
            "admin_url": self.admin_url,
        }


def notice_for(case: HandoffCase) -> HandoffNotice:
    try:
        path = reverse("admin:shopai_handoffcase_change", args=[case.pk])
    except NoReverseMatch:  # the host's admin does not show cases (or is not mounted)
        path = ""
    base = str(handoff_settings()["ADMIN_URL"] or "").rstrip("/")
    return HandoffNotice(
        case_id=case.pk,
        reason=case.reason,
        priority=case.priority,
        language=case.language,
        opened_at=case.opened_at,
        admin_url=base + path if path else "",
    )


def notify_handoff(*, case_id: int) -> list[str]:
    """Tell staff of case ``case_id`` on each configured channel not told yet; the channels told now.

    A case that is gone is told nowhere. Raises NotificationFailed when a channel failed (after
    trying the others), so the task retries: the channels that got through are not repeated."""
    case = HandoffCase.objects.filter(pk=case_id).first()
    if case is None:
        return []
    notice = notice_for(case)
    senders: dict[str, Callable[[HandoffNotice], None]] = {"email": send_email, "webhook": post_webhook}
    told, failures = [], []
    for channel in channels():
        try:
            if _send_once(notice, channel, senders[channel]):
                told.append(channel)
        except NotificationFailed as exc:
            failures.append(exc)
    if told:
        logger.info("Handoff case %s: staff told by %s", case_id, " and ".join(told))
    if failures:
        raise NotificationFailed(f"Handoff case {case_id}: " + "; ".join(map(str, failures))) from failures[0]
    return told


def _sent_key(notice: HandoffNotice, channel: str) -> str:
    # The opening time is part of the key: case ids start again in a restored or recreated database.
    return f"shopai:handoff-told:{notice.case_id}:{notice.opened_at.timestamp():.6f}:{channel}"


def _send_once(notice: HandoffNotice, channel: str, send: Callable[[HandoffNotice], None]) -> bool:
    """Send on ``channel`` unless it got through before; False when it had."""
    key = _sent_key(notice, channel)
    if not cache.add(key, SENDING, timeout=CLAIM_SECONDS):
        if cache.get(key) == SENT:
            return False
        raise NotificationFailed(f"{channel} is being sent by another run")  # try again after it
    try:
        send(notice)
    except BaseException:
        cache.delete(key)
        raise
    cache.set(key, SENT, timeout=SENT_SECONDS)
    return True


def send_email(notice: HandoffNotice) -> None:
    """One e-mail to every address of EMAILS, in the site's language (not the shopper's)."""
    with translation.override(settings.LANGUAGE_CODE):
        reason = str(dict(HandoffCase.Reason.choices).get(notice.reason, notice.reason))
        priority = str(dict(HandoffCase.Priority.choices).get(notice.priority, notice.priority))
        subject = _("Shop assistant: case #%(case)s, %(reason)s (%(priority)s)") % {
            "case": notice.case_id,
            "reason": reason,
            "priority": priority,
        }
        lines = [
            _("The shop assistant handed a conversation to staff."),
            "",
            _("Case: #%(case)s") % {"case": notice.case_id},
            _("Reason: %(reason)s") % {"reason": reason},
            _("Priority: %(priority)s") % {"priority": priority},
            _("Language: %(language)s") % {"language": notice.language or "-"},
            _("Opened: %(opened)s")
            % {"opened": formats.date_format(timezone.localtime(notice.opened_at), "DATETIME_FORMAT")},
        ]
        if notice.admin_url:
            lines.append(_("Open it in admin: %(url)s") % {"url": notice.admin_url})
        lines += ["", _("The conversation is in admin; this e-mail does not repeat it.")]
    try:
        send_mail(subject, "\n".join(lines) + "\n", None, recipients(), fail_silently=False)
    except OSError as exc:  # smtplib's errors and the socket's
        raise NotificationFailed(f"e-mail not sent: {exc}") from exc


def signature(body: bytes, secret: str) -> str:
    """The X-Shopai-Signature of a webhook body: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a 301/302 with a GET, without the body: a redirect is a failure to report.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_webhook(notice: HandoffNotice) -> None:
    """POST the notice as JSON to WEBHOOK, signed when WEBHOOK_SECRET_ENV names a set variable."""
    config = handoff_settings()
    url = str(config["WEBHOOK"])
    # Error messages name the host only: a webhook's path often holds its token.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ImproperlyConfigured(f'ASSISTANT["HANDOFF"]["WEBHOOK"] must be an https:// URL, not {parts.scheme}:.')
    body = json.dumps(notice.payload(), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "shopai-handoff"}
    secret = os.environ.get(config["WEBHOOK_SECRET_ENV"]) if config["WEBHOOK_SECRET_ENV"] else None
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:  # any answer but 2xx
        raise NotificationFailed(f"webhook at {parts.hostname} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:  # refused, unresolvable, timed out, TLS
        reason = getattr(exc, "reason", exc)
        raise NotificationFailed(f"webhook at {parts.hostname} unreachable: {reason}") from exc
    if not 200 <= status < 300:
        raise NotificationFailed(f"webhook at {parts.hostname} answered {status}")
