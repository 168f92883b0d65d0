"""Join a blind judge's labels with the reply writer's outcomes: what reached shoppers, what the guard missed.

    python eval/reply_writer/score.py labels.csv [--key eval/reply_writer/key.csv] [--json out.json]

labels.csv: ``id,unsupported_fact,phrase`` (yes/no, as JUDGING.md asks), one row per row of
blind.csv. key.csv (written by run.py, never shown to the judge): ``id,outcome`` (kept/flagged).

- kept with an unsupported fact: a shopper would have read a fact the FAQ does not state
  (the guard and the reply checks missed it). The figure that matters.
- flagged without one: an over-flag (a faithful rewrite the shopper did not get; it costs
  naturalness, not truth). A flag can also be right for another reason (a dropped number, the
  wrong language), which the judge is not asked about, so over-flags are an upper bound.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
YES, NO = {"yes", "y", "1", "true"}, {"no", "n", "0", "false"}


def read_rows(path: Path, columns: set[str]) -> dict[str, dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = columns - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        return {row["id"].strip(): row for row in reader if row["id"].strip()}


def score(labels: dict[str, dict], key: dict[str, dict]) -> dict:
    unknown = sorted(set(labels) - set(key))
    if unknown:
        raise SystemExit(f"labels for ids not in the key: {unknown[:5]}")
    unlabelled = sorted(set(key) - set(labels))
    judged = {}
    for row_id, row in labels.items():
        answer = row["unsupported_fact"].strip().lower()
        if answer not in YES | NO:
            raise SystemExit(f"{row_id}: unsupported_fact must be yes or no, got {row['unsupported_fact']!r}")
        judged[row_id] = (key[row_id]["outcome"].strip(), answer in YES, (row.get("phrase") or "").strip())
    kept = [i for i, (outcome, _, _) in judged.items() if outcome == "kept"]
    flagged = [i for i, (outcome, _, _) in judged.items() if outcome == "flagged"]
    misses = sorted(i for i in kept if judged[i][1])
    over = sorted(i for i in flagged if not judged[i][1])
    caught = sorted(i for i in flagged if judged[i][1])
    with_fact = len(misses) + len(caught)
    return {
        "judged": len(judged),
        "unlabelled": unlabelled,
        "kept": len(kept),
        "flagged": len(flagged),
        "kept_with_unsupported_fact": {
            "count": len(misses),
            "share_of_kept": round(len(misses) / len(kept), 3) if kept else None,
            "ids": misses,
            "phrases": {i: judged[i][2] for i in misses},
        },
        "guard_misses": len(misses),
        "guard_recall": round(len(caught) / with_fact, 3) if with_fact else None,
        "over_flags": {"count": len(over), "share_of_flagged": round(len(over) / len(flagged), 3) if flagged else None},
        "over_flag_ids": over,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--key", type=Path, default=HERE / "key.csv")
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    result = score(
        read_rows(options.labels, {"id", "unsupported_fact"}),
        read_rows(options.key, {"id", "outcome"}),
    )
    missed = result["kept_with_unsupported_fact"]
    print(f"judged {result['judged']} rewrites: {result['kept']} kept, {result['flagged']} flagged")
    if result["unlabelled"]:
        print(f"not labelled: {len(result['unlabelled'])} ({', '.join(result['unlabelled'][:10])})", file=sys.stderr)
    print(f"kept rewrites with an unsupported fact (shoppers would read them): {missed['count']}", end="")
    print(f" of {result['kept']} ({missed['share_of_kept']})" if result["kept"] else "")
    for row_id in missed["ids"]:
        print(f"  {row_id}: {missed['phrases'][row_id]}")
    print(
        f"guard misses: {result['guard_misses']}; guard recall on rewrites with an unsupported fact: "
        f"{result['guard_recall']}"
    )
    print(
        f"over-flags (flagged, judged faithful): {result['over_flags']['count']} of {result['flagged']}"
        + (f": {', '.join(result['over_flag_ids'])}" if result["over_flag_ids"] else "")
    )
    if options.json:
        options.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
