"""Sending a segment's campaign: consent, review, A/B variants, batches, tracked links, attribution.

The flow: a campaign draft (``segments.write_campaign``) is checked by the grounding guard against
its featured products; staff edit it, may add a variant of the subject or the body, and approve it
(a flagged text needs an override reason). ``queue_sending`` turns the segment's consenting members
into recipients, each assigned a variant; the task ``shopai.tasks.send_campaign`` sends them in
batches through Django's e-mail framework (any EMAIL_BACKEND), claiming each recipient before its
mail goes out, so a retried task never sends a mail twice (a worker that dies mid-mail leaves the
recipient "unknown", not resent). Links in the mail are signed: a product link counts the click and
redirects to the product's page (from its id); an unsubscribe link works without signing in.
A purchase within MARKETING["ATTRIBUTION_DAYS"] of a click converts the recipient's variant.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from shopai.adapters import get_product_adapter
from shopai.conf import shopai_settings
from shopai.core.tasks import queue_task
from shopai.models import (
    Campaign,
    CampaignClick,
    CampaignRecipient,
    Experiment,
    Exposure,
    GeneratedCopy,
    MarketingConsent,
    Variant,
)
from shopai.recommendations import recommend_for_user  # its public API (pyproject: import contracts)
from shopai.studio import experiment_stats
from shopai.studio.copy import guard_flags

logger = logging.getLogger(__name__)

CLICK_SALT = "shopai.campaign.click"
UNSUBSCRIBE_SALT = "shopai.campaign.unsubscribe"


class CampaignError(Exception):
    """Something staff must fix before the campaign can go on (the message says what)."""


def config() -> dict:
    return shopai_settings.MARKETING


# --- consent ------------------------------------------------------------------------------


def set_consent(user, *, consented: bool, source: str) -> MarketingConsent:
    consent, _ = MarketingConsent.objects.update_or_create(
        user=user, defaults={"consented": consented, "source": source[:40], "changed_at": timezone.now()}
    )
    return consent


def consenting(users):
    """The shoppers among ``users`` who agreed to marketing e-mail and have an address."""
    email_field = users.model.get_email_field_name()
    return (
        users.filter(shopai_marketing_consent__consented=True)
        .exclude(**{email_field: ""})
        .exclude(**{f"{email_field}__isnull": True})
    )


def unsubscribe_token(user) -> str:
    return signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).sign(str(user.pk))


def user_for_unsubscribe(token: str):
    """The shopper an unsubscribe token names; ``signing.BadSignature`` (or its SignatureExpired) otherwise."""
    max_age = timedelta(days=int(config()["UNSUBSCRIBE_DAYS"]))
    pk = signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).unsign(token, max_age=max_age)
    return get_user_model()._default_manager.filter(pk=pk).first()


# --- review -------------------------------------------------------------------------------


def _facts(campaign: Campaign) -> str:
    adapter = get_product_adapter()
    products = adapter.get_queryset().filter(pk__in=campaign.product_pks)
    return "\n\n".join(adapter.get_facts(product) for product in products)


def recheck(campaign: Campaign) -> None:
    """Run the grounding guard again over the subject, the body and every variant's text."""
    language = campaign.parameters.get("language")
    facts = _facts(campaign)
    texts = [campaign.subject, campaign.body]
    if campaign.experiment_id:
        texts += [variant.text for variant in campaign.experiment.variants.exclude(is_control=True)]
    campaign.flags = guard_flags("\n".join(texts), facts, language=language)


