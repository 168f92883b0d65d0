"""Deployment defaults: servers start on production settings, `check --deploy` is clean, docs pages are local."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DATABASE_URL": "postgres://u:p@db:5432/shopai",
    "REDIS_URL": "redis://redis:6379/0",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
}


def _run(args: list[str], **variables: str) -> subprocess.CompletedProcess:
    """Run Python in the project root with only these variables of Django's and shopai's set."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "SHOPAI_")) and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**inherited, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _secret_key() -> str:
    return secrets.token_urlsafe(50)  # 67 characters, as `check --deploy` (W009) expects


def _warnings(result: subprocess.CompletedProcess) -> set[str]:
    output = result.stdout + result.stderr
    return {word.strip(":()") for word in output.split() if word.strip(":()").startswith("security.")}


# --- manage.py check --deploy ---------------------------------------------------------


def test_check_deploy_reports_no_issues_with_production_variables():
    result = _run(["manage.py", "check", "--deploy"], **PRODUCTION, DJANGO_SECRET_KEY=_secret_key())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_fails_without_a_secret_key():
    result = _run(["manage.py", "check", "--deploy"], **PRODUCTION)

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set DJANGO_SECRET_KEY in the environment" in result.stderr


def test_plain_http_opt_out_relaxes_only_the_https_warnings():
    plain_http = {**PRODUCTION, "DJANGO_SECRET_KEY": _secret_key(), "DJANGO_HTTPS": "false"}
    result = _run(["manage.py", "check", "--deploy"], **plain_http)

    # HSTS, the redirect and the two secure cookies; the rest of the deploy checks still pass.
    assert _warnings(result) == {"security.W004", "security.W008", "security.W012", "security.W016"}


def _production_setting(name: str, **variables: str) -> str:
    code = f"from django.conf import settings; print(repr(getattr(settings, {name!r}, None)))"
    script = f"import django; django.setup(); {code}"
    result = _run(["-c", script], **PRODUCTION, DJANGO_SECRET_KEY=_secret_key(), **variables)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_x_forwarded_proto_is_trusted_only_when_the_operator_says_the_proxy_sets_it():
    assert _production_setting("SECURE_PROXY_SSL_HEADER") == "None"
    trusted = _production_setting("SECURE_PROXY_SSL_HEADER", DJANGO_TRUST_X_FORWARDED_PROTO="true")
    assert trusted == "('HTTP_X_FORWARDED_PROTO', 'https')"


# --- WSGI and ASGI entry points -------------------------------------------------------


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_server_entry_point_without_settings_module_selects_production(module):
    script = f"import {module}; from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"
    variables = {name: value for name, value in PRODUCTION.items() if name != "DJANGO_SETTINGS_MODULE"}

    result = _run(["-c", script], **variables, DJANGO_SECRET_KEY=_secret_key())

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.production", "False"]


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_server_entry_point_refuses_to_start_without_a_secret_key(module):
    result = _run(["-c", f"import {module}"])

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set DJANGO_SECRET_KEY in the environment" in result.stderr


# --- API docs page --------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_api_docs_page_loads_swagger_ui_from_local_static_files(client, settings):
    response = client.get("/api/docs/")
    page = response.content.decode()
    links = _Links()
    links.feed(page)

    assert response.status_code == 200
    assert "cdn" not in page.lower() and "@latest" not in page
    assert len(links.urls) >= 4  # favicon, stylesheet, Swagger UI bundle and standalone preset
    static_url = "/" + settings.STATIC_URL.lstrip("/")
    for url in links.urls:
        assert url.startswith(static_url), url
        assert finders.find(url.removeprefix(static_url)), f"{url} is not an installed static file"
