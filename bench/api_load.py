"""Throughput and latency of shopai's read API under concurrent clients, and under a background reindex.

Serves the demo shop with gunicorn exactly as bench/ask_latency.py does (bench/_harness.py's
``Server``: 1 worker x 2 threads, DEBUG off, throttles raised) from a database of its own,
``shopai_bench_load`` on the embedded PostgreSQL server (dropped and rebuilt each run: migrate,
load_demo, shopai_reindex, shopai_rebuild_profiles), with a private Redis. Products and queries are
embedded with shopai's default backend (MiniLM on ONNX Runtime, int8; ``EMBEDDINGS = "demo"`` below for
the demo's e5).
Then, for each endpoint and concurrency level (1, 4, 8 client threads), client threads send requests
back to back for a fixed time:

- ``search``: ``GET /api/shopai/search?mode=hybrid&k=10``, the harness's 30 queries, also ask_latency's
  (English, Chinese, with in_stock / price filters);
- ``recommendations_anonymous`` and ``recommendations_signed_in`` (alice, bob, carmen, chenwei, signed in
  through the login form): ``GET /api/shopai/recommendations?k=10``;
- ``similar``: ``GET /api/shopai/products/<id>/similar?k=6`` for 24 products spread over the catalogue.

Last, the concurrency-4 search run is repeated twice for the same time: without write load, then while
``manage.py shopai_reindex --all`` re-embeds the catalogue in the background (started again whenever it
finishes, stopped at the end of the window), to show what a bulk re-embed does to shoppers' searches.

The client is urllib with a new connection per request (the harness's ``get_json``), in this process,
on the same 2-core machine as the server: its CPU share is reported with each level.

    .venv/bin/python bench/api_load.py [--quick] [--out FILE.json]      (or: make bench, via bench/run.py)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _harness import (  # noqa: E402  (standard library only at import time)
    RECOMMENDATIONS_K,
    RECOMMENDATIONS_PATH,
    SEARCH_QUERIES,
    SHOPPERS,
    THREADS,
    WORKERS,
    CpuMeter,
    Server,
    code_state,
    get_json,
    log_in,
    prepare_environment,
    process_cpu_seconds,
    purge_queues,
    recreate_database,
    search_url,
    setup_and_run,
    stop_private_redis,
    summarise,
)

DATABASE = "shopai_bench_load"
EMBEDDINGS = "shopai"  # the product/query model: shopai's default, or "demo" (the demo shop's multilingual-e5)
ENDPOINTS = ("search", "recommendations_anonymous", "recommendations_signed_in", "similar")
LEVELS = (1, 4, 8)
SIMILAR_PRODUCTS = 24
SIMILAR_K = 6
WARMUP_REQUESTS = 5
LEAD_IN_CPU_SECONDS = 3.0  # start-up (Django set up, model loaded) takes about 1 CPU-second
DURATIONS = {  # seconds: quick, full
    "level": (5.0, 30.0),
    "write_window": (20.0, 60.0),  # per state (reindex paused / running), split into segments
    "write_segments": (2, 6),
}


# --- environment ------------------------------------------------------------------------------


def prepare(workdir: Path) -> dict:
    """Database ``shopai_bench_load`` with the demo shop embedded, a private Redis; Django set up."""
    prepare_environment(workdir, database=DATABASE, embeddings=EMBEDDINGS)
    recreate_database(DATABASE)

    seconds = setup_and_run(
        [
            ("migrate", (), {"interactive": False, "verbosity": 0}),
            ("load_demo", (), {}),
            ("shopai_reindex", (), {"no_progress": True}),
            ("shopai_rebuild_profiles", (), {"no_progress": True}),
        ],
        database=DATABASE,
    )
    purge_queues()  # load_demo's saves enqueued tasks; no worker runs here

    from django.db import connections

    from shopai.adapters import get_product_adapter

    pks = list(get_product_adapter().get_searchable_queryset().order_by("pk").values_list("pk", flat=True))
    step = max(1, len(pks) // SIMILAR_PRODUCTS)
    similar_ids = [str(pk) for pk in pks[::step][:SIMILAR_PRODUCTS]]
    connections.close_all()  # no idle connection of ours while the server is measured
    return {"setup_seconds": seconds, "products": len(pks), "similar_ids": similar_ids}


# --- load generator ---------------------------------------------------------------------------


def plan(endpoint: str, base_url: str, openers: dict, similar_ids: list[str]) -> list[tuple[str, str, object]]:
    """(category, url, opener) of each request kind, sent in this order, repeated."""
    if endpoint == "search":
        return [(category, search_url(base_url, query, filters), None) for category, query, filters in SEARCH_QUERIES]
    if endpoint.startswith("recommendations"):
        url = f"{base_url}{RECOMMENDATIONS_PATH}?k={RECOMMENDATIONS_K}"
        if endpoint.endswith("anonymous"):
            return [("anonymous", url, None)]
        return [(name, url, opener) for name, opener in openers.items()]
    return [("product", f"{base_url}/api/shopai/products/{pk}/similar?k={SIMILAR_K}", None) for pk in similar_ids]


def drive(items: list, server, concurrency: int, duration: float, label: str, keep_latencies: bool = False) -> dict:
    """``concurrency`` threads send requests back to back until ``duration`` has passed (closed loop)."""
    print(f"{label}: concurrency {concurrency}, {duration:.0f} s", flush=True)
    counter = itertools.count()
    outcomes: list[list] = [[] for _ in range(concurrency)]

    def client(slot: int, deadline: float) -> None:
        while time.perf_counter() < deadline:
            category, url, opener = items[next(counter) % len(items)]
            outcome = get_json(url, opener)
            outcomes[slot].append((category, outcome["seconds"], outcome["status"], outcome["payload"]))

    with CpuMeter(server.pids()) as cpu:
        started = time.perf_counter()
        threads = [
            threading.Thread(target=client, args=(slot, started + duration), daemon=True) for slot in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    done = [row for rows in outcomes for row in rows]
    ok = [row for row in done if row[2] == 200]
    errors: dict[str, int] = defaultdict(int)
    for row in done:
        if row[2] != 200:
            errors[str(row[2])] += 1
    by_category: dict[str, list[float]] = defaultdict(list)
    for category, seconds, _, _ in ok:
        by_category[category].append(seconds)
    empty = sum(1 for row in ok if not row[3].get("results"))
    level = {
        "concurrency": concurrency,
        "requests": len(done),
        "ok": len(ok),
        "errors": dict(errors),
        "error_count": len(done) - len(ok),
        "empty_results": empty,
        "wall_seconds": round(wall, 2),
        "throughput_rps": round(len(ok) / wall, 2) if wall else 0.0,
        **summarise([row[1] for row in ok]),
        "cpu": cpu.result,
        "by_category": {
            category: {"n": len(values), **summarise(values)} for category, values in sorted(by_category.items())
        },
        "first_errors": [row[3] for row in done if row[2] != 200][:3],
    }
    if keep_latencies:
        level["_seconds"] = [row[1] for row in ok]
    return level


def warm(items: list, label: str, server) -> list[float]:
    ms = []
    for _, url, opener in (items * WARMUP_REQUESTS)[:WARMUP_REQUESTS]:
        outcome = get_json(url, opener)
        if outcome["status"] != 200:
            raise RuntimeError(f"{label} warm-up failed: {outcome}\n{server.log_tail()}")
        ms.append(round(outcome["seconds"] * 1000, 1))
    print(f"{label} warm-up: {ms} ms", flush=True)
    return ms


# --- background reindex -------------------------------------------------------------------------


class ReindexLoop:
    """``manage.py shopai_reindex --all`` over and over until stopped; ``pause`` / ``resume`` stop and continue
    the running one (SIGSTOP / SIGCONT to the pid this loop started), so that search is measured alternately
    with and without the write load while the rest of the machine stays as it is."""

    def __init__(self, workdir: Path) -> None:
        self.argv = [sys.executable, "manage.py", "shopai_reindex", "--all", "--no-progress"]
        self.log_dir = workdir
        self.runs: list[dict] = []
        self.stopping = threading.Event()
        self.running = threading.Event()  # cleared: paused
        self.running.set()
        self.lock = threading.Lock()
        self.current: subprocess.Popen | None = None
        self.finished_cpu = 0.0  # CPU seconds of the runs that ended
        self.current_cpu = 0.0  # of the running one, sampled every 0.1 s
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def cpu_seconds(self) -> float:
        with self.lock:
            if self.current is not None and self.current.poll() is None:
                self.current_cpu = max(self.current_cpu, process_cpu_seconds(self.current.pid))
            return self.finished_cpu + self.current_cpu

    def _loop(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for index in itertools.count():
            self.running.wait()
            if self.stopping.is_set():
                return
            log_path = self.log_dir / f"reindex-{index}.log"
            started = time.perf_counter()
            with self.lock:
                if not self.running.is_set():  # paused between the check above and now
                    continue
                self.current_cpu = 0.0
                with log_path.open("wb") as log:
                    self.current = subprocess.Popen(
                        self.argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
            while True:
                with self.lock:
                    if self.current.poll() is not None:
                        self.finished_cpu += self.current_cpu
                        self.current_cpu = 0.0
                        break
                    self.current_cpu = max(self.current_cpu, process_cpu_seconds(self.current.pid))
                time.sleep(0.1)
            output = log_path.read_text(errors="replace")
            done = [line for line in output.splitlines() if line.startswith("Done:")]
            self.runs.append(
                {
                    "seconds_incl_pauses": round(time.perf_counter() - started, 2),
                    "returncode": self.current.returncode,
                    "completed": bool(done) and self.current.returncode == 0,
                    "summary": done[0] if done else " ".join(output.strip().splitlines()[-1:]),
                }
            )

    def _signal(self, signum: int) -> None:
        with self.lock:
            if self.current is not None and self.current.poll() is None:
                self.current.send_signal(signum)

    def pause(self) -> None:
        self.running.clear()
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)
        self.running.set()

    def stop(self) -> None:
        self.stopping.set()
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGTERM)  # only the reindex this loop started, by its pid
        self.running.set()
        process = self.current
        if process is not None:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.thread.join(timeout=30)


def vectors_written(start, end) -> int:
    """Vectors upserted between two moments (``updated_at`` of the rows the reindex writes)."""
    from shopai.models import ProductEmbedding

    return ProductEmbedding.objects.filter(updated_at__gte=start, updated_at__lt=end).count()


def combine(levels: list[dict]) -> dict:
    """One level from several segments of the same kind (sums, throughput over their total time)."""
    import numpy as np

    ok = sum(level["ok"] for level in levels)
    wall = sum(level["wall_seconds"] for level in levels)
    errors: dict[str, int] = defaultdict(int)
    for level in levels:
        for status, count in level["errors"].items():
            errors[status] += count
    latencies = [value for level in levels for value in level["_seconds"]]
    cpu = {key: round(float(np.mean([level["cpu"][key] for level in levels])), 2) for key in levels[0]["cpu"] if key}
    return {
        "concurrency": levels[0]["concurrency"],
        "segments": len(levels),
        "requests": sum(level["requests"] for level in levels),
        "ok": ok,
        "errors": dict(errors),
        "error_count": sum(level["error_count"] for level in levels),
        "wall_seconds": round(wall, 2),
        "throughput_rps": round(ok / wall, 2) if wall else 0.0,
        "segment_throughputs_rps": [level["throughput_rps"] for level in levels],
        **summarise(latencies),
        "cpu": cpu,
    }


def under_write_load(items: list, server, window: float, segments: int, workdir: Path) -> dict:
    """Search at concurrency 4 in alternating segments: reindex paused, reindex running (same process)."""
    from django.db import connections
    from django.utils import timezone

    segment = window / segments
    print(
        f"\nSearch at concurrency 4, {2 * segments} alternating {segment:.0f}-s segments with a background "
        "shopai_reindex --all paused / running",
        flush=True,
    )
    loop = ReindexLoop(workdir)
    loop_started = timezone.now()
    loop.start()
    # Wait until the reindex is embedding: its first vectors are written, or it has used LEAD_IN_CPU_SECONDS
    # of CPU (Django set up and the model loaded take less), whichever comes first.
    waited = time.perf_counter()
    while time.perf_counter() - waited < 300:
        if loop.cpu_seconds() >= LEAD_IN_CPU_SECONDS or vectors_written(loop_started, timezone.now()):
            break
        time.sleep(0.5)
    lead_in = time.perf_counter() - waited
    parts: dict[str, list[dict]] = {"paused": [], "running": []}
    cpu: dict[str, float] = {"paused": 0.0, "running": 0.0}
    written: dict[str, int] = {"paused": 0, "running": 0}
    try:
        for index in range(2 * segments):
            state = ("paused", "running")[index % 2]
            (loop.pause if state == "paused" else loop.resume)()
            cpu_before, started = loop.cpu_seconds(), timezone.now()
            level = drive(items, server, 4, segment, f"search (reindex {state})", keep_latencies=True)
            cpu[state] += loop.cpu_seconds() - cpu_before
            written[state] += vectors_written(started, timezone.now())
            parts[state].append(level)
    finally:
        loop.stop()
        connections.close_all()
    baseline, loaded = combine(parts["paused"]), combine(parts["running"])
    for level in parts["paused"] + parts["running"]:
        del level["_seconds"]
    seconds = {state: sum(level["wall_seconds"] for level in parts[state]) for state in parts}
    return {
        "window_seconds": window,
        "segments_each": segments,
        "method": "one shopai_reindex --all process (restarted when it finishes), stopped with SIGSTOP during "
        "the 'paused' segments and continued with SIGCONT during the 'running' ones; search c=4 throughout",
        "lead_in_seconds": round(lead_in, 1),
        "baseline": baseline,
        "during_reindex": loaded,
        "reindex_runs": loop.runs,
        "reindex_cores_used": {state: round(cpu[state] / seconds[state], 2) for state in cpu if seconds[state]},
        "vectors_written": written,
        "reindex_products_per_second_while_running": round(written["running"] / seconds["running"], 2)
        if seconds["running"]
        else 0.0,
        "segments": parts,
        "throughput_change_pct": round(100 * (loaded["throughput_rps"] / baseline["throughput_rps"] - 1), 1)
        if baseline["throughput_rps"]
        else None,
        "p50_change_pct": round(100 * (loaded["p50_ms"] / baseline["p50_ms"] - 1), 1)
        if baseline.get("p50_ms")
        else None,
        "p99_change_pct": round(100 * (loaded["p99_ms"] / baseline["p99_ms"] - 1), 1)
        if baseline.get("p99_ms")
        else None,
    }


# --- report ---------------------------------------------------------------------------------------


def figures_and_series(sections: dict, write: dict, setup: dict) -> tuple[list[dict], dict]:
    figures: list[dict] = []

    def add(name: str, value, unit: str) -> None:
        figures.append({"name": name, "value": value, "unit": unit})

    for endpoint, section in sections.items():
        for level in section["levels"]:
            prefix = f"{endpoint} c={level['concurrency']}"
            add(f"{prefix} throughput", level["throughput_rps"], "req/s")
            add(f"{prefix} p50", level.get("p50_ms"), "ms")
            add(f"{prefix} p99", level.get("p99_ms"), "ms")
            add(f"{prefix} errors", level["error_count"], "requests")
    x = list(LEVELS)
    series = {
        key: {
            "kind": "line",
            "x": x,
            "ys": {
                endpoint: [next(lv.get(field) for lv in section["levels"] if lv["concurrency"] == c) for c in x]
                for endpoint, section in sections.items()
            },
            "xlabel": "concurrent client threads",
            "ylabel": label,
            "title": f"api_load: {label} vs concurrency (gunicorn 1 worker x {THREADS} threads)",
        }
        for key, field, label in (
            ("throughput", "throughput_rps", "requests/s"),
            ("p50", "p50_ms", "p50 ms"),
            ("p99", "p99_ms", "p99 ms"),
        )
    }
    series["search_during_reindex"] = {
        "kind": "bar",
        "x": ["req/s", "p50 ms", "p99 ms"],
        "ys": {
            label: [write[key]["throughput_rps"], write[key].get("p50_ms"), write[key].get("p99_ms")]
            for key, label in (("baseline", "reindex paused"), ("during_reindex", "reindex running"))
        },
        "xlabel": "search, 4 client threads",
        "ylabel": "value",
        "title": "api_load: search with shopai_reindex --all paused / running",
    }
    for key, label in (("baseline", "no write load"), ("during_reindex", "during shopai_reindex --all")):
        level = write[key]
        add(f"search c=4 throughput ({label})", level["throughput_rps"], "req/s")
        add(f"search c=4 p50 ({label})", level.get("p50_ms"), "ms")
        add(f"search c=4 p99 ({label})", level.get("p99_ms"), "ms")
        add(f"search c=4 errors ({label})", level["error_count"], "requests")
    add("search c=4 throughput change during reindex", write["throughput_change_pct"], "%")
    add("search c=4 p99 change during reindex", write["p99_change_pct"], "%")
    # Vectors are written a batch (EMBEDDING_BATCH_SIZE) at a time: short windows can show 0 while it embeds.
    add(
        "reindex vectors written while running (EMBEDDING_BATCH_SIZE per batch)",
        write["vectors_written"]["running"],
        "vectors",
    )
    add("reindex CPU cores used while running", write["reindex_cores_used"].get("running"), "cores")
    alone = setup["setup_seconds"].get("shopai_reindex")
    if alone:
        add(
            "reindex products/s at setup (no HTTP load, incl. model load)",
            round(setup["products"] / alone, 2),
            "products/s",
        )
    return figures, series


def summary_of(payload: dict) -> str:
    sections, write = payload["endpoints"], payload["write_load"]

    def peak(section: dict) -> str:
        best = max(section["levels"], key=lambda level: level["throughput_rps"])
        return f"{best['throughput_rps']:.1f} req/s at c={best['concurrency']}"

    lines = ", ".join(
        f"{name} {peak(section)} (p50 {section['levels'][0].get('p50_ms')} ms at c=1)"
        for name, section in sections.items()
    )
    errors = sum(level["error_count"] for section in sections.values() for level in section["levels"])
    return (
        f"gunicorn 1 worker x {THREADS} threads on {payload['machine']['cpus']} CPUs, "
        f"{'shopai default embeddings (MiniLM, ONNX int8)' if EMBEDDINGS == 'shopai' else 'demo embeddings (e5)'}, "
        f"{payload['level_seconds']:.0f} s per level, client threads in the same machine. Peak: {lines}; "
        f"{errors} errors. Search at c=4 with shopai_reindex --all running vs paused (alternating segments): "
        f"throughput {write['throughput_change_pct']:+.1f}%, p50 {write['p50_change_pct']:+.1f}%, "
        f"p99 {write['p99_change_pct']:+.1f}% (reindex used {write['reindex_cores_used'].get('running')} cores). "
        f"Load average {payload['machine']['load_average_at_start']} at start, "
        f"{payload['machine']['load_average_at_end']} at end."
    )


def print_summary(payload: dict) -> None:
    header = f"{'endpoint':<27}{'conc':>5}{'reqs':>7}{'err':>5}{'req/s':>8}{'p50':>8}{'p95':>8}{'p99':>8}"
    header += f"{'srv cpu':>8}{'cli':>6}{'other':>6}"
    print("\nThroughput and latency (ms)\n" + header + "\n" + "-" * len(header))
    rows = [(name, level) for name, section in payload["endpoints"].items() for level in section["levels"]]
    write = payload["write_load"]
    rows += [("search (no write load)", write["baseline"]), ("search (during reindex)", write["during_reindex"])]
    for name, level in rows:
        print(
            f"{name:<27}{level['concurrency']:>5}{level['requests']:>7}{level['error_count']:>5}"
            f"{level['throughput_rps']:>8.1f}{level.get('p50_ms', 0):>8.1f}{level.get('p95_ms', 0):>8.1f}"
            f"{level.get('p99_ms', 0):>8.1f}{level['cpu']['gunicorn_cores']:>8.2f}{level['cpu']['client_cores']:>6.2f}"
            f"{level['cpu']['other_cores']:>6.2f}"
        )
    print(
        f"During the reindex: throughput {write['throughput_change_pct']:+.1f}%, p99 {write['p99_change_pct']:+.1f}%; "
        f"reindex cores used {write['reindex_cores_used']}, vectors written {write['vectors_written']} "
        f"({write['reindex_products_per_second_while_running']} products/s while running)\nreindex runs: "
        f"{write['reindex_runs']}"
    )
    print("srv cpu / cli / other: cores busy in gunicorn / this client / everything else (PostgreSQL, the reindex,")
    print("other users of the machine).")
    machine = payload["machine"]
    print(f"Load average at start {machine['load_average_at_start']}, end {machine['load_average_at_end']}")


def measure(*, quick: bool) -> dict:
    pick = 0 if quick else 1
    level_seconds, window = DURATIONS["level"][pick], DURATIONS["write_window"][pick]
    load_at_start = [round(value, 2) for value in os.getloadavg()]
    if load_at_start[0] > 0.5:
        print(f"Note: load average {load_at_start}: something else is using the CPUs; numbers will be noisy.")
    workdir = Path(tempfile.mkdtemp(prefix="shopai-load-"))  # short path: unix sockets are limited
    server = None
    try:
        setup = prepare(workdir)
        server = Server(workdir)
        print(f"\nStarting {' '.join(server.argv[2:])}", flush=True)
        boot = server.start()
        openers = {name: log_in(server.url, name) for name in SHOPPERS if name}
        print(f"gunicorn up in {boot:.1f}s on {server.url}; signed in: {', '.join(openers)}", flush=True)
        sections: dict[str, dict] = {}
        for endpoint in ENDPOINTS:
            items = plan(endpoint, server.url, openers, setup["similar_ids"])
            sections[endpoint] = {"kinds": len(items), "warmup_ms": warm(items, endpoint, server)}
            sections[endpoint]["levels"] = [drive(items, server, level, level_seconds, endpoint) for level in LEVELS]
        search_items = plan("search", server.url, openers, setup["similar_ids"])
        write = under_write_load(search_items, server, window, DURATIONS["write_segments"][pick], workdir)
        server.stop()
        log = server.log_text()
        figures, series = figures_and_series(sections, write, setup)
        payload = {
            "benchmark": "shopai read API under concurrent clients (gunicorn), and during a background reindex",
            "mode": "quick" if quick else "full",
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_at_start": load_at_start,
                "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
            },
            "server": {
                "command": "gunicorn config.wsgi:application " + " ".join(server.argv[4:]).replace(str(REPO), "."),
                "workers": WORKERS,
                "threads": THREADS,
                "settings": "config.settings.local, DEBUG off, search/recommendations throttles raised",
                "embeddings": EMBEDDINGS,
                "database": f"{DATABASE} (embedded PostgreSQL, unix socket)",
                "boot_seconds": round(boot, 2),
                "worker_boots": log.count("Booting worker"),
                "errors_in_log": log.count("Traceback") + log.count("[ERROR]"),
            },
            "client": "urllib in client threads of this process, a new connection per request, closed loop",
            "level_seconds": level_seconds,
            "code": code_state(),
            **setup,
            "endpoints": sections,
            "write_load": write,
            "figures": figures,
            "series": series,
        }
        payload["summary"] = summary_of(payload)
        print_summary(payload)
        return payload
    finally:
        if server is not None:
            server.stop()
        stop_private_redis(workdir / "redis")
        shutil.rmtree(workdir, ignore_errors=True)


def run(*, quick: bool, data_dir: Path) -> dict:
    """The bench/run.py entry point (it runs each module in a process of its own, before Django is set up).

    ``data_dir`` (reference data) is not needed: the demo shop is used.
    """
    return measure(quick=quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s per level, 2 x 20 s write windows (else 30 / 60).")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data", help="Unused (no data).")
    parser.add_argument("--out", type=Path, default=None, help="Write the result as JSON to this file too.")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up on kill too
    signal.signal(signal.SIGINT, signal.default_int_handler)
    payload = run(quick=args.quick, data_dir=args.data_dir)
    print("\n" + payload["summary"])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"Wrote {args.out}")
    levels = [level for section in payload["endpoints"].values() for level in section["levels"]]
    levels += [payload["write_load"]["baseline"], payload["write_load"]["during_reindex"]]
    return 1 if any(level["error_count"] for level in levels) else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
