"""A/B experiments on texts: deterministic assignment, impressions and conversions, a verdict."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from shopai.adapters import get_product_adapter
from shopai.conf import shopai_settings
from shopai.core.visitors import VISITOR_KEY
from shopai.models import Experiment, Exposure, GeneratedCopy, Variant
from shopai.studio import experiment_stats
from shopai.studio.copy import current_text


class ExperimentError(ValueError):
    """Something staff or the storefront asked for that cannot be done; the message says why."""


def visitor_id(request) -> str:
    """The signed-in user's id, or a key stored in the anonymous visitor's session."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    session = request.session
    if not session.session_key:
        session.save()
    key = session.get(VISITOR_KEY) or session.session_key
    session[VISITOR_KEY] = key
    return f"visitor:{key}"


def assign(experiment: Experiment, visitor: str) -> Variant:
    """The visitor's variant (always the same one), recorded as an impression the first time.

    A stopped experiment with a winner shows the winner to everybody and records nothing.
    """
    variants = list(experiment.variants.all())
    if not variants:
        raise ExperimentError(f"Experiment {experiment.key!r} has no variants.")
    if experiment.status != Experiment.Status.RUNNING:
        winner = experiment.winner or next((v for v in variants if v.is_control), variants[0])
        return winner
    name = experiment_stats.assign_variant(experiment.key, visitor, [(v.name, v.weight) for v in variants])
    variant = next(v for v in variants if v.name == name)
    try:
        with transaction.atomic():
            Exposure.objects.get_or_create(experiment=experiment, visitor=visitor, defaults={"variant": variant})
    except IntegrityError:  # two first requests at once: the other one recorded it
        pass
    return variant


def convert(experiment: Experiment, visitor: str) -> bool:
    """Count a conversion for a visitor who saw the experiment (once); False if they never saw it."""
    updated = Exposure.objects.filter(experiment=experiment, visitor=visitor, converted_at__isnull=True).update(
        converted_at=timezone.now()
    )
    return bool(updated) or Exposure.objects.filter(experiment=experiment, visitor=visitor).exists()


def convert_purchase(*, visitor: str, product_pks) -> int:
    """A purchase converts every running experiment on the bought products the visitor saw."""
    content_type = ContentType.objects.get_for_model(get_product_adapter().model, for_concrete_model=False)
    experiments = Experiment.objects.filter(
        status=Experiment.Status.RUNNING, content_type=content_type, object_pk__in=[str(pk) for pk in product_pks]
    )
    return Exposure.objects.filter(experiment__in=experiments, visitor=visitor, converted_at__isnull=True).update(
        converted_at=timezone.now()
    )


def merge_visitor(*, session_key: str, user) -> int:
    """At sign-in, the visitor's experiment exposures become the account's (where it has none yet)."""
    taken = Exposure.objects.filter(visitor=f"user:{user.pk}").values("experiment")
    return (
        Exposure.objects.filter(visitor=f"visitor:{session_key}")
        .exclude(experiment__in=taken)
        .update(visitor=f"user:{user.pk}")
    )


def running_for(product, field: str) -> Experiment | None:
    content_type = ContentType.objects.get_for_model(get_product_adapter().model, for_concrete_model=False)
    return (
        Experiment.objects.filter(
            status=Experiment.Status.RUNNING, content_type=content_type, object_pk=str(product.pk), field=field
        )
        .prefetch_related("variants")
        .first()
    )


@dataclass
class ArmResult:
    variant: Variant
    impressions: int
    conversions: int

    @property
    def rate(self) -> float:
        return self.conversions / self.impressions if self.impressions else 0.0


def results(experiment: Experiment, *, confidence: float = 0.95) -> dict:
    """Per variant: impressions, conversions, rate; against the control: uplift, CI, p-value, verdict."""
    rows = {
        row["variant"]: row
        for row in experiment.exposures.values("variant").annotate(
            impressions=Count("pk"), conversions=Count("pk", filter=Q(converted_at__isnull=False))
        )
    }
    variants = list(experiment.variants.all())
    control = next((v for v in variants if v.is_control), variants[0] if variants else None)
    arms = [
        ArmResult(v, rows.get(v.pk, {}).get("impressions", 0), rows.get(v.pk, {}).get("conversions", 0))
        for v in variants
    ]
    if control is None or len(arms) < 2:
        return {"arms": arms, "control": control, "comparisons": {}, "winner": None}
    counts = {arm.variant.name: (arm.impressions, arm.conversions) for arm in arms}
    comparisons = experiment_stats.evaluate(counts, control.name, confidence=confidence)
    best = experiment_stats.winner(counts, control.name, confidence=confidence)
    return {
        "arms": arms,
        "control": control,
        "comparisons": {comparison.variant: comparison for comparison in comparisons},
        "winner": next((v for v in variants if v.name == best), None) if best else None,
    }


def promote(experiment: Experiment, variant: Variant) -> None:
    """Stop the experiment and show ``variant`` to everybody; its text goes live if it is a product field."""
    with transaction.atomic():
        experiment.winner = variant
        experiment.status = Experiment.Status.STOPPED
        experiment.save(update_fields=["winner", "status"])
        if experiment.content_type_id and experiment.field:
            path = shopai_settings.COPY["FIELDS"].get(experiment.field)
            if path and "." not in path:
                model = experiment.content_type.model_class()
                product = model._default_manager.select_for_update(of=("self",)).get(pk=experiment.object_pk)
                setattr(product, path, variant.text)
                product.save()
            if variant.copy_id:
                GeneratedCopy.objects.filter(pk=variant.copy_id).update(
                    status=GeneratedCopy.Status.PUBLISHED, published_at=timezone.now()
                )


def start_copy_experiment(*, product, field: str, drafts: list[GeneratedCopy], key: str | None = None) -> Experiment:
    """An experiment of the live text (control) against approved drafts of one product field."""
    if not drafts:
        raise ExperimentError("Choose at least one approved draft to test against the live text.")
    if any(d.status != GeneratedCopy.Status.APPROVED or d.field != field for d in drafts):
        raise ExperimentError(f"Only approved drafts of the product's {field} can be tested.")
    if any(d.flags and not d.override_reason.strip() for d in drafts):
        raise ExperimentError("A flagged draft needs an override reason before shoppers may see it.")
    content_type = ContentType.objects.get_for_model(get_product_adapter().model, for_concrete_model=False)
    with transaction.atomic():
        experiment = Experiment.objects.create(
            key=key or f"{field}-{product.pk}-{timezone.now():%Y%m%d%H%M%S}",
            name=f"{field} of {product}",
            status=Experiment.Status.RUNNING,
            content_type=content_type,
            object_pk=str(product.pk),
            field=field,
        )
        Variant.objects.create(experiment=experiment, name="A", text=current_text(product, field), is_control=True)
        for index, draft in enumerate(drafts):
            Variant.objects.create(experiment=experiment, name=chr(ord("B") + index), text=draft.text, copy=draft)
    return experiment
