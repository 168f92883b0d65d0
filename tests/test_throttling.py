"""Throttles count by who the client is, not by what a header claims; every public entry is throttled."""

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tight_rates(settings):
    cache.clear()
    settings.SHOPAI = {**settings.SHOPAI, "THROTTLE_RATES": {name: "3/minute" for name in ("search", "ask", "events")}}
    yield
    cache.clear()


def statuses(client, path, count, *, forwarded=None, **params):
    codes = []
    for n in range(count):
        headers = {"HTTP_X_FORWARDED_FOR": forwarded(n)} if forwarded else {}
        codes.append(client.get(path, {"q": f"tent {n}", **params}, **headers).status_code)
    return codes


def test_a_made_up_forwarded_for_header_does_not_buy_more_requests(client):
    codes = statuses(client, "/api/shopai/search", 5, forwarded=lambda n: f"10.0.0.{n}")

    assert codes == [200, 200, 200, 429, 429]


def test_behind_one_trusted_proxy_the_address_it_saw_counts_and_what_the_client_wrote_before_it_does_not(
    client, settings
):
    settings.SHOPAI = {**settings.SHOPAI, "TRUSTED_PROXIES": 1}

    spoofing = statuses(client, "/api/shopai/search", 4, forwarded=lambda n: f"10.0.0.{n}, 203.0.113.7")
    someone_else = statuses(client, "/api/shopai/search", 1, forwarded=lambda n: "198.51.100.2")

    assert spoofing == [200, 200, 200, 429] and someone_else == [200]


def test_a_request_that_skipped_a_trusted_proxy_cannot_name_its_own_address(client, settings):
    # Two proxies are trusted, but the client reached the app past one of them: its one-entry header
    # is its own writing, so a new made-up address per request must not buy more requests.
    settings.SHOPAI = {**settings.SHOPAI, "TRUSTED_PROXIES": 2}

    codes = statuses(client, "/api/shopai/search", 4, forwarded=lambda n: f"10.0.0.{n}")

    assert codes == [200, 200, 200, 429]


def test_the_html_search_page_is_throttled_with_the_api_budget(client):
    codes = statuses(client, "/shopai/search/", 3) + statuses(client, "/api/shopai/search", 1)
    page = client.get("/shopai/search/", {"q": "tent"})

    assert codes == [200, 200, 200, 429]
    assert page.status_code == 429 and "Too many searches" in page.content.decode() and page["Retry-After"]


def test_asking_and_posting_events_are_throttled_too(client):
    asks = [
        client.post("/api/shopai/ask", {"question": "hello?"}, content_type="application/json").status_code
        for _ in range(4)
    ]
    events = [
        client.post("/api/shopai/events", {"type": "search", "query": "x"}, content_type="application/json").status_code
        for _ in range(4)
    ]

    assert asks[-1] == 429 and events[-1] == 429
