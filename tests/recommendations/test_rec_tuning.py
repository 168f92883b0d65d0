"""`shopai_tune_recommendations`: it finds what a shop's history rewards, and --apply / revert reach the API."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.utils import timezone

from shopai.models import Event, RecommenderSettings
from shopai.search import embeddings

pytestmark = pytest.mark.django_db
RECS = "/api/shopai/recommendations"
WEEKS = 12
SHOPPERS = 10


@pytest.fixture
def shopai_defaults(settings):
    """shopai's shipped RECOMMENDATIONS (the demo project overrides them), no category cap in the way."""
    settings.SHOPAI = {**settings.SHOPAI, "RECOMMENDATIONS": {"CATEGORY_CAP": 100}}


def _products(make_product, count: int, prefix: str) -> list:
    items = [
        make_product(name=f"{prefix} {n}", description=f"{prefix} number {n}.", category="Shop/Things")
        for n in range(count)
    ]
    embeddings.embed_products(product_pks=[p.pk for p in items])
    return items


def _buy(user, products, at) -> list[Event]:
    return [Event(user=user, kind=Event.Kind.PURCHASE, object_pk=str(p.pk), created_at=at) for p in products]


@pytest.fixture
def replenishment(make_product, django_user_model, shopai_defaults):
    """Each shopper buys their own three staples every week; passers-by buy the week's novelties once."""
    staples = _products(make_product, 3 * SHOPPERS, "Staple")
    novelties = _products(make_product, 3 * WEEKS, "Novelty")
    start = timezone.now() - timedelta(weeks=WEEKS)
    shoppers = [django_user_model.objects.create_user(f"regular{i}") for i in range(SHOPPERS)]
    events = []
    for week in range(WEEKS):
        day = start + timedelta(weeks=week)
        for i, user in enumerate(shoppers):
            events += _buy(user, staples[3 * i : 3 * i + 3], day + timedelta(hours=i))
        for j in range(6):  # a new passer-by each time: one basket, never a held-out case
            passer = django_user_model.objects.create_user(f"passer{week}-{j}")
            events += _buy(passer, novelties[3 * week : 3 * week + 3], day + timedelta(minutes=j))
    Event.objects.bulk_create(events)
    return shoppers


@pytest.fixture
def fashion(make_product, django_user_model, shopai_defaults):
    """Nobody buys anything twice: every week everyone buys two of that week's three new items."""
    items = _products(make_product, 3 * WEEKS, "Drop")
    start = timezone.now() - timedelta(weeks=WEEKS)
    shoppers = [django_user_model.objects.create_user(f"follower{i}") for i in range(SHOPPERS)]
    events = []
    for week in range(WEEKS):
        drop = items[3 * week : 3 * week + 3]
        for i, user in enumerate(shoppers):
            events += _buy(user, [drop[i % 3], drop[(i + 1) % 3]], start + timedelta(weeks=week, hours=i))
    Event.objects.bulk_create(events)
    return shoppers


def tune(*args, **options) -> tuple[dict, str]:
    out = io.StringIO()
    call_command("shopai_tune_recommendations", *args, no_progress=True, stdout=out, **options)
    return out.getvalue()


def test_replenishment_history_puts_own_purchases_first(replenishment, tmp_path):
    out = tune(json=tmp_path / "t.json")
    result = json.loads((tmp_path / "t.json").read_text())
    tuned = result["tuned"]

    blend = tuned["BLEND"]
    assert tuned["BUY_AGAIN_FIRST"] or max(blend, key=blend.get) == "buy_again"
    last = result["splits"]["last basket"]["results"]
    assert last["tuned"]["NDCG@10"] == pytest.approx(1.0)  # the three staples, on top
    assert last["popularity"]["NDCG@10"] < 0.5
    assert "last basket (10 cases)" in out and "vs best baseline" in out  # with an interval beside each figure
    assert not RecommenderSettings.objects.exists()  # nothing applied without --apply


def test_history_without_repeats_moves_weight_to_trending(fashion, tmp_path):
    tune(json=tmp_path / "t.json")
    result = json.loads((tmp_path / "t.json").read_text())
    tuned = result["tuned"]

    assert not tuned["BUY_AGAIN_FIRST"]
    assert tuned["BLEND"]["buy_again"] < tuned["BLEND"]["trending"] + tuned["BLEND"]["interests"]
    for split, block in result["splits"].items():
        rows = block["results"]
        assert rows["own purchases by count"]["NDCG@10"] == 0.0, split
        if split != "rolling 30 days":  # a window's new items are unknown at its start: nobody finds them
            assert rows["tuned"]["NDCG@10"] > rows["settings in force"]["NDCG@10"] + 0.1, split


