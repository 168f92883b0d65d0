"""Run the example oscar shop with everything live: database ready, catalogue loaded and embedded,
a Celery worker (with beat) on shopai's queues, and the web server. Ctrl-C stops both.

    make oscar-demo          (or: .venv/bin/python examples/oscar_shop/run.py)
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PORT = os.environ.get("OSCAR_PORT", "8010")


def main() -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parents[1])])}
    env.setdefault("DJANGO_SETTINGS_MODULE", "oscar_shop.settings")
    manage = [sys.executable, str(HERE / "manage.py")]
    for step in (["migrate", "--noinput"], ["load_oscar_demo"], ["shopai_reindex"]):
        print(f"▶ manage.py {' '.join(step)}", flush=True)
        subprocess.run([*manage, *step], env=env, check=True, cwd=HERE)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "oscar_shop", "worker", "--beat", "--loglevel", "INFO",
         "-Q", "default,embeddings,generation", "--concurrency", "1"],
        env=env, cwd=HERE,
    )  # fmt: skip
    print(f"\n  Shop:      http://127.0.0.1:{PORT}/", flush=True)
    print(f"  Dashboard: http://127.0.0.1:{PORT}/dashboard/  (staff@example.com / staff-demo)", flush=True)
    print("  Shopper:   alice@example.com / shopper-demo\n", flush=True)
    try:
        return subprocess.run([*manage, "runserver", PORT], env=env, cwd=HERE).returncode
    except KeyboardInterrupt:
        return 0
    finally:
        worker.terminate()
        worker.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
