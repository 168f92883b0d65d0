"""`make demo`: services, migrations, demo data, search index, then web server + Celery worker.

Ctrl-C stops the web server and the worker, then the embedded PostgreSQL and
Redis (servers given by DATABASE_URL / REDIS_URL are left alone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from store.demo_accounts import ADMIN_PASSWORD, ADMIN_USERNAME, SHOPPER_PASSWORD

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = os.environ.get("DEMO_HOST", "127.0.0.1")
PORT = os.environ.get("DEMO_PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True)


# One worker on every queue (one process: the demo's machine is small), and beat in a process of
# its own: a worker killed with its beat inside leaves the beat orphaned and still sending, and a
# shop runs exactly one beat whatever its workers.
WORKER_COMMAND = [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                  "--queues", "default,embeddings,generation", "--concurrency", "1"]  # fmt: skip
BEAT_COMMAND = [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                "--schedule", str(BASE_DIR / ".data" / "celerybeat-schedule")]  # fmt: skip


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    embedded = not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL")
    print("▶ Starting services and applying migrations…", flush=True)
    manage("migrate", "--noinput", "-v", "0")
    manage("load_demo")
    print("▶ Building the search index (only products not yet embedded)…", flush=True)
    manage("shopai_reindex")
    # The demo shoppers' imported history becomes interest profiles once products have vectors.
    manage("shopai_rebuild_profiles", "--no-progress")
    print("▶ Loading the FAQ knowledge base and the assistant's intent classifier…", flush=True)
    manage("shopai_import_faq", str(BASE_DIR / "store" / "demo_data" / "faqs.json"))
    manage("shopai_train_intents")
    print("▶ A month of demo shopper activity for the AI insights pages (once)…", flush=True)
    manage("demo_traffic")

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children: list[subprocess.Popen] = []
    try:
        children.append(subprocess.Popen(WORKER_COMMAND, cwd=BASE_DIR))
        children.append(subprocess.Popen(BEAT_COMMAND, cwd=BASE_DIR))
        children.append(
            subprocess.Popen([PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"], cwd=BASE_DIR)
        )
        print(
            "\n"
            f"  Shop:     http://{HOST}:{PORT}/\n"
            f"  Admin:    http://{HOST}:{PORT}/admin/   login {ADMIN_USERNAME} / {ADMIN_PASSWORD}\n"
            f"  Shoppers: alice, bob, carmen, chenwei / {SHOPPER_PASSWORD}\n"
            f"  API:      http://{HOST}:{PORT}/api/shopai/search?q=waterproof+jacket+for+hiking\n"
            f"  Schema:   http://{HOST}:{PORT}/api/schema/\n"
            "  Web server, Celery worker and beat are running. Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        print("\n▶ Stopping web server, worker and beat…", flush=True)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded:
            print("▶ Stopping embedded PostgreSQL and Redis…", flush=True)
            subprocess.run([PYTHON, "-m", "config.embedded", "stop"], cwd=BASE_DIR, check=False)
        print("Stopped.", flush=True)
    crashed = not stopping and any(child.returncode not in (0, -signal.SIGTERM) for child in children)
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
