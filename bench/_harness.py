"""The benchmarks' shared harness: what more than one script in bench/ needs, so that no benchmark
script imports another.

- environment: a database of the benchmark's own on the embedded PostgreSQL server, a private Redis
  (cache, throttle counters and Celery broker) and a settings module with the read API's throttles
  raised (``prepare_environment``, ``recreate_database``, ``setup_and_run``, ``stop_private_redis``);
- the server runner: ``gunicorn config.wsgi:application`` on a free port (``Server``);
- CPU metering from ``/proc``: cores busy in the server, in this client and elsewhere (``CpuMeter``);
- HTTP helpers: ``get_json``, ``log_in`` (Django's login form), ``search_url``, and the read API's
  workload shared by ask_latency and api_load (``SEARCH_QUERIES``, ``SHOPPERS``);
- queue helpers: ``queued_messages``, ``purge_queues`` (tasks nobody consumes on the private Redis);
- summaries: ``summarise`` (latency percentiles);
- code state: ``code_state`` (the commit measured and the files changed on top of it).

Standard library only at import time: Django, redis, psycopg and numpy are imported where used,
after ``prepare_environment`` has pointed the environment at the benchmark's database.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import _env  # bench/ is on sys.path: the running script's folder, or put there by its importers

REPO = Path(__file__).resolve().parents[1]
BENCH_DATABASE = "shopai_bench"  # ask_latency's and reindex_throughput's; others pass a name of their own
SETTINGS_MODULE = "shopai_ask_bench_settings"  # written into the run's temporary folder
RAISED_RATE = "100000/minute"  # the shipped 30/minute per IP for ask would turn most requests into 429s
# Shipped: search and recommendations 120/minute per user or IP; raised like ask.
RAISED_RATES = {"ask": RAISED_RATE, "search": RAISED_RATE, "recommendations": RAISED_RATE}
WORKERS, THREADS = 1, 2
REQUEST_TIMEOUT = 120.0
ASK_PATH = "/api/shopai/ask"
SEARCH_PATH = "/api/shopai/search"
RECOMMENDATIONS_PATH = "/api/shopai/recommendations"
LOGIN_PATH = "/accounts/login/"
SEARCH_K = 10
RECOMMENDATIONS_K = 10
EMBEDDING_QUEUES = ("default", "embeddings", "generation")

# (category, query, extra filters) for GET /api/shopai/search?mode=hybrid&k=10. Written for the benchmarks
# (ask_latency, api_load); nothing is read from eval/.
SEARCH_QUERIES: list[tuple[str, str, dict[str, str]]] = [
    ("en", "waterproof jacket for hiking", {}),
    ("en", "lightweight rain jacket", {}),
    ("en", "tent for two people", {}),
    ("en", "wireless noise cancelling headphones", {}),
    ("en", "bluetooth speaker for the beach", {}),
    ("en", "cast iron pot for induction", {}),
    ("en", "rice cooker", {}),
    ("en", "ergonomic keyboard for the office", {}),
    ("en", "moisturiser for dry skin", {}),
    ("en", "sunscreen", {}),
    ("en", "gift for a coffee lover", {}),
    ("en", "running shoes", {}),
    ("en", "kids picture book", {}),
    ("en", "olive oil", {}),
    ("en", "garden tools", {}),
    ("en", "smart watch with heart rate", {}),
    ("zh", "冲锋衣", {}),
    ("zh", "防水登山鞋", {}),
    ("zh", "无线耳机", {}),
    ("zh", "电饭煲", {}),
    ("zh", "帐篷", {}),
    ("zh", "护肤品 保湿", {}),
    ("zh", "零食 礼盒", {}),
    ("zh", "机械键盘", {}),
    ("filtered", "waterproof jacket", {"in_stock": "true"}),
    ("filtered", "headphones", {"max_price": "100"}),
    ("filtered", "camping gear", {"in_stock": "true", "max_price": "100"}),
    ("filtered", "sofa", {"min_price": "200"}),
    ("filtered", "冲锋衣", {"in_stock": "true"}),
    ("filtered", "耳机", {"max_price": "100"}),
]
# Shoppers of store/management/commands/load_demo.py (password in store/demo_accounts.py); None: anonymous.
SHOPPERS: list[str | None] = ["alice", "bob", "carmen", "chenwei", None]

# --- environment: database, Redis, settings --------------------------------------------


def prepare_environment(
    workdir: Path, *, database: str, settings_module: str = SETTINGS_MODULE, embeddings: str = "demo"
) -> dict[str, str]:
    """Env shared by this process and gunicorn; set before anything imports Django settings.

    ``database``: the benchmark's own database on the embedded server; ``settings_module``: the name
    of the settings file written into ``workdir``. ``embeddings``: "demo" keeps the demo shop's
    product model (multilingual-e5), "shopai" puts shopai's default (MiniLM, ONNX int8) in its place.
    """
    _env.use_own_database(database, doing="drops and rebuilds its database")
    rates = ", ".join(f'"{scope}": "{rate}"' for scope, rate in RAISED_RATES.items())
    (workdir / f"{settings_module}.py").write_text(
        '"""Written by bench/_harness.py: local settings with the ask, search and recommendations throttles '
        'raised."""\n\n'
        "from config.settings.local import *  # noqa: F403\n\n"
        f'SHOPAI = {{**SHOPAI, "THROTTLE_RATES": {{**SHOPAI.get("THROTTLE_RATES", {{}}), {rates}}}}}'
        "  # noqa: F405\n"
        + (
            "\nfrom shopai.conf import DEFAULTS  # noqa: E402\n\n"
            'SHOPAI["EMBEDDINGS"] = {**SHOPAI["EMBEDDINGS"], "default": DEFAULTS["EMBEDDINGS"]["default"]}\n'
            if embeddings == "shopai"
            else ""
        ),
        encoding="utf-8",
    )
    redis_dir = workdir / "redis"
    env = {
        "SHOPAI_DATABASE_NAME": database,  # read by config/embedded.py when it is first imported
        "REDIS_URL": f"unix://{redis_dir / 'redis.sock'}",  # private: cache, throttle and broker
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DJANGO_DEBUG": "0",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    os.environ.update(env)  # before the first import of config.embedded, or it picks the demo database
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(workdir))
    from config import embedded

    if embedded.DATABASE_NAME != database:
        raise RuntimeError(f"config.embedded was imported too early: it uses {embedded.DATABASE_NAME!r}")
    embedded.spawn_redis(redis_dir / "redis.sock", redis_dir)
    return env


