"""A/B tests of product texts on the real database: assignment, counting, verdicts, promotion."""

from __future__ import annotations

import random

import pytest
from django.contrib.contenttypes.models import ContentType

from shopai.models import Experiment, Exposure, GeneratedCopy, Variant
from shopai.studio import experiments

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(make_product):
    return make_product(name="Trail mug", description="An enamel mug.", category="Outdoor/Kitchen")


def _draft(product, text, **fields):
    return GeneratedCopy.objects.create(
        content_type=ContentType.objects.get_for_model(product),
        object_pk=str(product.pk),
        field="description",
        text=text,
        status=fields.pop("status", GeneratedCopy.Status.APPROVED),
        **fields,
    )


def _simulate(experiment, rates: dict[str, float], visitors: int, seed: int) -> None:
    rng = random.Random(seed)
    for number in range(visitors):
        visitor = f"visitor:{seed}-{number}"
        variant = experiments.assign(experiment, visitor)
        if rng.random() < rates[variant.name]:
            experiments.convert(experiment, visitor)


@pytest.mark.parametrize(
    ("rates", "expected_winner"),
    [({"A": 0.05, "B": 0.12}, "B"), ({"A": 0.08, "B": 0.08}, None)],
    ids=["clearly-better-variant-wins", "equal-variants-no-winner"],
)
def test_simulated_traffic_reaches_the_expected_verdict(product, rates, expected_winner):
    """Deterministic: a fixed experiment key (assignment hashes key and visitor) and a seeded
    random draw. With a random key the equal-rates case declared a winner 5 % of the time."""
    experiment = experiments.start_copy_experiment(
        product=product, field="description", drafts=[_draft(product, "A mug for cold mornings.")], key="mug-verdict"
    )

    _simulate(experiment, rates, visitors=1600, seed=7)

    data = experiments.results(experiment)
    assert sum(arm.impressions for arm in data["arms"]) == 1600
    assert all(650 < arm.impressions < 950 for arm in data["arms"])  # a fair split
    winner = data["winner"].name if data["winner"] else None
    assert winner == expected_winner
    verdict = data["comparisons"]["B"].verdict
    assert verdict == ("variant better" if expected_winner else "no significant difference")


def test_a_visitor_always_sees_the_same_variant_and_converts_once(product):
    experiment = experiments.start_copy_experiment(
        product=product, field="description", drafts=[_draft(product, "A mug for cold mornings.")]
    )
    seen = {experiments.assign(experiment, "visitor:abc").name for _ in range(5)}

    assert len(seen) == 1 and Exposure.objects.count() == 1
    assert experiments.convert(experiment, "visitor:abc") and experiments.convert(experiment, "visitor:abc")
    assert Exposure.objects.filter(converted_at__isnull=False).count() == 1
    assert not experiments.convert(experiment, "visitor:never-saw-it")


def test_storefront_shows_the_assigned_text_and_api_counts_conversions(client, product):
    experiment = experiments.start_copy_experiment(
        product=product, field="description", drafts=[_draft(product, "A mug for cold mornings.")], key="mug-copy"
    )

    page = client.get(product.get_absolute_url()).content.decode()
    assignment = client.get("/api/shopai/experiments/mug-copy/assignment").json()

    assert assignment["text"] in page  # the page and the API agree on this visitor's variant
    assert client.post("/api/shopai/experiments/mug-copy/conversion").status_code == 204
    assert Exposure.objects.get(experiment=experiment).converted_at is not None
    assert client.get("/api/shopai/experiments/nope/assignment").status_code == 404


def test_promoting_the_winner_stops_the_test_and_publishes_its_text(product):
    draft = _draft(product, "A mug for cold mornings.")
    experiment = experiments.start_copy_experiment(product=product, field="description", drafts=[draft])
    winner = Variant.objects.get(experiment=experiment, name="B")

    experiments.promote(experiment, winner)

    product.refresh_from_db()
    draft.refresh_from_db()
    assert product.description == "A mug for cold mornings." and draft.status == "published"
    assert Experiment.objects.get().status == "stopped"
    assert experiments.assign(experiment, "visitor:late").name == "B"  # everybody sees the winner now


def test_only_approved_unflagged_drafts_can_be_tested(product):
    with pytest.raises(experiments.ExperimentError, match="Only approved drafts"):
        experiments.start_copy_experiment(
            product=product, field="description", drafts=[_draft(product, "x", status=GeneratedCopy.Status.DRAFT)]
        )
    flagged = _draft(product, "A titanium mug.", flags=[{"phrase": "titanium", "reason": "not in the data"}])
    with pytest.raises(experiments.ExperimentError, match="override reason"):
        experiments.start_copy_experiment(product=product, field="description", drafts=[flagged])
