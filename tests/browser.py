"""Browser tests drive Debian's Chromium through Playwright (never a downloaded browser).

A test module calls ``require_browser(what)`` at import, which skips it without the browser or
Playwright, and opens pages with ``chromium_page(...)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def require_browser(what: str):
    """Playwright's sync API, or skip the calling module (``what`` says which test needs it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{what} drives the system's Chromium, and {CHROMIUM} is missing", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason=f"{what} needs `pip install playwright`")


@contextlib.contextmanager
def chromium_page(monkeypatch, *, locale: str, height: int = 800, cookies: list[dict] | None = None) -> Iterator:
    """A fresh page in a headless Chromium with this locale (Accept-Language and navigator.language)."""
    from playwright import sync_api

    # Playwright's sync API keeps an event loop running in this thread. The ORM checks a test makes
    # between browser steps are plain synchronous code all the same, but Django then keeps their
    # connection per context rather than per thread: closed here, or it outlives the test and blocks
    # dropping the test database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": height}, locale=locale)
            if cookies:
                context.add_cookies(cookies)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()
            connections.close_all()
