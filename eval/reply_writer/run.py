"""Ask the plain-FAQ questions through the assistant and rewrite each FAQ answer with the reply writer.

    python eval/reply_writer/run.py --data ../shared/data --split dev [--backend ALIAS | --generation JSON]
        [--language en,zh] [--limit N] [--timeout SECONDS] [--database NAME] [--seed 0]

The FAQ set is built as eval/faq_plain/run.py builds it and loaded for the run (rolled back). Each
question of the split that the assistant answers from an FAQ (``answer_question``: retrieval,
confidence, handoff) gives the chosen FAQ's answer as ``plain`` and its question and answer as
``source``; ``shopai.assistant.reply_writer.rewrite`` runs with the writer switched on for the
GENERATION alias (``--backend``, default "default": SmolLM2-135M on llama.cpp unless the settings
say otherwise) or for the entry given by ``--generation``. ``--limit N``: at most N rewrites per
language. The model is loaded and warmed before the first measured question; each question waits
until the workers are free, so a late generation does not turn the next question into "skipped".

Writes eval/results/reply_writer_<split>.json (per language: outcomes, kept rate, the latency the
writer added, p50/p95), eval/reply_writer/blind.csv (id,source,text: kept and flagged rewrites,
shuffled with --seed; nothing says which is which) for a judge following JUDGING.md, and the
private eval/reply_writer/key.csv (id,outcome) that score.py joins with the judge's labels.
None of them is committed: the English sources derive from a CDLA-Sharing data set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
from eval.options import json_object  # noqa: E402

GENERATION_ALIAS = "reply-writer-eval"  # the GENERATION alias --generation is put under
RESULTS = ROOT / "eval" / "results"


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--backend", default="default", help="GENERATION alias that writes the replies")
    parser.add_argument(
        "--generation",
        default=None,
        help='a GENERATION entry to use instead of --backend: {"CLASS": ..., "CONFIG": {...}} or a .json file',
    )
    parser.add_argument("--language", default="en", help="comma-separated languages to rewrite (en,zh)")
    parser.add_argument("--limit", type=int, default=None, help="at most N rewrites per language")
    parser.add_argument("--timeout", type=float, default=None, help="REPLY_WRITER TIMEOUT for this run")
    parser.add_argument("--seed", type=int, default=0, help="shuffles the questions and blind.csv")
    parser.add_argument(
        "--database",
        default=None,
        help="database on the embedded server to run in (SHOPAI_DATABASE_NAME; migrated first)",
    )
    parser.add_argument("--json", type=Path, default=None, help="default: eval/results/reply_writer_<split>.json")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for blind.csv and key.csv")
    options = parser.parse_args()
    options.languages = [item.strip() for item in options.language.split(",") if item.strip()]
    if options.generation:
        entry = json_object(options.generation, "--generation")
        if not isinstance(entry.get("CLASS"), str):
            parser.error('--generation needs {"CLASS": "dotted.path.Backend", "CONFIG": {...}}')
        options.generation = entry
    return options


def run_settings(options) -> dict:
    """SHOPAI with the reply writer switched on for this run's model and languages."""
    from django.conf import settings

    shopai = dict(settings.SHOPAI)
    alias = options.backend
    if options.generation:
        shopai["GENERATION"] = {**shopai.get("GENERATION", {}), GENERATION_ALIAS: options.generation}
        alias = GENERATION_ALIAS
    writer = {"BACKEND": alias, "LANGUAGES": options.languages}
    if options.timeout is not None:
        writer["TIMEOUT"] = options.timeout
    assistant = dict(shopai.get("ASSISTANT", {}))
    assistant["REPLY_WRITER"] = {**assistant.get("REPLY_WRITER", {}), **writer}
    shopai["ASSISTANT"] = assistant
    return shopai


def load_faqs(path: Path) -> int:
    """Publish only this file's FAQs (the caller's transaction is rolled back), as shopai_eval_faq --faqs does."""
    from shopai.assistant import faqs
    from shopai.assistant.faq_import import import_faqs
    from shopai.models import FAQ

    FAQ.objects.update(is_published=False)
    report = import_faqs(path)
    if report.rejected:
        raise SystemExit(f"{path}: {len(report.rejected)} FAQs rejected, e.g. {report.rejected[:2]}")
    FAQ.objects.filter(pk__in=report.faq_ids).update(is_published=True)
    faqs.embed_faqs(faq_ids=report.faq_ids)
    return len(report.faq_ids)


def warm_up(language: str) -> dict:
    """Load the model and generate once, so the first measured question does not pay for the load."""
    from shopai.assistant import reply_writer
    from shopai.backends.generation import get_generation_backend

    config = reply_writer.settings()
    backend = get_generation_backend(config["BACKEND"], language=language)
    started = time.perf_counter()
    backend.load()
    loaded = time.perf_counter() - started
    messages = reply_writer.build_messages(
        question="Do you ship abroad?",
        plain="Yes, we ship to most countries.",
        source="",
        language=language,
        tone=config["TONE"],
    )
    first = backend.generate(messages, max_tokens=int(config["MAX_TOKENS"]), temperature=reply_writer.TEMPERATURE)
    return {
        "model": backend.name,
        "load_seconds": round(loaded, 2),
        "first_generation_seconds": round(first.seconds, 2),
    }


def ask(rows: list[dict], options) -> list[dict]:
    """One record per question answered from an FAQ: the plain answer, the rewrite and its outcome."""
    from shopai.assistant import reply_writer

    draft: dict[str, str] = {}
    problems = reply_writer.problems

    def recording(text, **kwargs):
        # The model's own text, kept for the judge: rewrite() hands back the plain answer when it flags one.
        draft["text"] = text
        return problems(text, **kwargs)

    reply_writer.problems = recording
    try:
        return _ask(rows, options, draft)
    finally:
        reply_writer.problems = problems


