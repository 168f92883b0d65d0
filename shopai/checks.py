"""System checks with stable ids; docs/install.md "System checks" says what each means."""

from __future__ import annotations

import os

from celery import current_app
from django.conf import global_settings, settings
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.utils import DatabaseError

from shopai.adapters import get_order_adapter, get_product_adapter, get_product_model, orm_field
from shopai.backends import EXTRAS, backend_class, get_embedding_backend
from shopai.backends.generation import generation_alias
from shopai.conf import shopai_settings
from shopai.core.chinese_words import SEGMENTERS
from shopai.models import EMBEDDING_DIMENSIONS, EmbeddingSpace
from shopai.recommendations.tuned_settings import TUNABLE, override_errors
from shopai.search.embeddings import outdated_keywords
from shopai.search.hybrid import FUSIONS

MAX_INDEXED_DIMENSIONS = 2000  # pgvector's limit for an HNSW index on vector


def _path_problem(model, path: str, *, text: bool) -> str | None:
    """Why a dotted attribute path cannot work on ``model``; None if it can (or cannot be told
    without an instance: a property or method part ends what can be checked)."""
    parts = path.split(".")
    for index, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            if hasattr(model, part):
                return None  # a property or method: checked when it runs
            return f"{model._meta.label} has no field or attribute {part!r}"
        last = index == len(parts) - 1
        if field.is_relation and field.related_model is not None:
            if last and text and (field.many_to_many or field.one_to_many):
                return (
                    f"{part!r} is a many-valued relation of {model._meta.label}, whose text would read "
                    f'"<manager>"; name an attribute of the related rows, e.g. "{path}.name"'
                )
            model = field.related_model
        elif not last:
            return f"{model._meta.label}.{part} is no relation, so {'.'.join(parts[index + 1 :])!r} cannot follow it"
    return None


@checks.register()
def check_product_model(app_configs=None, **kwargs):
    try:
        model = get_product_model()
        adapter = get_product_adapter()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint='Example: SHOPAI = {"PRODUCT_MODEL": "store.Product"}', id="shopai.E001")]
    errors = []
    paths = [("PRODUCT_TEXT_FIELDS", path, True) for path in shopai_settings.PRODUCT_TEXT_FIELDS]
    paths += [
        (f"PRODUCT_FIELDS[{name!r}]", path, False) for name, path in shopai_settings.PRODUCT_FIELDS.items() if path
    ]
    for setting, path, text in paths:
        problem = _path_problem(model, path, text=text)
        if problem:
            errors.append(
                checks.Error(
                    f"{problem} (SHOPAI {setting}: {path!r}).",
                    hint="Fix PRODUCT_TEXT_FIELDS / PRODUCT_FIELDS in SHOPAI (dotted attribute paths).",
                    id="shopai.E006",
                )
            )
    for name, lookup in shopai_settings.PRODUCT_FILTER_FIELDS.items():
        if name not in adapter.FILTERS:
            errors.append(
                checks.Error(
                    f"PRODUCT_FILTER_FIELDS has an unknown filter {name!r}.",
                    hint=f"Filters: {', '.join(adapter.FILTERS)}.",
                    id="shopai.E006",
                )
            )
        elif lookup and orm_field(model, lookup) is None:
            errors.append(
                checks.Error(
                    f"PRODUCT_FILTER_FIELDS[{name!r}] = {lookup!r} is not a field lookup of {model._meta.label}.",
                    hint='Use database lookups with "__", e.g. "stockrecords__price".',
                    id="shopai.E006",
                )
            )
    refused = {"price": "min_price and max_price", "stock": "in_stock", "category": "category"}
    for name, filters in refused.items():
        shown = shopai_settings.PRODUCT_FIELDS.get(name)
        if shown and name not in shopai_settings.PRODUCT_FILTER_FIELDS and adapter.filter_lookup(name) is None:
            errors.append(
                checks.Warning(
                    f"PRODUCT_FIELDS[{name!r}] = {shown!r} is shown, but no database field stands behind it: "
                    f"the {filters} filter{'s are' if ' and ' in filters else ' is'} refused (400).",
                    hint=f'Set SHOPAI["PRODUCT_FILTER_FIELDS"][{name!r}] to a field lookup '
                    '(e.g. "stockrecords__price"), or "" to say the shop does not filter by it.',
                    id="shopai.W002",
                )
            )
    return errors