def stop_private_redis(redis_dir: Path) -> None:
    """Shut down the private Redis started in ``redis_dir`` (nothing to do when it never started)."""
    if not (redis_dir / "redis.sock").exists():
        return
    import redis

    with contextlib.suppress(redis.RedisError, OSError):
        redis.Redis(unix_socket_path=str(redis_dir / "redis.sock")).shutdown(nosave=True)


def recreate_database(database: str) -> None:
    """Drop ``database`` (e.g. ``shopai_bench``, where other benchmarks leave other catalogues) and create it
    empty."""
    import psycopg
    from psycopg import sql

    from config.embedded import start_postgres

    print(f"Recreating database {database!r} on the embedded server", flush=True)
    socket_dir = start_postgres(database=None)
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        except psycopg.errors.ObjectInUse as exc:
            raise SystemExit(
                f"Database {database!r} is in use (another benchmark running?); try again when it ends."
            ) from exc
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def setup_and_run(steps: list[tuple[str, tuple, dict]], *, database: str) -> dict[str, float]:
    """Set Django up, make sure it uses ``database`` and the private Redis, then run the
    management commands ``(name, args, options)``; returns each one's seconds."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if (
        settings.DATABASES["default"]["NAME"] != database
        or settings.CACHES["default"]["LOCATION"] != os.environ["REDIS_URL"]
    ):
        raise RuntimeError("Django is not pointed at the bench database and the private Redis; stopping.")
    seconds: dict[str, float] = {}
    for name, args, options in steps:
        print(f"\n$ manage.py {name} {' '.join(args)}".rstrip(), flush=True)
        started = time.perf_counter()
        call_command(name, *args, **options)
        seconds[name] = round(time.perf_counter() - started, 2)
    return seconds


# --- gunicorn ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``gunicorn config.wsgi:application`` on 127.0.0.1 (``WORKERS`` x ``THREADS``, gthread), in a session of
    its own, with the environment ``prepare_environment`` set; its log in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log_path = workdir / "gunicorn.log"
        self.argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),  # > 1 thread: gunicorn's gthread worker
            "--timeout",
            "180",  # the first request loads the models
            "--chdir",
            str(REPO),
        ]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start gunicorn and wait until its worker answers (a GET on the ask URL: 405, no model)."""
        started = time.perf_counter()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.argv, cwd=REPO, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + ASK_PATH, timeout=5):
                    pass
            except urllib.error.HTTPError:
                return time.perf_counter() - started  # any HTTP answer: Django is up in the worker
            except OSError:
                time.sleep(0.2)
                continue
            return time.perf_counter() - started
        raise RuntimeError(f"gunicorn did not answer within 120 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: master stops its worker
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only gunicorn's processes
            self.process.wait(timeout=10)

    def pids(self) -> list[int]:
        return [self.process.pid, *children_of(self.process.pid)] if self.process else []

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]


# --- CPU accounting (Linux /proc): is anything else competing for the cores? ----------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of one process (all its threads); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text(errors="replace").rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


class CpuMeter:
    """Cores used while a level runs: gunicorn (master + workers), this client, and the whole machine."""

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids

    def __enter__(self) -> CpuMeter:
        self.started = time.perf_counter()
        self.machine = machine_busy_seconds()
        self.server = sum(map(process_cpu_seconds, self.server_pids))
        self.client = process_cpu_seconds(os.getpid())
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self.started
        machine = (machine_busy_seconds() - self.machine) / wall
        server = (sum(map(process_cpu_seconds, self.server_pids)) - self.server) / wall
        client = (process_cpu_seconds(os.getpid()) - self.client) / wall
        self.result = {
            "machine_cores_busy": round(machine, 2),
            "gunicorn_cores": round(server, 2),
            "client_cores": round(client, 2),
            # PostgreSQL and Redis work for the server too; the rest is someone else's.
            "other_cores": round(machine - server - client, 2),
        }


