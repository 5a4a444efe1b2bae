"""The cluster row of the performance benchmark: Reuters ×N on a 2-node, 3-shard Sphinx/Manticore cluster beside Whoosh.

    python benchmarks/cluster.py                  # Reuters-21578 ×5 (108k stories), the issue's row
    python benchmarks/cluster.py --times 1 --json-out /tmp/cluster.json

The corpus is `run.py`'s (Reuters copied ×N with distinct NEWIDs, split into files of
`--stories-per-file` stories) in a work folder under /tmp. Two `searchd` nodes are started there from
`searchkit cluster config` configs on free loopback ports (stopped by pid at the end, whatever
happens). Both backends then index the same folder in this process (`backends.index_into`, all
cores reading), and answer `benchmarks/queries.txt` warm: every query once to warm up, then the
median of `--runs` runs each, with 3 snippet fragments, as a user's `query` would. Queries the
cluster refuses (wildcards and the like) are counted, not timed; hit counts are compared query by
query, and any difference is reported. Ranked queries are then compared by their top 10 (or the
page asked for): how many ids the cluster shares with Whoosh, with the engine's own approximate
ranking and with the exact re-ranking the backend does by default, in the same run.

It prints times and ratios cluster / Whoosh, never pass or fail: both "nodes" share this machine,
so the cluster's numbers are its overhead (SphinxQL round trips, per-node merging), not its reach.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from run import CLASSES, DEFAULT_CORPORA, DEFAULT_QUERIES, Query, machine, percentile, prepare_reuters, read_queries, say  # noqa: E402

from searchkit.backends import Node, index_into, open_search, parse_backend  # noqa: E402
from searchkit.backends.cluster_config import node_configs, write_configs  # noqa: E402
from searchkit.errors import QuerySyntaxError  # noqa: E402
from searchkit.indexer import IndexOptions  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_cluster(work: Path, shards: int = 3, nodes: int = 2) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """Start `nodes` searchd processes holding `shards` shards; return the backend URL and the processes."""
    import pymysql

    searchd = shutil.which("searchd")
    if searchd is None:
        sys.exit("searchd is not installed: apt-get install sphinxsearch (or Manticore Search)")
    addresses = [Node("127.0.0.1", _free_port(), _free_port()) for _ in range(nodes)]
    configs = node_configs(addresses, shards, data_dir=str(work / "data"))
    for config in configs:
        (work / "data" / f"node-{config.number}").mkdir(parents=True, exist_ok=True)
    procs = []
    for path in write_configs(configs, work):
        log = open(work / f"{path.stem}.out", "ab")
        procs.append(subprocess.Popen([searchd, "--config", str(path), "--nodetach"], stdout=log, stderr=subprocess.STDOUT))
        log.close()
    for node, proc in zip(addresses, procs):
        deadline = time.monotonic() + 20
        while True:
            try:
                pymysql.connect(host=node.host, port=node.port, connect_timeout=1).close()
                break
            except pymysql.err.Error:
                if proc.poll() is not None or time.monotonic() > deadline:
                    stop(procs)
                    sys.exit(f"searchd for {node} did not start; see {work}/node-*.out")
                time.sleep(0.05)
    return "manticore://" + ",".join(f"{n.host}:{n.port}:{n.api_port}" for n in addresses), procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def time_queries(ix: Any, queries: list[Query], runs: int) -> tuple[dict[int, float], dict[int, int], int]:
    """Median seconds and hit count per query (by position); how many the backend refused."""
    times: dict[int, list[float]] = {}
    totals: dict[int, int] = {}
    refused = 0
    for rep in range(runs + 1):  # the first pass warms caches and is not counted
        for i, q in enumerate(queries):
            started = time.perf_counter()
            try:
                results = ix.search(q.text, limit=10, page=q.page, since=q.since, until=q.until, sort=q.sort, fragments=3)
            except QuerySyntaxError:
                refused += rep == 0
                continue
            elapsed = time.perf_counter() - started
            totals[i] = results.total
            if rep:
                times.setdefault(i, []).append(elapsed)
    return {i: statistics.median(t) for i, t in times.items()}, totals, refused


def agreement(whoosh: Any, cluster: Any, queries: list[Query]) -> dict[str, Any]:
    """Top-10 ids in common per ranked query, for the engine's ranking alone and for exact re-ranking."""
    found: dict[str, Any] = {}
    for label, exact in (("engine", False), ("exact", True)):
        cluster.exact_ranking = exact
        rows = []
        for q in queries:
            if q.sort not in (None, "relevance"):
                continue
            kwargs = dict(limit=10, page=q.page, since=q.since, until=q.until, fragments=0)
            try:
                ours = [h.id for h in cluster.search(q.text, **kwargs).hits]
            except QuerySyntaxError:
                continue
            theirs = [h.id for h in whoosh.search(q.text, **kwargs).hits]
            rows.append({"cls": q.cls, "query": q.text, "page": q.page, "common": len(set(ours) & set(theirs)),
                         "of": len(theirs), "same_order": ours == theirs})
        found[label] = rows
    cluster.exact_ranking = True
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPORA["reuters"], help="the Reuters-21578 folder")
    parser.add_argument("--times", type=int, default=5, help="copies of the corpus, e.g. --times 5")
    parser.add_argument("--stories-per-file", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the query set")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--jobs", type=int, default=0, help="reader processes for indexing (0: all cores; 1 keeps both backends' writing order, the tie-break)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="searchkit-cluster-bench-"))
    archive = work / "archive"
    archive.mkdir()
    say(f"corpus: Reuters ×{args.times} into {archive}")
    prepare_reuters(args.corpus, archive, args.times, args.stories_per_file)
    url, procs = start_cluster(work)
    report: dict[str, Any] = {"machine": machine(), "times": args.times, "backend": url}
    try:
        spec = parse_backend(url)
        options = IndexOptions(jobs=args.jobs)
        rows = {}
        for label, backend, folder in (("whoosh", None, work / "whoosh"), ("cluster", spec, work / "state")):
            say(f"indexing into {label}")
            started = time.perf_counter()
            result = index_into(backend, [str(archive)], folder, options)
            seconds = time.perf_counter() - started
            rows[label] = {"articles": result.articles_written, "index_seconds": seconds, "failed": result.files_failed}
            say(f"  {result.articles_written} articles in {seconds:.1f}s")
        rows["whoosh"]["index_mb"] = folder_mb(work / "whoosh")
        rows["cluster"]["index_mb"] = folder_mb(work / "data")
        queries = read_queries(args.queries)
        timings = {}
        for label, backend, folder in (("whoosh", None, work / "whoosh"), ("cluster", spec, work / "state")):
            say(f"querying {label}")
            with open_search(backend, folder) as ix:
                timings[label] = time_queries(ix, queries, args.runs)
        say("comparing ranked top 10s")
        with open_search(None, work / "whoosh") as whoosh_ix, open_search(spec, work / "state") as cluster_ix:
            report["agreement"] = agreement(whoosh_ix, cluster_ix, queries)
        mismatches = [
            queries[i].text for i, total in timings["cluster"][1].items() if timings["whoosh"][1].get(i) != total
        ]
        report.update(rows=rows, refused=timings["cluster"][2], mismatched_counts=mismatches)
        classes: dict[str, dict[str, Any]] = {}
        for cls in [*CLASSES, "all"]:
            picked = [i for i, q in enumerate(queries) if (cls == "all" or q.cls == cls) and i in timings["cluster"][0]]
            if not picked:
                continue
            entry = {}
            for label in ("whoosh", "cluster"):
                values = [timings[label][0][i] * 1000 for i in picked]
                entry[label] = {"median_ms": statistics.median(values), "p95_ms": percentile(values, 95)}
            entry["queries"] = len(picked)
            classes[cls] = entry
        report["classes"] = classes
    finally:
        stop(procs)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    rows = report["rows"]
    print(f"Reuters ×{args.times}: {rows['whoosh']['articles']} articles; 2 searchd nodes, 3 shards, one machine")
    print(f"{'':10} {'index s':>8} {'art/s':>8} {'size MB':>8}")
    for label in ("whoosh", "cluster"):
        r = rows[label]
        print(f"{label:10} {r['index_seconds']:8.1f} {r['articles'] / r['index_seconds']:8.0f} {r['index_mb']:8.1f}")
    print(f"\n{'class':8} {'n':>3} {'whoosh ms':>10} {'cluster ms':>10} {'ratio':>6}   (median; p95 in --json-out)")
    for cls, entry in report["classes"].items():
        w, c = entry["whoosh"]["median_ms"], entry["cluster"]["median_ms"]
        print(f"{cls:8} {entry['queries']:3d} {w:10.2f} {c:10.2f} {c / w if w else float('nan'):6.2f}")
    print(f"\nrefused by the cluster (no SphinxQL equivalent): {report['refused']}; "
          f"hit counts that differ: {len(report['mismatched_counts'])} {report['mismatched_counts'][:5]}")
    print(f"\n{'ranked top 10':14} {'queries':>7} {'all 10':>7} {'same order':>10} {'mean common':>11} {'min':>4}")
    for label, found in report["agreement"].items():
        if found:
            common = [r["common"] / max(r["of"], 1) * 10 for r in found]
            print(f"{label:14} {len(found):7d} {sum(r['common'] == r['of'] for r in found):7d} "
                  f"{sum(r['same_order'] for r in found):10d} {statistics.mean(common):11.2f} {min(common):4.0f}")
    differing = [(r["query"], r["page"], r["common"]) for r in report["agreement"]["exact"] if r["common"] < r["of"]]
    print(f"exact re-ranking, queries not sharing all 10: {differing[:8]}")
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