@checks.register()
def check_order_model(app_configs=None, **kwargs):
    """Every ORDER_FIELDS path exists on the order model (and the line model, for purchases)."""
    label = shopai_settings.ORDER_MODEL
    if not label:
        return []
    try:
        model = get_order_adapter().model
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="shopai.E010")]
    fields = shopai_settings.ORDER_FIELDS
    # Fields shopai reads when they exist (a line's quantity, shipping dates): checked when the shop names them.
    named = (getattr(settings, "SHOPAI", {}) or {}).get("ORDER_FIELDS", {})
    optional = {name for name in ("item_quantity", "shipped", "delivered") if name not in named}
    errors = []
    line_model = None
    for name, path in fields.items():
        if name in LINE_FIELDS or not path:
            continue
        problem = _path_problem(model, path, text=False)
        if problem and name not in optional:
            errors.append(checks.Error(f"{problem} (SHOPAI ORDER_FIELDS[{name!r}]: {path!r}).", id="shopai.E010"))
        elif name == "items":
            try:
                line_model = model._meta.get_field(path).related_model
            except FieldDoesNotExist:
                errors.append(
                    checks.Error(
                        f"ORDER_FIELDS['items'] = {path!r} must name the relation to the order's lines.",
                        id="shopai.E010",
                    )
                )
    for name in LINE_FIELDS:
        if line_model is None or not fields.get(name):
            continue
        problem = _path_problem(line_model, fields[name], text=False)
        if problem and name not in optional:
            errors.append(
                checks.Error(f"{problem} (SHOPAI ORDER_FIELDS[{name!r}]: {fields[name]!r}).", id="shopai.E010")
            )
    return errors


# ORDER_FIELDS read on an order's line rather than on the order.
LINE_FIELDS = ("item_product", "item_quantity")


@checks.register()
def check_embedding_backends(app_configs=None, **kwargs):
    errors = []
    for alias in shopai_settings.EMBEDDINGS:
        try:
            cls, config = backend_class("EMBEDDINGS", alias)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id="shopai.E002"))
            continue
        dims = int(config.get("dimensions", getattr(cls, "default_dimensions", EMBEDDING_DIMENSIONS)))
        if not 0 < dims <= MAX_INDEXED_DIMENSIONS:
            errors.append(
                checks.Error(
                    f"Embedding backend {alias!r} produces {dims}-d vectors; pgvector's HNSW index takes "
                    f"1 to {MAX_INDEXED_DIMENSIONS} dimensions.",
                    hint='Pick a model of at most 2,000 dimensions, or set CONFIG "dimensions" to what it gives.',
                    id="shopai.E003",
                )
            )
    if "default" not in shopai_settings.EMBEDDINGS:
        errors.append(checks.Error('SHOPAI["EMBEDDINGS"] needs a "default" backend.', id="shopai.E002"))
    return errors


@checks.register()
def check_backend_packages(app_configs=None, **kwargs):
    """A backend whose modules are missing says which extra or setting fixes it, before its first use."""
    warnings = []
    for kind in ("EMBEDDINGS", "GENERATION", "SENTIMENT", "QA"):
        for alias in getattr(shopai_settings, kind):
            try:
                cls, config = backend_class(kind, alias)
            except ImproperlyConfigured:
                continue  # reported by the backend's own check, or when first used
            missing = cls.missing_packages(config) if hasattr(cls, "missing_packages") else []
            if not missing:
                continue
            extras = sorted({EXTRAS[name] for name in missing if name in EXTRAS})
            install = f'pip install "shopai[{",".join(extras)}]"' if extras else f"pip install {' '.join(missing)}"
            warnings.append(
                checks.Warning(
                    f'SHOPAI["{kind}"]["{alias}"] ({cls.__name__}) needs {", ".join(missing)}, '
                    "which is not installed here: it will fail when first used.",
                    hint=f'{install}, or point SHOPAI["{kind}"]["{alias}"] at another backend '
                    "(e.g. one that calls an OpenAI-compatible server).",
                    id="shopai.W001",
                )
            )
    return warnings


@checks.register()
def check_generation_languages(app_configs=None, **kwargs):
    """Every language in GENERATION_BY_LANGUAGE names a configured GENERATION alias, before a job meets it."""
    routes = shopai_settings.GENERATION_BY_LANGUAGE
    aliases = shopai_settings.GENERATION
    hint = f'Name an alias of SHOPAI["GENERATION"] ({", ".join(map(repr, aliases))}), or add the alias there.'
    if not isinstance(routes, dict):
        return [
            checks.Error(
                f'SHOPAI["GENERATION_BY_LANGUAGE"] must be a dict of language -> alias, got {routes!r}.',
                hint='Example: {"zh": "chinese"}.',
                id="shopai.E011",
            )
        ]
    return [
        checks.Error(
            f'SHOPAI["GENERATION_BY_LANGUAGE"][{language!r}] = {alias!r} is no alias of SHOPAI["GENERATION"]: '
            f"copy and campaigns in that language would fail.",
            hint=hint,
            id="shopai.E011",
        )
        for language, alias in routes.items()
        if not isinstance(alias, str) or alias not in aliases
    ]