def add_variant(campaign: Campaign, *, field: str, text: str) -> Variant:
    """An A/B variant of the subject or the body (the campaign's own text is the control, "A").
    The campaign goes back to draft: the new text needs the guard and a review."""
    if field not in ("subject", "body"):
        raise CampaignError("A variant changes the subject or the body.")
    if campaign.send_started_at:
        raise CampaignError("The campaign is being sent; variants can no longer change.")
    if campaign.tested_field and campaign.tested_field != field:
        raise CampaignError(f"This campaign already tests its {campaign.tested_field}.")
    text = text.strip()
    if not text:
        raise CampaignError("The variant is empty.")
    with transaction.atomic():
        if campaign.experiment is None:
            experiment = Experiment.objects.create(
                key=f"campaign-{campaign.pk}", name=f"Campaign {campaign.pk}: {field}"[:200]
            )
            Variant.objects.create(experiment=experiment, name="A", text=getattr(campaign, field), is_control=True)
            campaign.experiment, campaign.tested_field = experiment, field
        experiment = campaign.experiment
        name = chr(ord("A") + experiment.variants.count())
        variant = Variant.objects.create(experiment=experiment, name=name, text=text)
        recheck(campaign)
        campaign.status = GeneratedCopy.Status.DRAFT
        campaign.save(update_fields=["experiment", "tested_field", "flags", "status"])
    return variant


def approve(campaign: Campaign, *, user) -> None:
    if campaign.flags and not campaign.override_reason.strip():
        raise CampaignError(
            "The grounding guard flagged this campaign; fix the text, or give a reason to approve it anyway."
        )
    if not campaign.subject.strip() or not campaign.body.strip():
        raise CampaignError("The campaign needs a subject and a body.")
    campaign.status = GeneratedCopy.Status.APPROVED
    campaign.reviewed_by, campaign.reviewed_at = user, timezone.now()
    campaign.save(update_fields=["status", "reviewed_by", "reviewed_at"])


# --- sending ------------------------------------------------------------------------------


def _add_recipients(campaign: Campaign, *, status: str) -> dict[str, int]:
    """The segment's consenting members as recipients (each once, a variant each); existing ones stay."""
    if campaign.status not in (GeneratedCopy.Status.APPROVED, GeneratedCopy.Status.PUBLISHED):
        raise CampaignError("Approve the campaign before sending it.")
    if not config()["SITE_URL"]:
        raise CampaignError('Set SHOPAI["MARKETING"]["SITE_URL"] (the shop\'s address for links in the mail).')
    members = campaign.segment.users.all()
    reachable = consenting(members)
    email_field = members.model.get_email_field_name()
    variants = list(campaign.experiment.variants.order_by("name")) if campaign.experiment_id else []
    rows = []
    for user in reachable:
        variant = None
        if variants:
            name = experiment_stats.assign_variant(
                campaign.experiment.key, f"user:{user.pk}", [(v.name, v.weight) for v in variants]
            )
            variant = next(v for v in variants if v.name == name)
        row = CampaignRecipient(campaign=campaign, user=user, email=getattr(user, email_field), variant=variant)
        row.status = status
        rows.append(row)
    created = CampaignRecipient.objects.bulk_create(rows, ignore_conflicts=True)
    if campaign.experiment_id and campaign.experiment.status != Experiment.Status.RUNNING:
        Experiment.objects.filter(pk=campaign.experiment_id).update(status=Experiment.Status.RUNNING)
    return {"members": members.count(), "consenting": len(rows), "queued": len(created)}


def queue_sending(campaign: Campaign) -> dict[str, int]:
    """Recipients for the approved campaign, then the sending task. Safe to call again: shoppers
    already queued, sent or exported are not added twice."""
    counts = _add_recipients(campaign, status=CampaignRecipient.Status.QUEUED)
    if campaign.send_started_at is None:
        campaign.send_started_at = timezone.now()
        campaign.save(update_fields=["send_started_at"])
    transaction.on_commit(lambda: queue_task("shopai.tasks.send_campaign", args=[campaign.pk], queue="marketing"))
    return counts


