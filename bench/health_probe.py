"""What GET /shopai/health/ costs: N requests through Django's test client in this process, against
the demo's database and Redis (config.settings.local, embedded servers); reads only.

    .venv/bin/python bench/health_probe.py [--requests 500] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.get("/shopai/health/")  # connections opened once, as in a running server
    seconds = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/shopai/health/")
        seconds.append(time.perf_counter() - started)
    ms = sorted(1000 * s for s in seconds)
    result = {
        "requests": args.requests,
        "status": response.status_code,
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
