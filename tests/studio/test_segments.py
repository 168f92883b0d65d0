"""Customer segments from interest profiles and rules, and campaign drafts per segment (fake models)."""

from __future__ import annotations

import pytest

from shopai.models import Campaign, Segment
from shopai.recommendations.events import record_event
from shopai.recommendations.profiles import rebuild_profile
from shopai.search import embeddings
from shopai.studio.segments import SegmentError, apply_rule, build_clusters, write_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(make_product, django_user_model):
    tents = [
        make_product(name=f"Hiking tent {i}", description="Hiking tent.", category="Outdoor/Tents") for i in range(3)
    ]
    pans = [
        make_product(name=f"Kitchen pan {i}", description="Kitchen pan.", category="Home/Kitchen") for i in range(3)
    ]
    embeddings.embed_products(product_pks=[p.pk for p in tents + pans])
    hikers, cooks = [], []
    for i in range(3):
        hiker = django_user_model.objects.create_user(f"hiker{i}")
        cook = django_user_model.objects.create_user(f"cook{i}")
        for tent in tents:
            record_event(kind="view", user=hiker, product_pk=tent.pk)
        for pan in pans:
            record_event(kind="purchase", user=cook, product_pk=pan.pk)
        rebuild_profile(user_id=hiker.pk)
        rebuild_profile(user_id=cook.pk)
        hikers.append(hiker)
        cooks.append(cook)
    return {"tents": tents, "pans": pans, "hikers": hikers, "cooks": cooks}


def test_clusters_group_shoppers_by_interest_and_are_named_by_it(shop):
    segments = build_clusters(k=2)

    by_members = {frozenset(segment.users.values_list("username", flat=True)): segment for segment in segments}
    hikers = frozenset(u.username for u in shop["hikers"])
    cooks = frozenset(u.username for u in shop["cooks"])
    assert set(by_members) == {hikers, cooks}
    assert by_members[hikers].name.startswith("Likes Outdoor / Tents")
    assert by_members[cooks].name.startswith("Likes Home / Kitchen")


def test_rule_segments_pick_shoppers_by_what_they_did(shop):
    segment = Segment.objects.create(name="Cooks", rule={"category": "Home", "kind": "purchase", "min_events": 2})

    assert apply_rule(segment) == 3
    assert set(segment.users.values_list("username", flat=True)) == {u.username for u in shop["cooks"]}
    with pytest.raises(SegmentError, match="needs 'category'"):
        apply_rule(Segment(name="bad", rule={"kind": "view"}))


def test_campaign_features_the_segments_products_and_is_checked(shop):
    (cooks,) = [s for s in build_clusters(k=2) if s.name.startswith("Likes Home")]

    campaign = write_campaign(cooks)

    assert campaign.status == "draft" and Campaign.objects.count() == 1
    assert campaign.product_pks and set(campaign.product_pks) <= {str(p.pk) for p in shop["pans"]}
    featured = {p.name for p in shop["pans"] if str(p.pk) in campaign.product_pks}
    assert any(name in f"{campaign.subject}\n{campaign.body}" for name in featured)  # the email names them
    assert campaign.flags == []  # the fake model only repeats the products' own facts