E007 = "shopai.E007"


@checks.register()
def check_search_settings(app_configs=None, **kwargs):
    search = shopai_settings.SEARCH
    problems = []
    if search.get("FUSION") not in FUSIONS:
        problems.append(f"FUSION is {search.get('FUSION')!r}, not one of {', '.join(FUSIONS)}")
    if search.get("CHINESE_SEGMENTER") not in SEGMENTERS:
        problems.append(f"CHINESE_SEGMENTER is {search.get('CHINESE_SEGMENTER')!r}, not one of {', '.join(SEGMENTERS)}")
    numbers = {name: search.get(name) for name in ("KEYWORD_WEIGHT", "BM25_K1", "BM25_B", "PHRASE_BOOST", "RRF_K")}
    for name, value in numbers.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{name} is {value!r}, not a number")
    if not problems:
        if not 0 <= numbers["KEYWORD_WEIGHT"] <= 1:
            problems.append("KEYWORD_WEIGHT must be between 0 and 1")
        if not 0 <= numbers["BM25_B"] <= 1:
            problems.append("BM25_B must be between 0 and 1")
        if numbers["BM25_K1"] <= 0 or numbers["RRF_K"] <= 0 or numbers["PHRASE_BOOST"] < 0:
            problems.append("BM25_K1 and RRF_K must be above 0, PHRASE_BOOST 0 or more")
    weights = search.get("FIELD_WEIGHTS")
    if (
        not isinstance(weights, list | tuple)
        or not weights
        or not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in weights)
    ):
        problems.append(f"FIELD_WEIGHTS is {weights!r}, not a list of numbers 0 or more (one per text field)")
    return [
        checks.Error(f'SHOPAI["SEARCH"]: {problem}.', hint="Defaults and their meanings: shopai/conf.py.", id=E007)
        for problem in problems
    ]


@checks.register()
def check_recommendation_settings(app_configs=None, **kwargs):
    config = shopai_settings.RECOMMENDATIONS
    return [
        checks.Error(f'SHOPAI["RECOMMENDATIONS"]: {problem}', hint="Defaults: shopai/conf.py.", id="shopai.E009")
        for problem in override_errors({key: config[key] for key in TUNABLE if key in config})
    ]


@checks.register(checks.Tags.database)
def check_database(app_configs=None, databases=None, **kwargs):
    errors = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            errors.append(
                checks.Error(
                    f"Database {alias!r} is {connection.vendor}; shopai needs PostgreSQL with pgvector.",
                    id="shopai.E004",
                )
            )
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
                row = cursor.fetchone()
        except DatabaseError as exc:
            errors.append(checks.Error(f"Could not query database {alias!r}: {exc}", id="shopai.E005"))
            continue
        errors += _check_text_search_config(connection, alias)
        errors += _check_embedding_spaces(alias)
        if row is None:
            errors.append(
                checks.Error(
                    f"The pgvector extension is not available on database {alias!r}.",
                    hint="Install pgvector (e.g. the pgvector/pgvector Docker image) or unset DATABASE_URL "
                    "to use the embedded server.",
                    id="shopai.E005",
                )
            )
    return errors


