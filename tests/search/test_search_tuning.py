"""shopai_tune_search: the keyword weight re-fitted from recorded searches and clicks."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from shopai.models import ListClick, ListImpression
from shopai.search import tuning

pytestmark = pytest.mark.django_db


def _clicked_searches(queries: int, *, clicked: str = "a") -> None:
    now = timezone.now()
    for number in range(queries):
        shown = ListImpression.objects.create(
            kind="search", placement="api", query=f"query {number}", product_pks=["b", "a"], created_at=now
        )
        ListClick.objects.create(impression=shown, product_pk=clicked, position=2, kind="search", created_at=now)


@pytest.fixture
def rankings(monkeypatch):
    """Keywords put "a" first, meaning puts "b" first (the shop's catalogue is not what is under test)."""

    def candidates(**kwargs):
        return {"a": 3.0, "b": 1.0}, {"b": 0.9, "a": 0.2}

    monkeypatch.setattr(tuning, "candidates", candidates)


def test_clicks_on_what_keywords_find_recommend_more_keyword_weight(rankings):
    _clicked_searches(40)

    fit = tuning.fit_keyword_weight(days=30)

    assert fit.queries == 40 and fit.current == 0.4
    assert fit.mrr[1.0] == pytest.approx(1.0) and fit.mrr[0.0] == pytest.approx(0.5)
    assert fit.best > 0.4 and fit.recommend and fit.gain_ci[0] > 0
    out = StringIO()
    call_command("shopai_tune_search", "--no-progress", stdout=out)
    assert f'"KEYWORD_WEIGHT": {fit.best}' in out.getvalue()


def test_a_few_clicked_searches_recommend_nothing(rankings):
    _clicked_searches(5)
    out = StringIO()

    call_command("shopai_tune_search", "--no-progress", stdout=out)

    assert "Fewer than 30 clicked queries: keep the weight in force." in out.getvalue()
    assert "Recommended" not in out.getvalue()


def test_without_clicks_there_is_nothing_to_fit():
    out = StringIO()
    call_command("shopai_tune_search", "--no-progress", stdout=out)
    assert "nothing to fit" in out.getvalue()
