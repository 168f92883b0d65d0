"""Chinese in keyword search and FAQ keywords: jieba words (plus character pairs), what a shopper notices."""

import tempfile
import threading

import pytest
from django.core import checks

from shopai.assistant.faqs import keyword_overlap
from shopai.core import chinese_words
from shopai.models import FAQ
from shopai.search import embeddings
from shopai.search.evaluation import reference_tokens
from shopai.search.hybrid import search_products

pytestmark = pytest.mark.django_db


def names(hits):
    return [hit.product.name for hit in hits]


def segmenter(settings, name):
    settings.SHOPAI = {**settings.SHOPAI, "SEARCH": {**settings.SHOPAI.get("SEARCH", {}), "CHINESE_SEGMENTER": name}}


@pytest.fixture
def kimono_shop(make_product):
    # "和服" (kimono) is a word of the first name; in the second its characters only meet across
    # the words 柔和 (soft) and 服帖 (fitting snugly).
    products = [
        make_product(name="日式和服腰带", description="", sku="ZH-KIMONO"),
        make_product(name="柔和服帖的睡衣", description="", sku="ZH-PYJAMAS"),
        make_product(name="出差小箱子", description="", sku="ZH-CASE"),
    ]
    embeddings.embed_products(product_pks=[p.pk for p in products])
    return products


def test_the_product_holding_the_word_comes_before_characters_across_a_word_boundary(kimono_shop):
    assert names(search_products(query="和服", mode="keyword"))[0] == "日式和服腰带"


def test_with_words_alone_characters_across_a_word_boundary_do_not_match(kimono_shop, settings):
    segmenter(settings, "jieba")
    embeddings.rebuild_keywords()
    assert names(search_products(query="和服", mode="keyword")) == ["日式和服腰带"]


def test_a_chinese_query_finds_the_product_by_a_word_inside_a_longer_one(kimono_shop):
    # jieba's search mode indexes 小箱子 as 小箱, 箱子 and 小箱子.
    assert names(search_products(query="箱子", mode="keyword")) == ["出差小箱子"]
    assert names(search_products(query="我要一个小箱子", mode="keyword"))[0] == "出差小箱子"


def test_mixed_chinese_and_english_text_keeps_english_stemmed(make_product):
    shoes = make_product(name="Trail running 跑步鞋", description="轻便透气", sku="MIX-01")
    other = make_product(name="Cotton 睡衣", description="柔软", sku="MIX-02")
    embeddings.embed_products(product_pks=[shoes.pk, other.pk])
    assert names(search_products(query="runs", mode="keyword")) == ["Trail running 跑步鞋"]
    assert names(search_products(query="跑步", mode="keyword")) == ["Trail running 跑步鞋"]
    assert names(search_products(query="透气的 running shoes", mode="keyword"))[0] == "Trail running 跑步鞋"


def test_chinese_faq_keywords_match_by_word(settings):
    refund = FAQ.objects.create(question="如何申请退货？", answer="收货后七天内可在订单页申请退货。", language="zh")
    delivery = FAQ.objects.create(question="多久发货？", answer="付款后48小时内发货。", language="zh")
    scores = keyword_overlap("我想退货怎么办", "zh", [refund.pk, delivery.pk])
    assert scores[refund.pk] > 0 and scores[delivery.pk] == 0


def test_the_evaluation_reference_cuts_chinese_as_keyword_search_does(settings):
    assert set(reference_tokens("日式和服 Belt")) == {"belt", "日式", "和服", "式和"}  # words, then pairs
    segmenter(settings, "jieba")
    assert reference_tokens("柔和服帖") == ["柔和", "服帖"]


def test_indexes_written_with_character_pairs_are_found_and_rewritten(kimono_shop, settings):
    segmenter(settings, "pairs")
    embeddings.rebuild_keywords()  # an index as earlier releases wrote it
    segmenter(settings, "jieba")
    warnings = [w for w in checks.run_checks(databases=["default"]) if w.id == "shopai.W004"]
    assert len(warnings) == 1 and "3 products" in warnings[0].msg
    assert "柔和服帖的睡衣" in names(search_products(query="和服", mode="keyword"))

    assert embeddings.sweep_stale_embeddings() == 0  # no model call: only the keyword index is rewritten
    assert [w for w in checks.run_checks(databases=["default"]) if w.id == "shopai.W004"] == []
    assert names(search_products(query="和服", mode="keyword")) == ["日式和服腰带"]


def test_an_unknown_segmenter_is_a_clear_configuration_error(settings):
    segmenter(settings, "thulac")
    errors = [e for e in checks.run_checks() if e.id == "shopai.E007"]
    assert any("CHINESE_SEGMENTER is 'thulac'" in e.msg for e in errors)


def test_jieba_loads_once_for_all_threads_and_writes_no_file(monkeypatch, tmp_path):
    monkeypatch.setattr(chinese_words, "_tokenizer", None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where jieba's own loader writes its cache
    loaded = []
    threads = [threading.Thread(target=lambda: loaded.append(chinese_words._jieba_tokenizer())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loaded) == 4 and all(tokenizer is loaded[0] for tokenizer in loaded)
    assert list(tmp_path.iterdir()) == []
