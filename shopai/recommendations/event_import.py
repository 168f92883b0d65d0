"""Import shopping history from CSV (user,sku,type,timestamp) and rebuild the affected profiles."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from shopai.adapters import get_product_adapter
from shopai.conf import shopai_settings
from shopai.models import Event

KINDS = {choice.value for choice in Event.Kind}


class EventFileError(ValueError):
    """The file as a whole cannot be read."""


@dataclass
class EventImportReport:
    imported: int = 0
    users_created: int = 0
    unknown_skus: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    user_ids: set[int] = field(default_factory=set)


def parse_timestamp(value: str) -> datetime:
    parsed = parse_datetime(value.strip())
    if parsed is None:
        for fmt in ("%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d"):
            try:
                parsed = datetime.strptime(value.strip(), fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"timestamp {value!r} is not a date and time (use e.g. 2026-11-28T14:05:00)")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def import_events(path: Path, *, progress=None) -> EventImportReport:
    """Events by username and sku; unknown users become inactive accounts, unknown skus are counted."""
    report = EventImportReport()
    adapter = get_product_adapter()
    sku_field = shopai_settings.PRODUCT_FIELDS["sku"].replace(".", "__")
    User = get_user_model()
    users: dict[str, int] = {}
    skus: dict[str, str | None] = {}
    batch: list[Event] = []
    with path.open(encoding="utf-8-sig", newline="") as handle, transaction.atomic():
        reader = csv.DictReader(handle)
        missing = {"user", "sku", "type", "timestamp"} - set(reader.fieldnames or [])
        if missing:
            raise EventFileError(
                f"The CSV header lacks {', '.join(sorted(missing))}; expected user,sku,type,timestamp."
            )
        for row in reader:
            line = reader.line_num
            if progress:
                progress(1)
            try:
                username = (row["user"] or "").strip()
                kind = (row["type"] or "").strip().lower()
                sku = (row["sku"] or "").strip()
                if not username:
                    raise ValueError("user is empty")
                if kind not in KINDS:
                    raise ValueError(f"type {kind!r} is not one of {sorted(KINDS)}")
                when = parse_timestamp(row["timestamp"] or "")
            except ValueError as exc:
                report.rejected.append((line, str(exc)))
                continue
            if sku not in skus:
                product = adapter.model._default_manager.filter(**{sku_field: sku}).only("pk").first()
                skus[sku] = str(product.pk) if product else None
            if skus[sku] is None:
                report.unknown_skus[sku] = report.unknown_skus.get(sku, 0) + 1
                continue
            if username not in users:
                user, created = User.objects.get_or_create(
                    **{User.USERNAME_FIELD: username[:150]}, defaults={"is_active": False}
                )
                report.users_created += int(created)
                users[username] = user.pk
            batch.append(Event(user_id=users[username], kind=kind, object_pk=skus[sku], created_at=when))
            report.user_ids.add(users[username])
            if len(batch) >= 1000:
                Event.objects.bulk_create(batch)
                report.imported += len(batch)
                batch = []
        Event.objects.bulk_create(batch)
        report.imported += len(batch)
    return report