def _ranking(client, user) -> list:
    client.force_login(user)
    return [item["id"] for item in client.get(RECS, {"k": 5}).json()["results"]]


@pytest.mark.django_db(transaction=True)
def test_apply_changes_the_api_ranking_and_revert_restores_it(fashion, client):
    shopper = fashion[0]
    before = _ranking(client, shopper)

    out = tune(apply=True)
    applied = _ranking(client, shopper)  # read through the cache, which the new row replaced

    assert "now in force" in out
    row = RecommenderSettings.objects.get(active=True)
    assert row.report["splits"]["last basket"]["results"]["tuned"]["NDCG@10"] > 0
    assert applied != before
    bought = set(Event.objects.filter(user=shopper, kind="purchase").values_list("object_pk", flat=True))
    assert applied[0] not in {int(pk) for pk in bought}  # defaults led with own purchases; tuned does not

    assert "switched off" in tune(revert=True)
    assert _ranking(client, shopper) == before
    assert RecommenderSettings.objects.filter(active=False).count() == 1  # kept as history


def test_admin_shows_the_measurement_and_only_staff_who_may_change_can_revert(
    fashion, client, django_user_model, admin_client
):
    tune(apply=True)
    row = RecommenderSettings.objects.get(active=True)
    url = "/admin/shopai/recommendersettings/"
    page = admin_client.get(f"{url}{row.pk}/change/")
    assert page.status_code == 200 and b"last basket" in page.content and b"settings in force" in page.content

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_recommendersettings"))
    client.force_login(viewer)
    client.post(url, {"action": "deactivate", "_selected_action": [row.pk]})
    assert RecommenderSettings.objects.get(pk=row.pk).active  # a view-only user changed nothing

    admin_client.post(url, {"action": "deactivate", "_selected_action": [row.pk]})
    assert not RecommenderSettings.objects.filter(active=True).exists()
    admin_client.post(url, {"action": "activate", "_selected_action": [row.pk]})
    assert RecommenderSettings.objects.get(pk=row.pk).active


def test_a_tuning_that_loses_on_the_last_baskets_needs_force(db):
    from shopai.management.commands.shopai_tune_recommendations import Command

    def block(dev, in_force, tuned):
        results = {"settings in force": {"NDCG@10": in_force}, "tuned": {"NDCG@10": tuned}}
        return {"dev": dev, "cases": 5, "results": results}

    result = {
        "source": "test",
        "k": 10,
        "before": {"BLEND": {"buy_again": 1.0}},
        "tuned": {"BLEND": {"trending": 1.0}},
        "splits": {"dev split": block(True, 0.2, 0.4), "last basket": block(False, 0.3, 0.25)},
    }
    command = Command(stdout=io.StringIO())
    with pytest.raises(CommandError, match="do worse than those in force on the held-out last baskets"):
        command.apply(result, force=False)
    assert not RecommenderSettings.objects.exists()

    command.apply(result, force=True)
    assert RecommenderSettings.objects.get(active=True).values == {"BLEND": {"trending": 1.0}}


def test_too_little_history_is_a_clear_error(make_product, django_user_model, shopai_defaults):
    (item,) = _products(make_product, 1, "Lonely")
    user = django_user_model.objects.create_user("once")
    Event.objects.bulk_create(_buy(user, [item], timezone.now() - timedelta(days=3)))
    with pytest.raises(CommandError, match="Too little history"):
        tune()


def test_a_hand_written_bad_row_is_ignored(fashion, client):
    shopper = fashion[0]
    before = _ranking(client, shopper)
    RecommenderSettings.objects.create(values={"BLEND": {"popular": 1}}, active=True)
    assert _ranking(client, shopper) == before


def test_tuning_runs_on_the_demo_shops_history(django_capture_on_commit_callbacks, tmp_path):
    with django_capture_on_commit_callbacks(execute=True):  # orders become purchases on commit
        call_command("load_demo", stdout=io.StringIO())
    err = io.StringIO()
    out = tune(json=tmp_path / "t.json", stderr=err)

    result = json.loads((tmp_path / "t.json").read_text())
    assert result["before"]["BUY_AGAIN_FIRST"] is False  # the demo's own choice, not shopai's default
    assert result["splits"]["second-to-last basket"]["cases"] == 4  # four customers, three orders each
    assert "Only 4 development cases" in err.getvalue()
    assert "tuned on the development splits" in out
