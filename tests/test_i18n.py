"""The Chinese interface: pages, widget, API and admin follow the request's language; catalogues complete, compiled."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import include, path
from django.utils import translation

from shopai.assistant.answers import PHRASES, phrases
from shopai.models import FAQ, Segment

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = [
    ROOT / "shopai" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
    ROOT / "shopai" / "locale" / "zh_Hans" / "LC_MESSAGES" / "djangojs.po",
    ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",  # the demo shop's own
]
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- the catalogues -------------------------------------------------------------------


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgctxt, flags and msgstr as {form: text}; header included.

    Written here so that the check needs neither msgfmt nor a library: a newcomer's machine may lack both."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry: dict = {"flags": set(), "msgstr": {}}
        field, key = entry, None
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#") or not line:
                continue  # comments, and obsolete entries (#~), which msgfmt leaves out
            elif line.startswith('"'):
                field[key] = field.get(key, "") + ast.literal_eval(line)
            else:
                keyword, _, value = line.partition(" ")
                form = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword)
                field, key = (entry["msgstr"], int(form.group(1) or 0)) if form else (entry, keyword)
                field[key] = ast.literal_eval(value)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def messages_of(path: Path) -> list[dict]:
    return [entry for entry in read_po(path) if entry["msgid"]]


def translated(entry: dict) -> bool:
    return "fuzzy" not in entry["flags"] and all(entry["msgstr"].values())


def placeholders(text: str) -> list[str]:
    """%(name)s, %d and {name} placeholders (what the code fills in), sorted."""
    return sorted(re.findall(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[dsr]|\{\w*\}", text))


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_message_is_translated(po):
    entries = messages_of(po)
    missing = [entry["msgid"] for entry in entries if not translated(entry)]
    share = 1 - len(missing) / len(entries)
    assert entries, f"{po} has no messages"
    # The bar is 90 %; the catalogues ship complete. `make messages` adds new ones untranslated.
    assert share >= 0.9, f"{share:.0%} of {po.name} translated; missing: {missing[:20]}"


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda path: str(path.relative_to(ROOT)))
def test_translations_keep_the_placeholders(po):
    wrong = [
        (entry["msgid"], text)
        for entry in messages_of(po)
        if translated(entry)
        for text in entry["msgstr"].values()
        if placeholders(text) != placeholders(entry.get("msgid_plural") or entry["msgid"])
        and placeholders(text) != placeholders(entry["msgid"])
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_compiled_catalogue_is_the_po_file(po):
    """The committed .mo says exactly what its .po says: run `make messages` after editing a .po."""
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make messages`"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for entry in messages_of(po):
        if not translated(entry):
            continue  # msgfmt leaves untranslated and fuzzy messages out
        key = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            expected.update({(key, n): text for n, text in entry["msgstr"].items()})
        else:
            expected[key] = entry["msgstr"][0]
    compiled = {key: value for key, value in compiled.items() if key != ""}  # "" is the header
    stale = {key for key in expected.keys() | compiled.keys() if expected.get(key) != compiled.get(key)}
    assert not stale, f"{mo.name} differs from {po.name} (run `make messages`): {sorted(map(str, stale))[:10]}"


def test_the_assistant_phrases_exist_in_both_languages():
    english, chinese = phrases("en"), phrases("zh")
    assert english["asked_human"] == "Of course — I'm handing you over to a colleague from our customer service team."
    assert chinese["asked_human"] == "好的，我现在为您转接人工客服。"
    assert all(CJK.search(chinese[key]) for key in PHRASES)
    assert phrases("fr") == english  # a language without a catalogue is answered in English
    for key in PHRASES:
        assert placeholders(english[key]) == placeholders(chinese[key]), key


# --- pages, widget, API, admin ------------------------------------------------------


@pytest.fixture
def shop(make_product):
    make_product(name="Ridgeline hiking jacket", category="Outdoor/Jackets")
    make_product(name="Enamel camp mug", category="Kitchen/Mugs")


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.django_db
def test_the_storefront_and_chat_widget_speak_chinese_to_a_chinese_browser(client, shop):
    home = page(client.get("/", **ZH))

    assert '<html lang="zh-hans">' in home
    assert "商品分类" in home and "全部商品" in home
    assert 'placeholder="按意思搜索，例如：徒步用的防水夹克"' in home
    assert "在线咨询" in home and "转人工客服" in home  # the chat widget's button and header
    assert 'placeholder="请输入问题（Enter 发送，Shift+Enter 换行）"' in home
    assert "为您推荐" in home and ("新品上架" in home or "当下热卖" in home)  # recommendations and their reasons
    catalogue_url = re.search(r'<script src="([^"]*jsi18n[^"]*)"', home).group(1)
    assert home.index(catalogue_url) < home.index("shopai/chat.js")  # loaded before the widget runs

    widget = client.get(catalogue_url, **ZH).content.decode()
    assert "\\u975e\\u5e38\\u786e\\u5b9a" in widget or "非常确定" in widget  # "very sure"
    assert "Sources" in widget and ("\\u53c2\\u8003\\u6765\\u6e90" in widget or "参考来源" in widget)


@pytest.mark.django_db
def test_english_stays_english(client, shop):
    home = page(client.get("/"))

    assert '<html lang="en-us">' in home or '<html lang="en">' in home
    assert "Categories" in home and "All products" in home and "Ask us" in home
    assert not CJK.search(home.split("<body>", 1)[1].replace("简体中文", ""))  # the switch names Chinese in Chinese
    british = page(client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9"))
    assert '<html lang="en">' in british and "All products" in british and "Ask us" in british


@pytest.mark.django_db
def test_the_search_page_in_chinese(client, shop):
    results = page(client.get("/shopai/search/", {"q": "ceramic teapot"}, **ZH))

    assert "<h1>搜索</h1>" in results
    assert "个结果，按意思相近程度排列" in results or "没有找到匹配的商品" in results
    error = page(client.get("/shopai/search/", {"q": " "}, **ZH))
    assert "搜索内容为空，请输入几个词描述您想找的商品。" in error


@pytest.mark.django_db
def test_api_errors_and_recommendation_reasons_follow_accept_language(client, shop):
    bad = client.get("/api/shopai/search", {"q": ""}, **ZH)
    assert bad.status_code == 400
    assert bad.json()["error"] == "q: 搜索内容为空，请输入几个词描述您想找的商品。"
    english = client.get("/api/shopai/search", {"q": ""})
    assert (
        english.json()["error"] == "q: The search text is empty; type a few words describing what you are looking for."
    )

    reasons = {item["reason"] for item in client.get("/api/shopai/recommendations", **ZH).json()["results"]}
    assert reasons and reasons <= {"新品上架", "当下热卖"}, reasons
    reasons = {item["reason"] for item in client.get("/api/shopai/recommendations").json()["results"]}
    assert reasons <= {"New in the shop", "Trending now"}, reasons


@pytest.mark.django_db
def test_the_assistant_replies_in_the_language_of_the_question(client, empty_embedding_queue):
    """Not the page's: a shopper who asks in English on a Chinese page reads English, and the other way round."""
    chinese = client.post("/api/shopai/ask", {"question": "你们周末发货吗？"}, content_type="application/json", **ZH)
    english = client.post(
        "/api/shopai/ask", {"question": "Do you ship at weekends?"}, content_type="application/json", **ZH
    )
    on_english_page = client.post("/api/shopai/ask", {"question": "你们周末发货吗？"}, content_type="application/json")

    assert chinese.json()["language"] == "zh" and CJK.search(chinese.json()["reply"])
    assert english.json()["language"] == "en" and not CJK.search(english.json()["reply"])
    assert on_english_page.json()["reply"] == chinese.json()["reply"]
    assert all(CJK.search(link["label"]) for link in chinese.json()["links"])