def _check_embedding_spaces(alias: str) -> list:
    """Stored vectors against the configured models: a width that changed under the same name, and a
    default model with no complete index while another model's is complete (switched without reindex)."""
    try:
        with transaction.atomic(using=alias):
            spaces = {space.model_name: space for space in EmbeddingSpace.objects.using(alias)}
    except DatabaseError:
        return []  # not migrated yet: `migrate` comes first
    problems = []
    named: dict[str, str] = {}
    for backend_alias in shopai_settings.EMBEDDINGS:
        try:
            cls, config = backend_class("EMBEDDINGS", backend_alias)
            backend = cls(alias=backend_alias, config=config)
        except Exception:
            continue  # reported by check_embedding_backends
        named[backend_alias] = backend.name
        space = spaces.get(backend.name)
        if space and space.dimensions != int(backend.dimensions):
            problems.append(
                checks.Error(
                    f"Embedding model {backend.name!r} (alias {backend_alias!r}) is stored at {space.dimensions}-d "
                    f"but is configured for {backend.dimensions}-d.",
                    hint='Give the backend a new CONFIG "name" and run `manage.py shopai_reindex`, or set '
                    '"dimensions" to what the model gives.',
                    id="shopai.E012",
                )
            )
    default = named.get("default")
    fallbacks = [named[a] for a in shopai_settings.SEARCH.get("FALLBACK_EMBEDDINGS") or [] if a in named]
    complete = {name for name, space in spaces.items() if space.completed_at}
    if default and default not in complete and complete and not complete & set(fallbacks):
        problems.append(
            checks.Warning(
                f"The default embedding model {default!r} has not embedded every product yet, and search has no "
                "complete model to fall back on: products without its vectors are not found "
                "(vectors and keywords are stored per model). "
                f"Complete: {', '.join(sorted(complete))}.",
                hint="Run `manage.py shopai_reindex`; to keep search on the old model meanwhile, configure it as "
                'SHOPAI["EMBEDDINGS"]["previous"] (SEARCH["FALLBACK_EMBEDDINGS"]).',
                id="shopai.W005",
            )
        )
    return problems


@checks.register(checks.Tags.database)
def check_keyword_format(app_configs=None, databases=None, **kwargs):
    """Keyword indexes written before Chinese was cut the current way (SEARCH["CHINESE_SEGMENTER"]),
    e.g. the character pairs of earlier releases; ``migrate`` runs this check after an upgrade."""
    if DEFAULT_DB_ALIAS not in (databases or []):
        return []
    try:
        content_type = ContentType.objects.get_for_model(get_product_model(), for_concrete_model=False)
        with transaction.atomic():  # a savepoint: before migrate the table may not exist
            outdated = outdated_keywords(content_type=content_type, model_name=get_embedding_backend().name).count()
    except (DatabaseError, ImproperlyConfigured):
        return []
    if not outdated:
        return []
    return [
        checks.Warning(
            f"{outdated} products' keyword indexes were written with another Chinese segmentation than "
            f'SHOPAI["SEARCH"]["CHINESE_SEGMENTER"] = {shopai_settings.SEARCH.get("CHINESE_SEGMENTER")!r} '
            "(or none): keyword search finds them less well until they are rewritten.",
            hint=f"python manage.py shopai_reindex --keywords rewrites them now, without a model call; "
            f"otherwise the periodic sweep rewrites up to SWEEP_LIMIT ({shopai_settings.SWEEP_LIMIT}) a run.",
            id="shopai.W004",
        )
    ]


def _check_text_search_config(connection, alias: str) -> list:
    config = shopai_settings.SEARCH.get("TEXT_SEARCH_CONFIG")
    try:
        with transaction.atomic(using=alias), connection.cursor() as cursor:  # a savepoint: a failed cast is undone
            cursor.execute("SELECT %s::regconfig", [str(config)])
        return []
    except DatabaseError:
        pass
    return [
        checks.Error(
            f'SHOPAI["SEARCH"]["TEXT_SEARCH_CONFIG"] = {config!r} is not a text search configuration '
            f"of database {alias!r}: keyword search would fail.",
            hint="SELECT cfgname FROM pg_ts_config lists them (english, german, simple, ...).",
            id="shopai.E008",
        )
    ]


@checks.register()
def check_task_durability(app_configs=None, **kwargs):
    """A task that runs longer than the broker's visibility timeout is delivered to a second worker
    while the first still runs it (Redis and SQS brokers): every shopai task needs a time limit
    below that timeout."""
    conf = current_app.conf
    if not str(conf.broker_url or "").startswith(("redis", "rediss", "sqs")):
        return []
    visibility = float((conf.broker_transport_options or {}).get("visibility_timeout", 3600))
    unbounded, too_long = [], []
    for name, task in sorted(current_app.tasks.items()):
        if not name.startswith("shopai."):
            continue
        limit = getattr(task, "time_limit", None) or conf.task_time_limit
        if not limit:
            unbounded.append(name)
        elif float(limit) >= visibility:
            too_long.append(f"{name} ({limit:.0f} s)")
    problems = []
    if unbounded:
        problems.append(f"no time limit on {', '.join(unbounded)}")
    if too_long:
        problems.append(f"time limits not below the visibility timeout on {', '.join(too_long)}")
    if not problems:
        return []
    return [
        checks.Warning(
            f"The broker redelivers a task after {visibility:.0f} s (visibility_timeout): {'; '.join(problems)}.",
            hint='Raise CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] above the longest task, or lower '
            "the tasks' time limits (CELERY_TASK_TIME_LIMIT).",
            id="shopai.W003",
        )
    ]