def _ask(rows: list[dict], options, draft: dict[str, str]) -> list[dict]:
    from django.db import transaction

    from shopai.assistant import reply_writer
    from shopai.assistant.answers import answer_question
    from shopai.models import FAQ

    records: list[dict] = []
    per_language: Counter[str] = Counter()
    with transaction.atomic():  # the exchanges answer_question logs are rolled back
        for row in rows:
            language = row["language"]
            if options.limit is not None and per_language[language] >= options.limit:
                continue
            reply = answer_question(question=row["question"], session_id="shopai-eval")
            if not reply.faq_id or reply.handoff or reply.language not in options.languages:
                continue
            faq = FAQ.objects.get(pk=reply.faq_id)
            plain, source = faq.answer, f"{faq.question}\n{faq.answer}"
            reply_writer.wait_until_idle(120.0)
            draft.clear()
            result = reply_writer.rewrite(question=row["question"], plain=plain, source=source, language=reply.language)
            per_language[language] += 1
            records.append(
                {
                    "question": row["question"],
                    "language": reply.language,
                    "faq": faq.question,
                    "right_faq": faq.question == row["expected_question"],
                    "plain": plain,
                    "source": source,
                    "rewrite": draft.get("text", ""),
                    "outcome": result.outcome,
                    "milliseconds": result.milliseconds,
                    "flags": result.flags,
                }
            )
            line = f"{len(records):4d} {reply.language} {result.outcome:8s} {result.milliseconds:6d} ms"
            print(f"{line}  {row['question'][:60]}")
        transaction.set_rollback(True)
    return records


def percentile(values: list[int], share: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(records: list[dict], options, warm: dict, seconds: float) -> dict:
    from shopai.assistant import reply_writer

    per_language = {}
    for language in options.languages:
        mine = [r for r in records if r["language"] == language]
        outcomes = Counter(r["outcome"] for r in mine)
        ran = [r["milliseconds"] for r in mine if r["outcome"] != "skipped"]
        per_language[language] = {
            "n": len(mine),
            "outcomes": {outcome: outcomes.get(outcome, 0) for outcome in reply_writer.OUTCOMES},
            "kept_rate": round(outcomes.get("kept", 0) / len(mine), 3) if mine else None,
            "added_ms_p50": percentile(ran, 0.5),
            "added_ms_p95": percentile(ran, 0.95),
            "kept_ms_p50": percentile([r["milliseconds"] for r in mine if r["outcome"] == "kept"], 0.5),
            # rewrites with at least one flag of each kind ("unsupported number", "dropped", "language"…)
            "flagged_for": Counter(kind for r in mine for kind in {flag.split(":")[0] for flag in r["flags"]}),
        }
    return {
        "split": options.split,
        "limit_per_language": options.limit,
        "reply_writer": reply_writer.settings(),
        "model": warm,
        "per_language": per_language,
        "seconds": round(seconds, 1),
        "machine": {
            "platform": platform.platform(),
            "processor": _processor(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def write_blind(records: list[dict], folder: Path, seed: int) -> int:
    """Kept and flagged rewrites, shuffled, with ids; the outcome only in key.csv."""
    judged = [r for r in records if r["outcome"] in ("kept", "flagged") and r["rewrite"]]
    random.Random(seed).shuffle(judged)
    folder.mkdir(parents=True, exist_ok=True)
    with (
        (folder / "blind.csv").open("w", encoding="utf-8", newline="") as blind,
        (folder / "key.csv").open("w", encoding="utf-8", newline="") as key,
    ):
        blind_writer, key_writer = csv.writer(blind), csv.writer(key)
        blind_writer.writerow(["id", "source", "text"])
        key_writer.writerow(["id", "outcome"])
        for number, record in enumerate(judged, start=1):
            row_id = f"r{number:04d}"
            blind_writer.writerow([row_id, record["source"], record["rewrite"]])
            key_writer.writerow([row_id, record["outcome"]])
    return len(judged)


def main() -> None:
    options = parse_options()
    sys.path[:0] = [str(ROOT), str(ROOT / "eval" / "faq_plain")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    if options.database:
        os.environ["SHOPAI_DATABASE_NAME"] = options.database  # read by config/embedded.py at import
    import django

    django.setup()
    import build
    from django.core.management import call_command
    from django.db import transaction
    from django.test.utils import override_settings

    from shopai.assistant.evaluation import read_labelled

    if options.database:
        call_command("migrate", interactive=False, verbosity=0)
    override_settings(SHOPAI=run_settings(options)).enable()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        print(build.build(options.data, out))
        labelled = read_labelled(out / "questions.csv", split=options.split)
        rows = [
            {"question": question, "expected_question": expected, "language": language}
            for question, expected, language in labelled
            if expected and language in options.languages
        ]
        random.Random(options.seed).shuffle(rows)  # a --limit run samples every FAQ, not the first few
        with transaction.atomic():
            print(f"{load_faqs(out / 'faq.csv')} FAQs loaded; {len(rows)} {options.split} questions with an answer")
            warm = warm_up(options.languages[0])
            print(f"model: {json.dumps(warm)}")
            records = ask(rows, options)
            transaction.set_rollback(True)
    report = summary(records, options, warm, time.perf_counter() - started)
    target = options.json or RESULTS / f"reply_writer_{options.split}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    blind = write_blind(records, options.out, options.seed)
    print(json.dumps(report["per_language"], ensure_ascii=False, indent=2))
    print(f"wrote {target}, {blind} rows to {options.out / 'blind.csv'} (key: {options.out / 'key.csv'})")


if __name__ == "__main__":
    main()
