"""Walk the marketing studio on a running demo shop (`make demo`) in a real browser, with the real
worker and model: generate a description for one product in admin, wait for the Celery job, review
the draft and its grounding flags, approve, publish, and open the product page. Screenshots go to
docs/, timings to stdout.

    make demo                         # in another terminal
    .venv/bin/python bench/studio_walkthrough.py [--url http://127.0.0.1:8000] [--sku OUT-JKT-001]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--sku", default="OUT-JKT-001")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--timeout", type=int, default=300, help="Seconds to wait for the worker.")
    parser.add_argument("--prefix", default="studio", help="Screenshot names: PREFIX_generate.png, …")
    parser.add_argument("--tone", default="premium")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{args.url}/admin/login/")
        page.fill("#id_username", ADMIN_USERNAME)
        page.fill("#id_password", ADMIN_PASSWORD)
        page.get_by_role("button", name=re.compile("log in", re.I)).click()

        page.goto(f"{args.url}/admin/store/product/?q={args.sku}")
        page.locator('input[name="_selected_action"]').first.check()
        page.locator('select[name="action"]').select_option("shopai_generate_copy")
        page.get_by_role("button", name="Go").click()
        page.locator('select[name="tone"]').select_option(args.tone)
        page.locator('select[name="length"]').select_option("short")
        page.locator('input[name="keywords"]').fill("waterproof, pit zips")
        page.screenshot(path=str(args.out / f"{args.prefix}_generate.png"), full_page=True)
        started = time.perf_counter()
        page.get_by_role("button", name="Generate drafts").click()

        job_url = page.url
        deadline = time.time() + args.timeout
        while "1 / 1" not in page.locator(".field-progress_bar").inner_text():
            if time.time() > deadline:
                print("The worker did not finish the job in time; is `make demo` running?")
                return 1
            time.sleep(1)
            page.goto(job_url)
        print(f"job done by the Celery worker in {time.perf_counter() - started:.1f} s (queue, model load, generation)")

        page.get_by_role("link", name=re.compile("description of product")).first.click()
        guard = page.locator(".field-guard").inner_text()
        print("grounding guard:", " ".join(guard.split()))
        print("draft:", page.locator(".field-marked_text .readonly").inner_text())
        page.screenshot(path=str(args.out / f"{args.prefix}_draft.png"), full_page=True)
        if "flag" in guard:
            page.fill('textarea[name="override_reason"]', "Checked against the supplier sheet by staff.")
            page.get_by_role("button", name="Save", exact=True).click()
        page.goto(f"{args.url}/admin/shopai/generatedcopy/")
        for action in ("approve", "publish"):
            page.locator('input[name="_selected_action"]').first.check()
            page.locator('select[name="action"]').select_option(action)
            page.get_by_role("button", name="Go").click()
            expect(page.locator(".messagelist")).to_contain_text("1 draft(s)")

        page.goto(f"{args.url}/admin/store/product/?q={args.sku}")
        href = page.locator("#result_list tbody tr a").first.get_attribute("href")
        product_id = re.search(r"/product/(\d+)/", href).group(1)
        page.goto(f"{args.url}/product/{product_id}/")
        print("product page:", page.locator("p.description").inner_text()[:200])
        page.screenshot(path=str(args.out / f"{args.prefix}_published.png"), full_page=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