@checks.register()
def check_handoff_notifications(app_configs=None, **kwargs):
    """Handoff notices reach staff, and cannot be read or forged on the way."""
    config = shopai_settings.section("ASSISTANT", "HANDOFF")
    warnings = []
    webhook = str(config["WEBHOOK"] or "")
    if webhook and not webhook.lower().startswith("https://") and not settings.DEBUG:
        warnings.append(
            checks.Warning(
                'ASSISTANT["HANDOFF"]["WEBHOOK"] is not an https:// URL: case notices and their signature '
                "travel unencrypted, and anyone on the way can replay them.",
                hint="Use the receiver's https:// address.",
                id="shopai.W006",
            )
        )
    if config["EMAILS"] and settings.DEFAULT_FROM_EMAIL == global_settings.DEFAULT_FROM_EMAIL:
        warnings.append(
            checks.Warning(
                f'ASSISTANT["HANDOFF"]["EMAILS"] is set, but DEFAULT_FROM_EMAIL is Django\'s default '
                f"{global_settings.DEFAULT_FROM_EMAIL!r}: mail servers refuse or file such mail as spam.",
                hint="Set DEFAULT_FROM_EMAIL to an address of the shop's own domain.",
                id="shopai.W006",
            )
        )
    secret_env = str(config["WEBHOOK_SECRET_ENV"] or "")
    if secret_env and not os.environ.get(secret_env):
        warnings.append(
            checks.Warning(
                f'ASSISTANT["HANDOFF"]["WEBHOOK_SECRET_ENV"] names {secret_env}, which is unset here: the webhook '
                "is sent without X-Shopai-Signature, and a receiver that verifies it rejects every notice.",
                hint=f"Set {secret_env} in the environment of the web processes and of the Celery workers "
                'that consume QUEUES["notifications"].',
                id="shopai.W006",
            )
        )
    return warnings


@checks.register()
def check_reply_writer(app_configs=None, **kwargs):
    """The reply writer's model gives up within the writer's TIMEOUT: a backend still retrying after it
    holds one of the writer's WORKERS slots for a reply nobody waits for."""
    config = shopai_settings.section("ASSISTANT", "REPLY_WRITER")
    alias = config["BACKEND"]
    if not alias:
        return []
    if alias not in shopai_settings.GENERATION:
        return [
            checks.Error(
                f'ASSISTANT["REPLY_WRITER"]["BACKEND"] = {alias!r} is no alias of SHOPAI["GENERATION"]: '
                "every reply would be the plain answer.",
                hint=f'Name an alias of SHOPAI["GENERATION"] ({", ".join(map(repr, shopai_settings.GENERATION))}), '
                'add the alias there, or set BACKEND to "" to turn the reply writer off.',
                id="shopai.E013",
            )
        ]
    try:
        deadline = float(config["TIMEOUT"])
    except (TypeError, ValueError):
        return []
    # GENERATION_BY_LANGUAGE wins over BACKEND: the writer may call other aliases for some languages.
    languages_of: dict[str, list[str]] = {alias: []}
    for language in config["LANGUAGES"] or []:
        try:
            routed = generation_alias(alias, language=language)
        except ImproperlyConfigured:
            continue  # shopai.E011
        languages_of.setdefault(routed, []).append(str(language))
    warnings = []
    for name, languages in languages_of.items():
        try:
            cls, backend_config = backend_class("GENERATION", name)
            timeout = float(backend_config.get("timeout", cls.default_timeout))
            tries = int(backend_config.get("max_retries", cls.default_max_retries)) + 1
        except (ImproperlyConfigured, AttributeError, TypeError, ValueError):
            continue  # not a generation backend shopai knows, or fails when first used (and says why)
        if timeout * tries <= deadline:
            continue
        routed_for = f" (it writes {', '.join(languages)} through GENERATION_BY_LANGUAGE)" if name != alias else ""
        warnings.append(
            checks.Warning(
                f'SHOPAI["GENERATION"][{name!r}]{routed_for} may take {timeout:g} s x {tries} tries = '
                f'{timeout * tries:g} s, longer than ASSISTANT["REPLY_WRITER"]["TIMEOUT"] ({deadline:g} s): the '
                "shopper gets the plain answer meanwhile, but the late rewrite keeps a writer slot busy, and "
                "rewrites are skipped while every slot is taken.",
                hint=f'Give the reply writer an alias of its own with CONFIG "max_retries": 0 and "timeout" of at '
                f"most {deadline:g}.",
                id="shopai.W007",
            )
        )
    return warnings
