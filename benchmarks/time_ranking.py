"""Ranking quality on the TIME test collection: searchkit beside a plain Whoosh index, same run.

    python benchmarks/time_ranking.py [--corpus ../shared/corpora/time]

The 423 TIME articles are written as a JSON Lines dump and indexed through searchkit exactly as a
user would (`index_paths`, default options); the 83 natural-language queries are run through
`searchkit.open_index(...).search()` with the defaults a user gets. The baseline is what a user of
Whoosh would write: one body field with Whoosh's default StemmingAnalyzer, a QueryParser with a
ranked OR group, BM25F. Prints MAP and nDCG@10 for both (binary judgments; `TIME.REL` lists
document *positions*, see the corpus README).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "time"
DEPTH = 1000  # ranks scored for MAP


def read_docs(corpus: Path) -> list[tuple[str, str]]:
    """(TIME id, text) in file order: the order `TIME.REL` positions refer to."""
    docs: list[tuple[str, str]] = []
    current: list[str] | None = None
    doc_id = ""
    for line in (corpus / "TIME.ALL").read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith("*TEXT") or line.startswith("*STOP"):
            if current is not None:
                docs.append((doc_id, " ".join(current).strip()))
            if line.startswith("*STOP"):
                break
            doc_id = line.split()[1]
            current = []
        elif current is not None and line.strip():
            current.append(line.strip())
    return docs


def read_queries(corpus: Path) -> dict[int, str]:
    queries: dict[int, str] = {}
    qid: int | None = None
    for line in (corpus / "TIME.QUE").read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith("*FIND"):
            qid = int(line.split()[1])
            queries[qid] = ""
        elif line.startswith("*STOP"):
            break
        elif qid is not None and line.strip():
            queries[qid] += " " + line.strip()
    return {k: v.strip() for k, v in queries.items()}


def read_judgments(corpus: Path, docs: list[tuple[str, str]]) -> dict[int, set[str]]:
    """Query → relevant TIME ids. Positions ≥ 373 shift by two: this copy lacks documents 371-372."""
    relevant: dict[int, set[str]] = {}
    for line in (corpus / "TIME.REL").read_text(encoding="ascii").splitlines():
        numbers = [int(n) for n in line.split()]
        if len(numbers) < 2:
            continue
        qid, positions = numbers[0], numbers[1:]
        relevant[qid] = {docs[(p if p <= 370 else p - 2) - 1][0] for p in positions}
    return relevant


def average_precision(ranked: list[str], relevant: set[str]) -> float:
    hits = 0
    total = 0.0
    for rank, doc_id in enumerate(ranked[:DEPTH], start=1):
        if doc_id in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant) if relevant else 0.0


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    dcg = sum(1 / math.log2(rank + 1) for rank, d in enumerate(ranked[:10], start=1) if d in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(10, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


def score(run: dict[int, list[str]], judgments: dict[int, set[str]]) -> tuple[float, float]:
    aps = [average_precision(run.get(q, []), rel) for q, rel in judgments.items()]
    ndcgs = [ndcg_at_10(run.get(q, []), rel) for q, rel in judgments.items()]
    return sum(aps) / len(aps), sum(ndcgs) / len(ndcgs)


def run_searchkit(docs: list[tuple[str, str]], queries: dict[int, str], work: Path) -> tuple[dict[int, list[str]], float, float]:
    from searchkit import open_index
    from searchkit.indexer import index_paths

    archive = work / "time-archive"
    archive.mkdir()
    with open(archive / "time.jsonl", "w", encoding="utf-8") as out:
        for doc_id, text in docs:
            out.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    started = time.perf_counter()
    index_paths([str(archive)], work / "searchkit-index")
    build = time.perf_counter() - started
    run: dict[int, list[str]] = {}
    started = time.perf_counter()
    with open_index(work / "searchkit-index") as ix:
        for qid, text in queries.items():
            results = ix.search(text, limit=DEPTH, fragments=0)
            run[qid] = [hit.id.split("#", 1)[1] for hit in results.hits]
    return run, build, time.perf_counter() - started


def run_plain_whoosh(docs: list[tuple[str, str]], queries: dict[int, str], work: Path) -> tuple[dict[int, list[str]], float, float]:
    from whoosh import index
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import OrGroup, QueryParser

    folder = work / "plain-whoosh"
    folder.mkdir()
    started = time.perf_counter()
    ix = index.create_in(str(folder), Schema(id=ID(stored=True, unique=True), body=TEXT(analyzer=StemmingAnalyzer())))
    with ix.writer() as writer:
        for doc_id, text in docs:
            writer.add_document(id=doc_id, body=text)
    build = time.perf_counter() - started
    parser = QueryParser("body", ix.schema, group=OrGroup)
    run: dict[int, list[str]] = {}
    started = time.perf_counter()
    with ix.searcher() as searcher:
        for qid, text in queries.items():
            # A user of plain Whoosh would at least strip characters its syntax reserves.
            query = parser.parse(re.sub(r"[^\w\s]", " ", text))
            run[qid] = [hit["id"] for hit in searcher.search(query, limit=DEPTH)]
    return run, build, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the TIME collection folder")
    args = parser.parse_args()
    if not (args.corpus / "TIME.ALL").exists():
        sys.exit(f"TIME collection not found in {args.corpus}")
    docs = read_docs(args.corpus)
    queries = read_queries(args.corpus)
    judgments = read_judgments(args.corpus, docs)
    print(f"TIME: {len(docs)} documents, {len(queries)} queries, {sum(map(len, judgments.values()))} judgments")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = []
        for name, runner in (("plain Whoosh (StemmingAnalyzer, OR)", run_plain_whoosh), ("searchkit (defaults)", run_searchkit)):
            run, build, search = runner(docs, queries, work)
            map_score, ndcg = score(run, judgments)
            rows.append((name, map_score, ndcg, build, search))
    print(f"{'engine':40} {'MAP':>6} {'nDCG@10':>8} {'build s':>8} {'83 queries s':>13}")
    for name, map_score, ndcg, build, search in rows:
        print(f"{name:40} {map_score:6.3f} {ndcg:8.3f} {build:8.2f} {search:13.2f}")
    base, ours = rows[0], rows[1]
    print(f"searchkit / baseline: MAP ×{ours[1] / base[1]:.3f}, nDCG@10 ×{ours[2] / base[2]:.3f}")


if __name__ == "__main__":
    main()
