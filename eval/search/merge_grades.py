"""Write eval/search/<set>_qrels.csv from the set's queries and the graders' CSVs (query_id,sku,rating).

    .venv/bin/python eval/search/merge_grades.py SET GRADES.csv [GRADES.csv ...]

Rows already in the qrels file are kept (a later pooling round adds pairs, never regrades);
a pair graded twice keeps its first grade.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ["query_id", "query", "sku", "rating", "split"]


def main() -> None:
    name, sources = sys.argv[1], [Path(path) for path in sys.argv[2:]]
    with (HERE / f"{name}_queries.csv").open(encoding="utf-8", newline="") as handle:
        queries = {row["query_id"]: row for row in csv.DictReader(handle)}
    target = HERE / f"{name}_qrels.csv"
    grades: dict[tuple[str, str], int] = {}
    if target.exists():
        with target.open(encoding="utf-8", newline="") as handle:
            grades = {(row["query_id"], row["sku"]): int(row["rating"]) for row in csv.DictReader(handle)}
    before = len(grades)
    for source in sources:
        with source.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rating = int(row["rating"])
                if row["query_id"] not in queries or not 0 <= rating <= 3:
                    raise SystemExit(f"{source}: bad row {row}")
                grades.setdefault((row["query_id"], row["sku"].strip()), rating)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for (query_id, sku), rating in sorted(grades.items()):
            query = queries[query_id]
            writer.writerow([query_id, query["query"], sku, rating, query["split"]])
    print(f"{target.name}: {len(grades)} judgements ({len(grades) - before} new)")


if __name__ == "__main__":
    main()
