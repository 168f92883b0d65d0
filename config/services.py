"""Database and Redis settings from the environment, with embedded fallbacks.

Kept free of Django imports so that it can be unit-tested with plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

EMBEDDED_ENGINE = "config.embedded_postgres"


def database_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """``DATABASES['default']`` from DATABASE_URL, or the embedded server."""
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        import dj_database_url

        scheme = urlsplit(url).scheme
        if scheme not in {"postgres", "postgresql", "pgsql", "postgis"}:
            raise ValueError(
                f"DATABASE_URL must point at PostgreSQL with pgvector (got scheme {scheme!r}); "
                "shopai has no SQLite or MySQL mode."
            )
        config = dj_database_url.parse(url, conn_max_age=int(environ.get("DATABASE_CONN_MAX_AGE", "60")))
        config["ENGINE"] = "django.db.backends.postgresql"
        return config
    from config.embedded import DATABASE_NAME

    return {
        "ENGINE": EMBEDDED_ENGINE,
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": "",  # the socket directory is filled in when the server starts
        "PORT": "",
        "CONN_MAX_AGE": 60,
    }


def redis_urls(environ: Mapping[str, str], *, start_embedded=None) -> dict[str, str]:
    """URLs for the cache (redis-py form) and the Celery broker (kombu form).

    ``start_embedded`` returns the socket path of an embedded server; it is only
    called when REDIS_URL is not set.
    """
    url = environ.get("REDIS_URL", "").strip()
    if url:
        scheme = urlsplit(url).scheme
        if scheme not in {"redis", "rediss", "unix"}:
            raise ValueError(f"REDIS_URL must start with redis://, rediss:// or unix:// (got {url!r}).")
        if scheme == "unix":
            parts = urlsplit(url)
            db = parse_qs(parts.query).get("db", [""])[0]
            broker = f"redis+socket://{parts.path}" + (f"?virtual_host={db}" if db else "")
            return {"cache": url, "broker": broker}
        return {"cache": url, "broker": url}
    if start_embedded is None:
        from config.embedded import start_redis as start_embedded
    socket_path = start_embedded()
    return {"cache": f"unix://{socket_path}", "broker": f"redis+socket://{socket_path}"}
