"""The marketing studio in a real browser with the real local model (SmolLM2-135M via llama.cpp):
select a product in admin → generate → see the draft and its grounding flags → approve → publish
→ the text is on the product page. (docs/ screenshots come from bench/studio_walkthrough.py on the demo.)"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.browser import chromium_page, require_browser

sync_api = require_browser("the studio test")

from shopai.models import GeneratedCopy, GenerationJob  # noqa: E402
from shopai.studio.copy import run_job  # noqa: E402
from tests.brokers import broker_client  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
REAL_MODEL = {  # one thread: no spinning against the browser and live server for the 2 cores
    "default": {"CLASS": "shopai.backends.generation.LlamaCppBackend", "CONFIG": {"n_threads": 1, "timeout": 300}}
}


@pytest.fixture
def studio(live_server, make_product, settings, monkeypatch):
    # Greedy decoding: sampled output of a 135M model varies with thread timing, and the flow,
    # not the prose, is under test here.
    copy_settings = {**settings.SHOPAI.get("COPY", {}), "TEMPERATURE": 0.0}
    settings.SHOPAI = {**settings.SHOPAI, "GENERATION": REAL_MODEL, "COPY": copy_settings}
    for queue in ("embeddings", "generation"):
        broker_client().delete(queue)
    jacket = make_product(
        name="Ridgeline 3L Waterproof Hiking Jacket",
        sku="OUT-JKT-001",
        description=(
            "A fully waterproof three-layer shell built for long days on exposed trail. Every seam is taped, "
            "with pit zips and a helmet-compatible hood."
        ),
        category="Outdoor/Jackets",
        attributes={"color": "slate blue", "sizes": ["S", "M", "L", "XL"], "material": "recycled nylon"},
    )
    admin = get_user_model().objects.create_superuser("studio-admin", "admin@example.com", "pw-studio-123")
    client = Client()
    client.force_login(admin)
    session = [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    try:
        with chromium_page(monkeypatch, locale="en-GB", height=900, cookies=session) as page:
            yield page, live_server, jacket
    finally:
        for queue in ("embeddings", "generation"):
            broker_client().delete(queue)


def test_staff_generate_review_and_publish_copy_with_the_local_model(studio):
    page, server, jacket = studio
    expect = sync_api.expect

    page.goto(f"{server.url}/admin/store/product/")
    page.locator(f'input[name="_selected_action"][value="{jacket.pk}"]').check()
    page.locator('select[name="action"]').select_option("shopai_generate_copy")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name="Generate copy with AI")).to_be_visible()
    page.locator('select[name="tone"]').select_option("premium")
    page.locator('select[name="length"]').select_option("short")
    page.locator('input[name="keywords"]').fill("waterproof, pit zips")
    page.get_by_role("button", name="Generate drafts").click()
    expect(page.locator(".messagelist")).to_contain_text("Generating copy for 1 product")

    job = GenerationJob.objects.get()
    run_job(job.pk)  # the worker's part, in this process: SmolLM2 writes the draft here
    draft = GeneratedCopy.objects.get()
    assert draft.text.strip() and draft.completion_tokens > 0 and "SmolLM2" in draft.model_name

    # The job page refreshes itself every 3 s while the job runs; wait for the page that no longer
    # does (a reload of our own could collide with one of its refreshes).
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0, timeout=30_000)
    page.get_by_role("link", name=re.compile("description of product")).click()
    expect(page.locator(".field-guard")).to_contain_text(re.compile("grounded|flag"))
    marked = any(flag["phrase"] and flag["phrase"] in draft.text for flag in draft.flags)
    assert (page.locator(".field-marked_text mark").count() > 0) == marked  # flagged phrases are highlighted
    if draft.flags:  # a 135M model invents things: staff say why it may go out anyway
        page.locator('textarea[name="override_reason"]').fill("Checked by hand against the supplier sheet.")
        page.get_by_role("button", name="Save", exact=True).click()

    page.goto(f"{server.url}/admin/shopai/generatedcopy/")
    for action in ("approve", "publish"):
        page.locator(f'input[name="_selected_action"][value="{draft.pk}"]').check()
        page.locator('select[name="action"]').select_option(action)
        page.get_by_role("button", name="Go").click()
        expect(page.locator(".messagelist")).to_contain_text("1 draft ")

    draft.refresh_from_db()
    assert draft.status == "published"
    page.goto(server.url + jacket.get_absolute_url())
    shown = " ".join(page.locator("p.description").inner_text().split())
    assert shown == " ".join(draft.text.split())
