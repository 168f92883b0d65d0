"""Walk a campaign through a running demo shop (`make demo`) in a real browser, with its Celery worker and
local model: build a rule segment in admin, have its campaign written, review the guard's flags, approve,
send (the demo writes mails to .data/mail), open the mail's product link as the shopper, and see the click
counted. Screenshots go to docs/, timings to stdout.

    make demo                         # in another terminal
    .venv/bin/python bench/campaign_walkthrough.py [--url http://127.0.0.1:8000] [--mail-dir .data/mail]
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
SEGMENT = f"Outdoor fans ({time.strftime('%H:%M:%S')})"


def _wait(what: str, check, timeout: float) -> float:
    started = time.perf_counter()
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise SystemExit(f"{what}: not done within {timeout:.0f} s; is `make demo` (its worker) running?")
        time.sleep(1)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--mail-dir", type=Path, default=REPO / ".data" / "mail")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--timeout", type=int, default=300, help="Seconds to wait for the worker.")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    before = set(args.mail_dir.glob("*.log")) if args.mail_dir.exists() else set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{args.url}/admin/login/")
        page.fill("#id_username", ADMIN_USERNAME)
        page.fill("#id_password", ADMIN_PASSWORD)
        page.get_by_role("button", name=re.compile("log in", re.I)).click()

        page.goto(f"{args.url}/admin/shopai/segment/add/")
        page.fill("#id_name", SEGMENT)
        page.fill("#id_rule", '{"category": "Outdoor", "kind": "view"}')
        page.get_by_role("button", name="Save", exact=True).click()
        print("segment:", page.locator(".messagelist").inner_text().strip())
        page.goto(f"{args.url}/admin/shopai/segment/")
        page.locator("#result_list tbody tr", has_text=SEGMENT).first.locator('input[name="_selected_action"]').check()
        page.locator('select[name="action"]').select_option("write_campaign")
        page.get_by_role("button", name="Go").click()

        def campaign_written() -> bool:
            page.goto(f"{args.url}/admin/shopai/campaign/")
            return page.locator("#result_list tbody tr", has_text=SEGMENT).count() > 0

        seconds = _wait("writing the campaign", campaign_written, args.timeout)
        print(f"campaign written by the worker in {seconds:.1f} s (queue, model load, generation)")
        page.locator("#result_list tbody tr", has_text=SEGMENT).first.locator("th a").click()
        print("grounding guard:", " ".join(page.locator(".field-guard").inner_text().split())[:300])
        page.screenshot(path=str(args.out / "campaign_review.png"), full_page=True)
        if "flag" in page.locator(".field-guard").inner_text():
            page.fill("#id_override_reason", "Edited and checked by the marketing lead.")
            page.get_by_role("button", name="Save and continue editing").click()
        change_url = page.url
        page.goto(f"{args.url}/admin/shopai/campaign/")
        row = page.locator("#result_list tbody tr", has_text=SEGMENT).first
        for action in ("approve", "send"):
            row.locator('input[name="_selected_action"]').check()
            page.locator('select[name="action"]').select_option(action)
            page.get_by_role("button", name="Go").click()
            print(f"{action}:", page.locator(".messagelist").inner_text().strip()[:200])
            row = page.locator("#result_list tbody tr", has_text=SEGMENT).first

        def mailed() -> bool:
            return args.mail_dir.exists() and bool(set(args.mail_dir.glob("*.log")) - before)

        seconds = _wait("sending", mailed, args.timeout)
        (mail_file,) = sorted(set(args.mail_dir.glob("*.log")) - before)[:1]
        mail = mail_file.read_text(encoding="utf-8")
        print(f"mail written by the worker in {seconds:.1f} s: {mail_file.name}")
        link = re.search(r"https?://\S+/shopai/m/\S+", mail).group(0)
        page.goto(link)  # the shopper follows the product link in their mail
        print("the link led to", page.url)
        page.goto(change_url)
        expect(page.locator(".field-delivery")).to_contain_text("clicked: 1")
        print("delivery:", " ".join(page.locator(".field-delivery").inner_text().split()))
        page.screenshot(path=str(args.out / "campaign_sent.png"), full_page=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