# --- HTTP client ------------------------------------------------------------------------------


def summarise(seconds: list[float]) -> dict[str, float]:
    import numpy as np

    if not seconds:
        return {}
    ms = np.asarray(seconds) * 1000.0
    return {
        "mean_ms": round(float(ms.mean()), 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "min_ms": round(float(ms.min()), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def get_json(url: str, opener: urllib.request.OpenerDirector | None = None) -> dict:
    """One GET (with a shopper's cookies when ``opener`` has them); latency covers connect, request, the
    whole response and JSON decoding."""
    return timed_json(urllib.request.Request(url, headers={"Accept": "application/json"}), opener)


def timed_json(request: urllib.request.Request, opener: urllib.request.OpenerDirector | None = None) -> dict:
    """Send ``request`` and read its JSON answer: {"seconds", "status", "payload"}; errors are results too."""
    started = time.perf_counter()
    try:
        with (opener.open if opener else urllib.request.urlopen)(request, timeout=REQUEST_TIMEOUT) as response:
            payload = json.loads(response.read())
            status = response.status
    except urllib.error.HTTPError as exc:
        payload, status = {"error": exc.read()[:300].decode(errors="replace")}, exc.code
    except OSError as exc:
        payload, status = {"error": repr(exc)}, 0
    return {"seconds": time.perf_counter() - started, "status": status, "payload": payload}


def log_in(base_url: str, username: str) -> urllib.request.OpenerDirector:
    """Sign in through Django's login form (CSRF cookie + token); the opener keeps the session cookie."""

    from store.demo_accounts import SHOPPER_PASSWORD

    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + LOGIN_PATH, timeout=30) as response:
        page = response.read().decode("utf-8", errors="replace")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise RuntimeError(f"no CSRF token in {LOGIN_PATH}")
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "username": username, "password": SHOPPER_PASSWORD, "next": "/"}
    ).encode()
    request = urllib.request.Request(
        base_url + LOGIN_PATH,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": base_url + LOGIN_PATH},
        method="POST",
    )
    with opener.open(request, timeout=30) as response:  # follows the redirect to the shop on success
        response.read()
    if not any(cookie.name == "sessionid" for cookie in jar):
        raise RuntimeError(f"logging in as {username!r} failed (no session cookie)")
    return opener


def search_url(base_url: str, query: str, filters: dict[str, str]) -> str:
    params = {"q": query, "mode": "hybrid", "k": str(SEARCH_K), **filters}
    return f"{base_url}{SEARCH_PATH}?{urllib.parse.urlencode(params)}"


# --- queues of the private Redis ----------------------------------------------------------------


def setup_django(redis_dir: Path, *, database: str = BENCH_DATABASE) -> None:
    """Django in this process, on ``database`` and a private Redis; nothing may import settings before this."""
    _env.use_own_database(database, doing="deletes every product in its database")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # A private Redis: the import enqueues embedding tasks, and the shared embedded Redis is
    # also the broker of the demo's worker and of test runs, whose queues must not be purged.
    from config.embedded import spawn_redis

    socket_path = redis_dir / "redis.sock"
    spawn_redis(socket_path, redis_dir)
    os.environ["REDIS_URL"] = f"unix://{socket_path}"

    import django

    django.setup()


def reset_catalogue() -> None:
    """Empty the bench database's shop: orders, products, categories and their vectors."""
    from shopai.models import ProductEmbedding
    from store.models import Category, Order, OrderItem, Product, ProductView

    OrderItem.objects.all().delete()
    Order.objects.all().delete()
    ProductView.objects.all().delete()
    ProductEmbedding.objects.all().delete()
    Product.objects.all().delete()
    Category.objects.all().delete()


def queued_messages() -> int:
    """Messages waiting in the worker's queues (kombu keeps a Redis list per queue and priority)."""
    from config.celery_app import app

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        return sum(client.llen(key) for key in client.keys("*") if key.decode().split("\x06")[0] in EMBEDDING_QUEUES)


def purge_queues() -> int:
    """Drop the tasks the imports enqueued: no worker listens on the private Redis."""
    from config.celery_app import app

    # Not app.control.purge(): it only empties the queues the app consumes from, which is
    # CELERY_TASK_DEFAULT_QUEUE alone, because the project declares no CELERY_TASK_QUEUES.
    with app.connection_for_write() as connection:
        return sum(connection.default_channel.queue_purge(queue) or 0 for queue in EMBEDDING_QUEUES)


# --- code state ---------------------------------------------------------------------------------


def code_state() -> dict:
    """The commit measured, and tracked files changed on top of it (the numbers are for that tree)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = git("status", "--porcelain", "--untracked-files=no")
    modified = [line[3:] for line in changed.splitlines() if line.strip()]  # "XY path"
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "modified": modified}