@pytest.mark.django_db
def test_admin_speaks_chinese(admin_client):
    FAQ.objects.create(question="How long does delivery take?", answer="3 to 5 working days.")
    Segment.objects.create(
        name="Likes Outdoor & Kitchen",
        description="Closest products: Tent, Mug",
        likes={"categories": ["Outdoor", "Kitchen"], "products": ["Tent", "Mug"]},
    )
    Segment.objects.create(name="Coffee lovers", likes={"products": ["Mug"]})  # renamed by staff

    faqs = page(admin_client.get("/admin/shopai/faq/", **ZH))
    assert "<title>选择 常见问题 来修改" in faqs
    assert "发布所选常见问题" in faqs  # an action
    assert "使用次数" in faqs  # a column
    segments = page(admin_client.get("/admin/shopai/segment/", **ZH))
    assert "偏爱Outdoor、Kitchen" in segments and "最贴近的商品：Tent、Mug" in segments
    assert "Coffee lovers" in segments  # a name staff wrote stays as written

    english = page(admin_client.get("/admin/shopai/faq/"))
    assert "<title>Select FAQ to change" in english and "Publish selected FAQs" in english
    assert "Likes Outdoor &amp; Kitchen" in page(admin_client.get("/admin/shopai/segment/"))


def test_segment_names_are_composed_in_the_viewer_language():
    segment = Segment(name="Likes Grocery", likes={"categories": ["Grocery", "食品"], "products": []})
    with translation.override("zh-hans"):
        assert str(segment) == "偏爱Grocery、食品"
        assert Segment.name_from([]) == "兴趣广泛"
    with translation.override("en"):
        assert str(segment) == "Likes Grocery & 食品"
    legacy = Segment(name="Likes Outdoor")  # built before names were composed: shown as stored
    with translation.override("zh-hans"):
        assert str(legacy) == "Likes Outdoor"


@pytest.mark.django_db
def test_the_language_switch_is_remembered(client, shop):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"

    assert "全部商品" in page(client.get("/", HTTP_ACCEPT_LANGUAGE="en"))  # the cookie wins over the browser
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "All products" in page(client.get("/", **ZH))


# A host that mounts shopai's API but not its pages (so no JavaScript catalogue): this module is its urlconf.
urlpatterns = [path("api/shopai/", include("shopai.api.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_the_chat_widget_works_without_the_catalogue():
    html = Template("{% load shopai %}{% shopai_chat %}").render(Context({}))

    assert "jsi18n" not in html and "shopai/chat.js" in html  # the widget falls back to its English texts
    script = (ROOT / "shopai" / "static" / "shopai" / "chat.js").read_text(encoding="utf-8")
    assert 'typeof window.gettext === "function" ? window.gettext(text) : text' in script
