"""Open each "AI insights" page of a running demo shop (`make demo`) in a real browser as its admin,
check it shows charts, and save screenshots to docs/ (docs/insights.md shows them); page times to stdout.

    make demo                         # in another terminal (it generates a month of demo traffic once)
    .venv/bin/python bench/insights_walkthrough.py [--url http://127.0.0.1:8000] [--out docs]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from store.demo_accounts import ADMIN_PASSWORD, ADMIN_USERNAME  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PAGES = ["", "assistant/", "search/", "recommendations/", "experiments/"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        page.goto(f"{args.url}/admin/login/")
        page.fill("#id_username", ADMIN_USERNAME)
        page.fill("#id_password", ADMIN_PASSWORD)
        page.get_by_role("button", name=re.compile("log in", re.I)).click()
        for path in PAGES:
            started = time.perf_counter()
            page.goto(f"{args.url}/admin/shopai/insight/{path}?days={args.days}")
            seconds = time.perf_counter() - started
            expect(page.locator("figure.shopai-chart svg").first).to_be_visible()
            charts = page.locator("figure.shopai-chart svg").count()
            name = path.strip("/") or "overview"
            page.screenshot(path=str(args.out / f"insights_{name}.png"), full_page=True)
            print(f"{name:16} {charts} charts, page in {seconds:.2f} s")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