def send_batch(campaign_id: int, *, connection=None) -> dict[str, int]:
    """Send the next batch of queued recipients; returns counts and how many remain queued.

    Each recipient is claimed (queued → sending) in a committed transaction before its mail is
    built and sent, so a retry of this task never picks it again.
    """
    campaign = Campaign.objects.select_related("segment", "experiment").get(pk=campaign_id)
    stuck_before = timezone.now() - timedelta(minutes=int(config()["STUCK_MINUTES"]))
    CampaignRecipient.objects.filter(
        campaign=campaign, status=CampaignRecipient.Status.SENDING, claimed_at__lt=stuck_before
    ).update(status=CampaignRecipient.Status.UNKNOWN, error="The worker stopped while sending; not resent.")
    with transaction.atomic():
        claimed = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, status=CampaignRecipient.Status.QUEUED)
            .order_by("pk")[: int(config()["BATCH_SIZE"])]
        )
        CampaignRecipient.objects.filter(pk__in=[r.pk for r in claimed]).update(
            status=CampaignRecipient.Status.SENDING, claimed_at=timezone.now()
        )
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    connection = connection or get_connection()
    for recipient in claimed:
        recipient.campaign = campaign
        if not MarketingConsent.objects.filter(user_id=recipient.user_id, consented=True).exists():
            _mark(recipient, CampaignRecipient.Status.SKIPPED, "Unsubscribed before the mail went out.")
            counts["skipped"] += 1
            continue
        try:
            message = build_message(recipient, connection=connection)
            message.send()
        except Exception as exc:  # a bounce at the server, a bad address: recorded, not retried
            logger.warning("Campaign %s to recipient %s failed: %s", campaign.pk, recipient.pk, exc)
            _mark(recipient, CampaignRecipient.Status.FAILED, str(exc)[:2000])
            counts["failed"] += 1
            continue
        _mark(recipient, CampaignRecipient.Status.SENT, "")
        if recipient.variant_id:
            try:
                with transaction.atomic():
                    Exposure.objects.get_or_create(
                        experiment_id=campaign.experiment_id,
                        visitor=f"user:{recipient.user_id}",
                        defaults={"variant_id": recipient.variant_id},
                    )
            except IntegrityError:
                pass
        counts["sent"] += 1
    counts["remaining"] = CampaignRecipient.objects.filter(
        campaign=campaign, status=CampaignRecipient.Status.QUEUED
    ).count()
    if (
        not counts["remaining"]
        and not CampaignRecipient.objects.filter(campaign=campaign, status=CampaignRecipient.Status.SENDING).exists()
    ):
        Campaign.objects.filter(pk=campaign.pk, sent_at__isnull=True).update(
            sent_at=timezone.now(), status=GeneratedCopy.Status.PUBLISHED
        )
    return counts


def _mark(recipient: CampaignRecipient, status: str, error: str) -> None:
    sent_at = timezone.now() if status == CampaignRecipient.Status.SENT else None
    CampaignRecipient.objects.filter(pk=recipient.pk).update(status=status, error=error, sent_at=sent_at)


def seconds_between_batches() -> float:
    return 60.0 * int(config()["BATCH_SIZE"]) / max(1, int(config()["RATE_PER_MINUTE"]))


# --- the mail -----------------------------------------------------------------------------


def absolute(path: str) -> str:
    return config()["SITE_URL"].rstrip("/") + path


def click_link(recipient: CampaignRecipient, product_pk) -> str:
    token = signing.dumps({"r": recipient.pk, "p": str(product_pk)}, salt=CLICK_SALT, compress=True)
    return absolute(reverse("shopai:campaign-click", args=[token]))


def unsubscribe_link(user) -> str:
    return absolute(reverse("shopai:unsubscribe", args=[unsubscribe_token(user)]))


