"""`shopai_eval_recs`: held-out baskets, metrics a person can check by hand, nothing left behind."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from shopai.models import Event
from shopai.recommendations.evaluation import DEV_SPLITS, bootstrap, held_out, metrics, read_events, splits
from shopai.search import embeddings

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(make_product):
    items = {
        name: make_product(name=name.title(), sku=name.upper(), description=f"A {name}.", category="Home/Things")
        for name in ("tent", "bag", "pan", "kettle")
    }
    embeddings.embed_products(product_pks=[p.pk for p in items.values()])
    return items


EVENTS = (
    "user,sku,type,timestamp\n"
    "u1,TENT,purchase,2026-01-01T10:00:00\n"
    "u1,TENT,purchase,2026-01-05T10:00:00\n"  # u1's last basket: tent + bag
    "u1,BAG,purchase,2026-01-05T10:00:00\n"
    "u2,PAN,purchase,2026-01-02T10:00:00\n"
    "u2,PAN,purchase,2026-01-06T10:00:00\n"  # u2's last basket: the pan again
    "u3,KETTLE,purchase,2026-01-03T10:00:00\n"  # one basket only: nothing to hold out
    "u3,UNKNOWN-SKU,purchase,2026-01-03T10:00:00\n"
)


def test_metrics_by_hand():
    # hits at ranks 1 and 3 of a 2-item basket: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3)
    result = metrics(["a", "x", "b"], {"a", "b"}, k=10)
    assert result == pytest.approx({"P@10": 0.2, "R@10": 1.0, "NDCG@10": 1.5 / (1 + 1 / 1.5849625), "HR@10": 1.0})


def test_last_basket_is_held_out_per_shopper(catalogue, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")

    data = read_events(path)
    cases = {case.user: case for case in held_out(data.rows)}

    assert set(cases) == {"u1", "u2"}
    assert cases["u1"].target == {str(catalogue["tent"].pk), str(catalogue["bag"].pk)}
    assert data.unknown_skus == {"UNKNOWN-SKU": 1}
    assert {case.user for case in held_out(data.rows, offset=1)} == set()  # nobody has three baskets


def test_command_reports_baselines_and_recommenders_and_leaves_no_trace(catalogue, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    users_before = get_user_model().objects.count()

    call_command(
        "shopai_eval_recs",
        path,
        no_progress=True,
        json=tmp_path / "r.json",
        blend=["buy_again=1"],
        shopai_defaults=True,  # the demo shop's settings turn repurchase off for Home
        stdout=out,
        stderr=err,
    )

    result = json.loads((tmp_path / "r.json").read_text())
    last = result["splits"]["last basket"]
    past = last["results"]["own purchases by count"]
    # u1 is offered the tent (1 of 2 items, rank 1), u2 the pan (its whole basket).
    assert {key: past[key] for key in ("P@10", "R@10", "NDCG@10", "HR@10", "coverage")} == pytest.approx(
        {"P@10": 0.1, "R@10": 0.75, "NDCG@10": (1 / (1 + 1 / 1.5849625) + 1) / 2, "HR@10": 1.0, "coverage": 0.5}
    )
    low, high = past["ci"]
    assert low <= past["NDCG@10"] <= high and high - low > 0  # two cases that differ: a real interval
    assert last["cases"] == 2 and result["products"] == 4 and result["shipped_defaults"]
    assert result["splits"]["last basket"]["results"]["blend buy_again=1"]["HR@10"] == 1.0
    # The API, with buy-again first, offers both shoppers what they bought before.
    assert last["results"]["settings in force (API)"]["HR@10"] == 1.0
    assert "second-to-last basket" not in result["splits"]  # nobody has three baskets
    assert "popularity" in out.getvalue() and "settings in force (API)" in out.getvalue()
    assert "UNKNOWN-SKU (1)" in err.getvalue()
    assert get_user_model().objects.count() == users_before and not Event.objects.exists()


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_cases():
    assert bootstrap([0.4] * 10) == pytest.approx((0.4, 0.4))
    few, many = bootstrap([0.0, 1.0] * 5), bootstrap([0.0, 1.0] * 200)
    assert few[0] < 0.5 < few[1] and many[0] < 0.5 < many[1]
    assert many[1] - many[0] < (few[1] - few[0]) / 3


def test_splits_never_put_a_last_basket_in_development(catalogue, tmp_path):
    lines = ["user,sku,type,timestamp"]
    start = datetime(2026, 1, 1, 10)
    for n, user in enumerate(("a", "b", "c", "d")):
        for basket, sku in enumerate(["TENT", "BAG", "PAN", "KETTLE", "TENT"] * 2):  # every 15 days, 5 months
            lines.append(f"{user},{sku},purchase,{(start + timedelta(days=15 * basket, hours=n)).isoformat()}")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = read_events(path).rows
    found = splits(rows)

    assert found["rolling 30 days"] and found["third-to-last basket"]
    last_moments = {(case.user, case.cutoff) for case in found["last basket"]}
    last_items = {case.user: case.cutoff for case in found["last basket"]}
    for split in DEV_SPLITS:
        assert not {(case.user, case.cutoff) for case in found[split]} & last_moments, split
        # a rolling window's target stops before the shopper's last basket
        assert all(case.cutoff < last_items[case.user] for case in found[split]), split
    halves = {case.user for case in found["shoppers A: last basket"]} | {
        case.user for case in found["shoppers B: last basket"]
    }
    assert halves == {case.user for case in found["last basket"]}
    assert not {c.user for c in found["shoppers A: last basket"]} & {c.user for c in found["shoppers B: last basket"]}


def test_invoice_exports_are_read_as_baskets(catalogue, tmp_path):
    path = tmp_path / "retail.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "1001,TENT,TENT,1,1/2/2026 9:00,10.0,12345.0,France\n"
        "1001,POST,POSTAGE,1,1/2/2026 9:00,18.0,12345.0,France\n"
        "1002,BAG,BAG,2,1/9/2026 9:00,5.0,12345.0,France\n"
        "1002,PAN,PAN,1,1/9/2026 9:01,5.0,12345.0,France\n"  # same invoice a minute later: same basket
        "C1003,BAG,BAG,-2,1/10/2026 9:00,5.0,12345.0,France\n"
        "1004,PAN,PAN,1,1/11/2026 9:00,5.0,,France\n",
        encoding="utf-8",
    )

    data = read_events(path)
    (case,) = held_out(data.rows)

    assert case.user == "12345" and case.target == {str(catalogue["bag"].pk), str(catalogue["pan"].pk)}
    assert data.skipped == {"cancellation": 1, "no customer id": 1}
    assert data.unknown_skus == {"POST": 1}


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("sku,when\nA,2026-01-01\n", {}, "needs the columns user,sku,type,timestamp"),
        ("user,sku,type,timestamp\nu1,NOPE,purchase,2026-01-01\n", {}, "no events for products in the catalogue"),
        ("user,sku,type,timestamp\nu1,TENT,purchase,2026-01-01\n", {"blend": ["buy_again"]}, "is not name=weight"),
    ],
)
def test_unusable_input_gets_a_clear_error(catalogue, tmp_path, text, options, message):
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("shopai_eval_recs", path, no_progress=True, stdout=io.StringIO(), **options)
