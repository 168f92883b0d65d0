"""The demo shop in Chinese in a real browser: pages, the chat widget, recommendations, then the switch to English."""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium_page, require_browser  # noqa: E402

sync_api = require_browser("the Chinese interface test")

from shopai.assistant.faqs import assistant_backend  # noqa: E402
from shopai.assistant.intents import get_intent_classifier  # noqa: E402

CHINESE_REASONS = re.compile(r"^(新品上架|当下热卖)$")


@pytest.fixture
def shop(live_server, make_product, empty_embedding_queue):
    """A shop with two products (no FAQs: every question is handed over), served by a live server."""
    jacket = make_product(name="Ridgeline hiking jacket", category="Outdoor/Jackets", stock=3)
    make_product(name="Enamel camp mug", category="Kitchen/Mugs")
    get_intent_classifier(assistant_backend())  # trained now, so that the first question is not slowed down
    live_server.jacket = jacket
    return live_server


@pytest.fixture
def page(shop, monkeypatch):
    with chromium_page(monkeypatch, locale="zh-CN") as page:
        yield page


def test_a_chinese_browser_gets_the_shop_in_chinese_until_the_shopper_picks_english(page, shop):
    expect = sync_api.expect
    page.goto(shop.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="全部商品")).to_be_visible()
    expect(page.get_by_role("heading", name="为您推荐")).to_be_visible()
    expect(page.locator(".shopai-reason").first).to_have_text(CHINESE_REASONS)
    expect(page.get_by_role("searchbox", name="搜索商品")).to_have_attribute(
        "placeholder", "按意思搜索，例如：徒步用的防水夹克"
    )

    page.goto(shop.url + shop.jacket.get_absolute_url())
    expect(page.get_by_text("库存 3 件 · 货号")).to_be_visible()

    # The widget: its labels come from the page, its messages from the JavaScript catalogue.
    page.get_by_role("button", name="在线咨询").click()
    expect(page.get_by_role("dialog", name="在线咨询")).to_be_visible()
    question = page.get_by_label("您的问题")
    expect(question).to_have_attribute("placeholder", "请输入问题（Enter 发送，Shift+Enter 换行）")
    expect(page.get_by_role("button", name="转人工客服")).to_be_visible()
    question.fill("你们周末发货吗？")
    question.press("Enter")
    reply = page.locator(".shopai-chat-msg--bot").nth(1)
    expect(reply.locator(".shopai-chat-text")).to_have_text(re.compile(r"[\u4e00-\u9fff]"))
    expect(reply.locator(".shopai-chat-confidence")).to_have_text(
        re.compile(r"^(非常确定|比较确定|不太确定|不确定) · \d+%$")
    )
    expect(reply.locator(".shopai-chat-feedback-prompt")).to_have_text("这个回答有帮助吗？")
    expect(reply.get_by_role("button", name="有帮助", exact=True)).to_be_visible()

    # The switch: English from now on, kept in a cookie across pages.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Ask us")).to_be_visible()
    page.goto(shop.url + "/")
    expect(page.get_by_role("heading", name="All products")).to_be_visible()
    expect(page.get_by_role("heading", name="Recommended for you")).to_be_visible()
    expect(page.locator(".shopai-reason").first).to_have_text(re.compile(r"^(New in the shop|Trending now)$"))
    page.get_by_role("button", name="Ask us").click()
    question = page.get_by_label("Your question")
    question.fill("Do you ship at weekends?")
    question.press("Enter")
    reply = page.locator(".shopai-chat-msg--bot").nth(1)
    expect(reply.locator(".shopai-chat-feedback-prompt")).to_have_text("Was this helpful?")