def build_message(recipient: CampaignRecipient, *, connection=None) -> EmailMultiAlternatives:
    """The recipient's mail: the campaign's (or their variant's) subject and body, the featured
    products and their own recommendations with reasons, each linked through a click link."""
    campaign = recipient.campaign
    language = campaign.parameters.get("language", "en")
    subject, body = campaign.subject, campaign.body
    if recipient.variant_id and campaign.tested_field:
        text = Variant.objects.get(pk=recipient.variant_id).text
        subject, body = (text, body) if campaign.tested_field == "subject" else (subject, text)
    adapter = get_product_adapter()
    featured = list(adapter.get_searchable_queryset().filter(pk__in=campaign.product_pks))
    featured.sort(key=lambda product: campaign.product_pks.index(str(product.pk)))
    featured_pks = {str(product.pk) for product in featured}
    with translation.override("zh-hans" if language == "zh" else "en"):
        picks = [
            item
            for item in recommend_for_user(user=recipient.user, k=int(config()["RECOMMENDATIONS"]) + len(featured))
            if str(item.product.pk) not in featured_pks
        ][: int(config()["RECOMMENDATIONS"])]
        context = {
            "subject": subject,
            "body": body,
            "featured": [
                {"name": adapter.get_field(p, "name") or str(p), "url": click_link(recipient, p.pk)} for p in featured
            ],
            "picks": [
                {
                    "name": adapter.get_field(item.product, "name") or str(item.product),
                    "reason": item.reason,
                    "url": click_link(recipient, item.product.pk),
                }
                for item in picks
            ],
            "unsubscribe_url": unsubscribe_link(recipient.user),
        }
        text = render_to_string("shopai/email/campaign.txt", context)
        html = render_to_string("shopai/email/campaign.html", context)
    sender = config()["FROM_EMAIL"] or settings.DEFAULT_FROM_EMAIL
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender,
        to=[recipient.email],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Shopai-Campaign": str(campaign.pk),
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# --- clicks and orders --------------------------------------------------------------------


def record_click(token: str):
    """(recipient, product) a click link names, with the click counted once; None if the link is bad."""
    try:
        data = signing.loads(token, salt=CLICK_SALT)
    except signing.BadSignature:
        return None
    recipient = CampaignRecipient.objects.filter(pk=data.get("r")).select_related("campaign").first()
    product = get_product_adapter().find(data.get("p"))
    if recipient is None or product is None:
        return None
    try:
        with transaction.atomic():
            CampaignClick.objects.get_or_create(
                recipient=recipient, product_pk=str(product.pk), defaults={"created_at": timezone.now()}
            )
    except IntegrityError:
        pass
    return recipient, product


def attribute_purchase(*, user_id, when=None) -> int:
    """A purchase converts each campaign whose mail this shopper clicked within ATTRIBUTION_DAYS before."""
    when = when or timezone.now()
    since = when - timedelta(days=int(config()["ATTRIBUTION_DAYS"]))
    recipients = CampaignRecipient.objects.filter(
        user_id=user_id, converted_at__isnull=True, clicks__created_at__gte=since, clicks__created_at__lte=when
    ).distinct()
    converted = 0
    for recipient in recipients.select_related("campaign"):
        CampaignRecipient.objects.filter(pk=recipient.pk).update(converted_at=when)
        if recipient.campaign.experiment_id:
            Exposure.objects.filter(
                experiment_id=recipient.campaign.experiment_id, visitor=f"user:{user_id}", converted_at__isnull=True
            ).update(converted_at=when)
        converted += 1
    return converted


def export_csv(campaign: Campaign) -> str:
    """The consenting recipients with their variant's subject and their own signed links, for a shop
    that sends through its own e-mail service. Exported recipients are never mailed by shopai (an
    export and a send do not both reach a shopper); clicks on their links count as usual."""
    _add_recipients(campaign, status=CampaignRecipient.Status.EXPORTED)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "variant", "subject", "product_links", "unsubscribe_url"])
    exported = campaign.recipients.filter(status=CampaignRecipient.Status.EXPORTED)
    for recipient in exported.select_related("user", "variant").order_by("pk"):
        subject = campaign.subject
        if recipient.variant and campaign.tested_field == "subject":
            subject = recipient.variant.text
        variant = recipient.variant.name if recipient.variant else ""
        links = " ".join(click_link(recipient, pk) for pk in campaign.product_pks)
        writer.writerow([recipient.email, variant, subject, links, unsubscribe_link(recipient.user)])
    return out.getvalue()
