"""The performance benchmark of issue 4: searchkit beside plain Whoosh and SQLite FTS5, one run.

    python benchmarks/run.py                               # Reuters-21578 ×1, the default corpus
    python benchmarks/run.py --times 5                      # Reuters ×5 (108k stories, distinct ids)
    python benchmarks/run.py --kind jsonl --corpus dump.jsonl
    python benchmarks/run.py --kind time --quality          # TIME collection, plus MAP/nDCG and extraction F1
    python benchmarks/run.py --also before=/tmp/old-checkout   # a second searchkit, e.g. before a change

The corpus is first written into a work folder under /tmp (never into the project): Reuters files are
copied, replicated ×N with NEWIDs and file names made distinct, and split into files of
`--stories-per-file` stories so that touching 1% of the files means something. Every engine then
indexes the same folder, each in a child process whose peak memory is read back:

- **searchkit** — `python -m searchkit index FOLDER --index … --json`, exactly what a user runs;
- **plain Whoosh** — the schema a user would write (stored title/body with `StemmingAnalyzer`, a
  sortable `DATETIME` date, stored unique id), one writer, one commit, fed the articles searchkit's
  own readers parsed (parsing happens before its clock starts, so the ratio is conservative);
- **SQLite FTS5** (standard library, `porter unicode61`) — an outside reference, same articles.

Then searchkit alone is re-run over the unchanged folder (a no-op) and after 1% of the files are
modified. Queries come from `benchmarks/queries.txt` (classes: single words, 2-3 words, phrases,
field queries, date-filtered, date-sorted, deep pages) and run warm, in-process, in one child per
engine: searchkit through `open_index(...).search()` (with the default 3 snippet fragments, and
with none), plain Whoosh through a `QueryParser` OR group over the body with a `DateRange` filter
and `sortedby="date"`, FTS5 through `MATCH` with `bm25()` or `ORDER BY date`. The cold cost of one
`searchkit query` process is set beside the floor `python -c "import typer, rich"`.

It prints ratios searchkit / plain Whoosh, never pass or fail: absolute times depend on the machine.
Progress goes to stderr, results to stdout; `--json-out FILE` keeps every number.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DEFAULT_CORPORA = {
    "reuters": ROOT.parent / "shared" / "corpora" / "reuters21578",
    "time": ROOT.parent / "shared" / "corpora" / "time",
}
DEFAULT_QUERIES = HERE / "queries.txt"
PAGE_SIZE = 10
CLASSES = ("single", "multi", "phrase", "field", "date", "sorted", "deep")
COLD_QUERY = "oil prices"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the corpus ---------------------------------------------------------------------------------

_REUTERS_RECORD = re.compile(rb"<REUTERS\b.*?</REUTERS>\s*", re.DOTALL)
_NEWID = re.compile(rb'NEWID="(\d+)"')
_ID_STRIDE = 100_000  # NEWIDs of copy k are k * _ID_STRIDE + n; Reuters' own go to 21,578


def prepare_reuters(source: Path, dest: Path, times: int, per_file: int, sample: int = 0) -> None:
    files = sorted(source.glob("reut2-*.sgm"))[: sample or None]
    if not files:
        sys.exit(f"no reut2-*.sgm files in {source}")
    for copy in range(times):
        for path in files:
            data = path.read_bytes()
            if copy == 0 and per_file <= 0:
                (dest / path.name).write_bytes(data)
                continue
            records = _REUTERS_RECORD.findall(data)
            first = _REUTERS_RECORD.search(data)
            header = data[: first.start()] if first else b""
            if copy:
                shift = copy * _ID_STRIDE
                records = [_NEWID.sub(lambda m: b'NEWID="%d"' % (int(m.group(1)) + shift), r) for r in records]
            size = per_file if per_file > 0 else len(records)
            for part, start in enumerate(range(0, len(records), size)):
                name = f"{path.stem}-c{copy:02d}-{part:03d}.sgm"
                (dest / name).write_bytes(header + b"".join(records[start : start + size]))


def prepare_jsonl(source: Path, dest: Path, times: int, per_file: int, sample: int = 0) -> None:
    files = (sorted(source.rglob("*.jsonl")) if source.is_dir() else [source])[: sample or None]
    if not files:
        sys.exit(f"no .jsonl files in {source}")
    for copy in range(times):
        for path in files:
            lines = [line for line in path.read_bytes().splitlines() if line.strip()]
            if copy:
                lines = [_jsonl_copy(line, copy) for line in lines]
            size = per_file if per_file > 0 else len(lines)
            for part, start in enumerate(range(0, len(lines), size)):
                name = f"{path.stem}-c{copy:02d}-{part:03d}.jsonl"
                (dest / name).write_bytes(b"\n".join(lines[start : start + size]) + b"\n")


def _jsonl_copy(line: bytes, copy: int) -> bytes:
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if isinstance(record, dict):
        for key in ("id", "guid", "uuid"):
            if key in record:
                record[key] = f"{record[key]}-c{copy}"
        return json.dumps(record, ensure_ascii=False).encode("utf-8")
    return line


def prepare_time(source: Path, dest: Path, times: int, per_file: int, sample: int = 0) -> None:
    sys.path.insert(0, str(HERE))
    from time_ranking import read_docs

    staging = dest.parent / "time-jsonl"
    staging.mkdir(exist_ok=True)
    with open(staging / "time.jsonl", "w", encoding="utf-8") as out:
        for doc_id, text in read_docs(source):
            out.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    prepare_jsonl(staging, dest, times, per_file)


def detect_kind(corpus: Path) -> str:
    if corpus.is_dir() and any(corpus.glob("reut2-*.sgm")):
        return "reuters"
    if (corpus / "TIME.ALL").exists():
        return "time"
    return "jsonl"


def _parse_file(path: str, relpath: str) -> tuple[list[tuple[str, str, str, datetime | None]], bool]:
    """One file through searchkit's decoder and readers, as the indexer reads it: (records, failed)."""
    from searchkit import readers
    from searchkit.decode import decode
    from searchkit.models import Article, Source

    try:
        decoded = decode(Path(path).read_bytes())
        reader = readers.reader_for(relpath, decoded.text[:8192])
        if reader is None:
            return [], True
        records = []
        for item in reader.read(decoded.text, Source(relpath, decoded)):
            if not isinstance(item, Article):
                continue
            date = None
            if item.date is not None:
                date = item.date.value
                if date.tzinfo is not None:
                    date = date.astimezone(timezone.utc).replace(tzinfo=None)
            records.append((item.id, item.title, item.body, date))
        return records, False
    except Exception:  # a file that fails here fails in searchkit too; it is counted
        return [], True


def parse_archive(archive: Path, docs_file: Path, jobs: int) -> dict[str, Any]:
    """Parse the archive with searchkit's own readers; stream (id, title, body, date) records to a file."""
    from concurrent.futures import ProcessPoolExecutor

    files = sorted(p for p in archive.rglob("*") if p.is_file())
    paths = [str(p) for p in files]
    relpaths = [p.relative_to(archive).as_posix() for p in files]
    stories = text_bytes = failed = 0
    with open(docs_file, "wb") as out, ProcessPoolExecutor(max_workers=jobs) as pool:
        for records, bad in pool.map(_parse_file, paths, relpaths, chunksize=4):
            failed += bad
            for record in records:
                pickle.dump(record, out, protocol=pickle.HIGHEST_PROTOCOL)
                stories += 1
                text_bytes += len(record[1].encode("utf-8")) + len(record[2].encode("utf-8"))
    return {
        "files": len(files),
        "file_bytes": sum(p.stat().st_size for p in files),
        "stories": stories,
        "text_bytes": text_bytes,
        "files_failed": failed,
    }


def read_docs(docs_file: Path) -> Iterator[tuple[str, str, str, datetime | None]]:
    with open(docs_file, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def touch_files(archive: Path, share: float) -> list[Path]:
    """Modify the content of `share` of the files (evenly spread); return them."""
    files = sorted(p for p in archive.iterdir() if p.is_file())
    count = max(1, math.ceil(len(files) * share))
    step = len(files) / count
    chosen = [files[int(i * step)] for i in range(count)]
    for path in chosen:
        data = path.read_bytes()
        changed = data.replace(b" the ", b" THE ", 1)
        path.write_bytes(changed if changed != data else data + b"\n")
    return chosen


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# --- measuring child processes ------------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree_sample(root: int, cpu_by_pid: dict[int, float]) -> int:
    """Resident bytes of a process and all its descendants, from /proc (0 where there is none).

    Also records each descendant's CPU seconds so far in `cpu_by_pid` (worker processes that a
    fork server starts are nobody's waited-for children, so getrusage would miss them).
    """
    children: dict[int, list[int]] = {}
    stats: dict[int, list[bytes]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        rest = stat[stat.rfind(b")") + 2 :].split()
        pid = int(entry)
        children.setdefault(int(rest[1]), []).append(pid)
        stats[pid] = rest
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        rest = stats.get(pid)
        if rest is not None:
            total += int(rest[21])  # rss, pages
            cpu_by_pid[pid] = max(cpu_by_pid.get(pid, 0.0), (int(rest[11]) + int(rest[12])) / _TICKS)  # utime + stime
        stack.extend(children.get(pid, []))
    return total * os.sysconf("SC_PAGE_SIZE")


def measure_main(argv: list[str]) -> None:
    """`run.py _measure STDOUT_FILE -- CMD…`: run CMD, print wall time and peak memory as JSON."""
    stdout_file, cmd = argv[0], argv[2:]
    started = time.perf_counter()
    peak_tree = 0
    cpu_by_pid: dict[int, float] = {}
    with open(stdout_file, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out)
        while proc.poll() is None:
            peak_tree = max(peak_tree, _tree_sample(proc.pid, cpu_by_pid))
            time.sleep(0.1)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB, macOS bytes
    print(json.dumps({
        # CPU: the larger of what the kernel reports for waited-for children and what /proc showed.
        "wall": wall, "rc": proc.returncode, "cpu": max(usage.ru_utime + usage.ru_stime, sum(cpu_by_pid.values())),
        "max_process_rss": usage.ru_maxrss * scale, "peak_tree_rss": peak_tree,
    }))


def measured(cmd: list[str], work: Path, label: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out_file = work / f"{label}.stdout"
    wrapper = [sys.executable, str(Path(__file__).resolve()), "_measure", str(out_file), "--", *cmd]
    # Not in the project folder: `python -m` puts the working directory first on sys.path, which
    # would shadow the checkout an --also engine names in PYTHONPATH.
    done = subprocess.run(wrapper, stdout=subprocess.PIPE, text=True, env=env, check=True, cwd=work)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    text = out_file.read_text(encoding="utf-8", errors="replace").strip()
    try:
        result["output"] = json.loads(text) if text else None
    except ValueError:
        result["output"] = text[-2000:]
    return result


# --- building -----------------------------------------------------------------------------------


def baseline_build_main(argv: list[str]) -> None:
    """`run.py _baseline_build DOCS INDEX_DIR`: plain Whoosh, as its user would write it."""
    from whoosh import index
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import DATETIME, ID, TEXT, Schema

    docs_file, index_dir = Path(argv[0]), Path(argv[1])
    index_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
        body=TEXT(analyzer=StemmingAnalyzer(), stored=True),
        date=DATETIME(sortable=True),
    )
    ix = index.create_in(str(index_dir), schema)
    count = 0
    with ix.writer() as writer:
        for doc_id, title, body, date in read_docs(docs_file):
            doc: dict[str, Any] = {"id": doc_id, "title": title, "body": body}
            if date is not None:
                doc["date"] = date
            writer.add_document(**doc)
            count += 1
    print(json.dumps({"seconds": time.perf_counter() - started, "stories": count}))


FTS5_SCHEMA = "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, date UNINDEXED, tokenize='porter unicode61')"


def fts5_build_main(argv: list[str]) -> None:
    """`run.py _fts5_build DOCS DB`: the same articles in an SQLite FTS5 table, one transaction."""
    import sqlite3

    docs_file, db_path = Path(argv[0]), Path(argv[1])
    db_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    db = sqlite3.connect(db_path)
    db.execute(FTS5_SCHEMA)
    with db:
        db.executemany(
            "INSERT INTO docs (id, title, body, date) VALUES (?, ?, ?, ?)",
            ((i, t, b, d.isoformat() if d else None) for i, t, b, d in read_docs(docs_file)),
        )
    db.close()
    print(json.dumps({"seconds": time.perf_counter() - started}))


def searchkit_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "searchkit", *args]


def source_env(src: Path | None) -> dict[str, str] | None:
    """Environment that makes `python -m searchkit` import the package from another checkout."""
    if src is None:
        return None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    return env


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    cls: str
    text: str
    since: str | None = None
    until: str | None = None
    sort: str = "relevance"
    page: int = 1


def read_queries(path: Path) -> list[Query]:
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or parts[0] not in CLASSES:
            sys.exit(f"{path}:{number}: expected CLASS<TAB>QUERY[<TAB>OPTIONS], CLASS one of {', '.join(CLASSES)}")
        options: dict[str, Any] = {}
        for item in (parts[2].split() if len(parts) > 2 else []):
            key, _, value = item.partition("=")
            if key not in ("since", "until", "sort", "page"):
                sys.exit(f"{path}:{number}: unknown option {key!r}")
            options[key] = int(value) if key == "page" else value
        queries.append(Query(parts[0], parts[1], **options))
    return queries


def date_bound(value: str | None, end: bool) -> datetime | None:
    """YYYY, YYYY-MM or YYYY-MM-DD as its first instant, or its last when `end` (naive UTC)."""
    if not value:
        return None
    parts = [int(p) for p in value.split("-")]
    start = datetime(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    if not end:
        return start
    if len(parts) == 3:
        following = start + timedelta(days=1)
    elif len(parts) == 2:
        following = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
    else:
        following = datetime(start.year + 1, 1, 1)
    return following - timedelta(microseconds=1)


_FTS_TERM = re.compile(r'(?:(?P<field>\w+):)?(?:"(?P<phrase>[^"]*)"|(?P<word>\S+))')


def fts5_match(text: str) -> str:
    """The query as an FTS5 MATCH expression: phrases and words, OR-ed, `title:` kept as a column filter."""
    parts = []
    for match in _FTS_TERM.finditer(text):
        words = re.findall(r"\w+", match.group("phrase") if match.group("phrase") is not None else match.group("word"))
        if not words:
            continue
        phrase = '"' + " ".join(words) + '"'
        column = match.group("field")
        parts.append(f"{column} : {phrase}" if column in ("title", "body") else phrase)
    return " OR ".join(parts)


class SearchkitEngine:
    def __init__(self, index_dir: str, fragments: int) -> None:
        from searchkit import open_index

        self.ix = open_index(index_dir)
        self.fragments = fragments

    def run(self, q: Query) -> int:
        results = self.ix.search(
            q.text, limit=PAGE_SIZE, page=q.page, since=q.since, until=q.until, sort=q.sort, fragments=self.fragments
        )
        return results.total


class BaselineEngine:
    def __init__(self, index_dir: str) -> None:
        from whoosh import index
        from whoosh.qparser import OrGroup, QueryParser

        self.ix = index.open_dir(index_dir)
        self.searcher = self.ix.searcher()
        self.parser = QueryParser("body", self.ix.schema, group=OrGroup)

    def run(self, q: Query) -> int:
        from whoosh.query import DateRange

        parsed = self.parser.parse(q.text)
        kwargs: dict[str, Any] = {}
        start, stop = date_bound(q.since, False), date_bound(q.until, True)
        if start or stop:
            kwargs["filter"] = DateRange("date", start, stop)
        if q.sort != "relevance":
            kwargs["sortedby"] = "date"
            kwargs["reverse"] = q.sort == "newest"
        page = self.searcher.search_page(parsed, q.page, pagelen=PAGE_SIZE, **kwargs)
        for hit in page:
            hit.fields()  # what a caller shows: the stored title and body
        return page.total


class Fts5Engine:
    def __init__(self, db_path: str) -> None:
        import sqlite3

        self.db = sqlite3.connect(db_path)

    def run(self, q: Query) -> int:
        where = "docs MATCH ?"
        params: list[Any] = [fts5_match(q.text)]
        start, stop = date_bound(q.since, False), date_bound(q.until, True)
        if start:
            where += " AND date >= ?"
            params.append(start.isoformat())
        if stop:
            where += " AND date <= ?"
            params.append(stop.isoformat())
        order = {"relevance": "bm25(docs, 0.0, 2.0, 1.0, 0.0)", "newest": "date DESC", "oldest": "date ASC"}[q.sort]
        sql = f"SELECT id, title, body, date FROM docs WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        rows = self.db.execute(sql, [*params, PAGE_SIZE, (q.page - 1) * PAGE_SIZE]).fetchall()
        return len(rows)


def queries_main(argv: list[str]) -> None:
    """`run.py _queries SPEC_JSON QUERIES REPEAT`: warm per-query latencies of several engines as JSON.

    SPEC_JSON lists [key, engine, index, fragments]. The engines take turns query by query, so a
    burst of load from elsewhere on the machine falls on all of them alike; each query's time is
    the median of its REPEAT measured runs, after one warm-up pass over the whole set.
    """
    specs, queries_file, repeat = json.loads(argv[0]), Path(argv[1]), int(argv[2])
    engines: dict[str, Any] = {}
    open_seconds: dict[str, float] = {}
    for key, kind, index_dir, fragments in specs:
        opened = time.perf_counter()
        if kind == "searchkit":
            engines[key] = SearchkitEngine(index_dir, fragments)
        elif kind == "baseline":
            engines[key] = BaselineEngine(index_dir)
        else:
            engines[key] = Fts5Engine(index_dir)
        open_seconds[key] = time.perf_counter() - opened
    queries = read_queries(queries_file)
    totals = {key: [engine.run(q) for q in queries] for key, engine in engines.items()}  # the warm-up pass
    times: dict[str, list[list[float]]] = {key: [[] for _ in queries] for key in engines}
    clock = time.perf_counter
    for _ in range(repeat):
        for i, q in enumerate(queries):
            for key, engine in engines.items():
                started = clock()
                engine.run(q)
                times[key][i].append(clock() - started)
    print(json.dumps({
        key: {"open_seconds": open_seconds[key], "times": [statistics.median(t) for t in times[key]], "totals": totals[key]}
        for key in engines
    }))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


# --- reporting ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        info["ram_gb"] = round(int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1)) / 1024**2, 1)  # type: ignore[union-attr]
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
        info["cpu"] = model.group(1).strip() if model else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        import sqlite3

        import whoosh

        info["whoosh"] = ".".join(map(str, whoosh.__version__))
        info["sqlite"] = sqlite3.sqlite_version
    except ImportError:
        pass
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "searchkit"], capture_output=True, text=True).stdout.strip()
        info["commit"] = head + ("+uncommitted" if dirty else "")
    except OSError:
        pass
    return info


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "n/a"
    return f"×{a / b:.2f}"


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))))


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Engine:
    key: str  # searchkit, baseline, fts5, or searchkit@NAME
    label: str
    index: Path
    src: Path | None = None
    build: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)


def run(args: argparse.Namespace) -> dict[str, Any]:
    kind = args.kind or detect_kind(args.corpus)
    corpus = args.corpus or DEFAULT_CORPORA.get(kind)
    if corpus is None or not Path(corpus).exists():
        sys.exit(f"corpus not found: {corpus}; pass --corpus PATH")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="searchkit-bench-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    archive = work / "archive"
    if archive.exists():
        shutil.rmtree(archive)
    archive.mkdir()
    report: dict[str, Any] = {"machine": machine(), "argv": sys.argv, "kind": kind, "times": args.times}

    say(f"preparing {kind} ×{args.times} in {archive}")
    {"reuters": prepare_reuters, "jsonl": prepare_jsonl, "time": prepare_time}[kind](
        Path(corpus), archive, args.times, args.stories_per_file, args.sample
    )
    say("parsing the archive with searchkit's readers (for the baseline and FTS5)")
    started = time.perf_counter()
    corpus_info = parse_archive(archive, work / "docs.pickle", args.jobs or os.cpu_count() or 1)
    corpus_info["parse_seconds"] = time.perf_counter() - started
    report["corpus"] = corpus_info

    engines = [Engine("searchkit", "searchkit", work / "ix-searchkit")]
    for item in args.also:
        name, _, src = item.partition("=")
        engines.append(Engine(f"searchkit@{name}", f"searchkit@{name}", work / f"ix-searchkit-{name}", Path(src).resolve()))
    if not args.no_baseline:
        engines.append(Engine("baseline", "plain Whoosh", work / "ix-baseline"))
    if not args.no_fts5:
        engines.append(Engine("fts5", "SQLite FTS5", work / "fts5" / "docs.db"))

    # Build: each engine in a child process; with --build-runs N the engines take turns N times
    # and the fastest build of each counts (the machine's other load only ever slows a run down).
    for attempt in range(args.build_runs):
        for engine in engines:
            for stale in (engine.index, engine.index.parent if engine.key == "fts5" else None):
                if stale is not None and stale.exists():
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            say(f"building: {engine.label}" + (f" (run {attempt + 1} of {args.build_runs})" if args.build_runs > 1 else ""))
            if engine.key.startswith("searchkit"):
                cmd = searchkit_cmd("index", str(archive), "--index", str(engine.index), "--quiet", "--json")
                result = measured(cmd, work, f"build-{engine.key}", env=source_env(engine.src))
            else:
                child = "_baseline_build" if engine.key == "baseline" else "_fts5_build"
                cmd = [sys.executable, str(Path(__file__).resolve()), child, str(work / "docs.pickle"), str(engine.index)]
                result = measured(cmd, work, f"build-{engine.key}")
            target = engine.index.parent if engine.key == "fts5" else engine.index
            result["index_bytes"] = folder_bytes(target)
            if result["rc"] not in (0, 1):
                say(f"  {engine.label} failed to build (exit {result['rc']})")
            walls = engine.build.get("walls", []) + [result["wall"]]
            if not engine.build or result["wall"] < engine.build["wall"]:
                engine.build = result
            engine.build["walls"] = walls

    # Incremental runs of searchkit: a no-op, then 1% of the files changed.
    incremental: dict[str, Any] = {}
    for engine in engines:
        if not engine.key.startswith("searchkit"):
            continue
        cmd = searchkit_cmd("index", str(archive), "--index", str(engine.index), "--quiet", "--json")
        say(f"no-op re-run: {engine.label}")
        incremental[engine.key] = {"noop": measured(cmd, work, f"noop-{engine.key}", env=source_env(engine.src))}
    touched = touch_files(archive, 0.01)
    for engine in engines:
        if not engine.key.startswith("searchkit"):
            continue
        cmd = searchkit_cmd("index", str(archive), "--index", str(engine.index), "--quiet", "--json")
        say(f"re-index after touching {len(touched)} file(s): {engine.label}")
        incremental[engine.key]["touched"] = measured(cmd, work, f"touch-{engine.key}", env=source_env(engine.src))
    report["touched_files"] = len(touched)
    report["incremental"] = incremental

    # Warm queries: one child per searchkit source tree, and one for plain Whoosh and FTS5, the
    # engines in each taking turns. Each searchkit tree's process holds only its own engines, so
    # every tree is measured in the same company (the baselines' heaps and caches in the same
    # process would weigh on whichever tree shared it). With --query-rounds N the children run N
    # times, taking turns, and each query keeps its fastest round: load from elsewhere on the
    # machine over minutes then falls on every group alike.
    queries = read_queries(args.queries)
    groups: dict[str, tuple[Path | None, list[tuple[str, str, str, str, int]]]] = {}
    for engine in engines:
        if engine.key.startswith("searchkit"):
            _, specs = groups.setdefault(engine.key, (engine.src, []))
            specs.append((engine.key, f"{engine.label} (3 fragments)", "searchkit", str(engine.index), 3))
            specs.append((engine.key + ":nofrag", f"{engine.label} (no fragments)", "searchkit", str(engine.index), 0))
        else:
            groups.setdefault("baselines", (None, []))[1].append((engine.key, engine.label, engine.key, str(engine.index), 0))
    query_results: dict[str, Any] = {}
    for round_number in range(args.query_rounds):
        for src, specs in groups.values():
            names = ", ".join(label for _, label, *_ in specs)
            of_rounds = f", round {round_number + 1} of {args.query_rounds}" if args.query_rounds > 1 else ""
            say(f"queries: {names} ({len(queries)} queries, 1 warm-up pass + {args.repeat} measured, taking turns{of_rounds})")
            cmd = [sys.executable, str(Path(__file__).resolve()), "_queries",
                   json.dumps([[key, kind, index, fragments] for key, _, kind, index, fragments in specs]),
                   str(args.queries), str(args.repeat)]
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=source_env(src), cwd=work)
            if done.returncode != 0:
                say(f"  queries failed (exit {done.returncode})")
                continue
            measured_runs = json.loads(done.stdout.strip().splitlines()[-1])
            for key, label, *_ in specs:
                found = measured_runs[key]
                kept = query_results.setdefault(key, {"label": label, **found, "rounds": 0})
                kept["times"] = [min(a, b) for a, b in zip(kept["times"], found["times"])]
                kept["open_seconds"] = min(kept["open_seconds"], found["open_seconds"])
                kept["rounds"] += 1
    report["queries"] = {"file": str(args.queries), "repeat": args.repeat, "rounds": args.query_rounds, "runs": query_results}

    # Cold: one `searchkit query` process, beside the floor of its imports.
    report["cold"] = cold_costs(engines, args.cold_runs)

    if args.quality:
        report["quality"] = quality()

    report["engines"] = {e.key: {"label": e.label, "build": e.build, "src": str(e.src) if e.src else None} for e in engines}
    print_report(report, engines, queries)
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    else:
        say(f"work folder kept: {work}")
    return report


def _median_wall(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, int]:
    cwd = tempfile.gettempdir()  # not the project folder (see `measured`)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)  # page cache, .pyc
    walls = []
    rc = 0
    for _ in range(runs):
        started = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd).returncode
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), rc


def compile_package(src: Path) -> None:
    """Write the bytecode of `src/searchkit`, as `pip install` does for an installed package.

    The first run of each command would write it too, except where PYTHONDONTWRITEBYTECODE is set;
    then every cold run compiled searchkit's modules anew (~45 ms), which no installed copy does.
    """
    import compileall

    compileall.compile_dir(str(src / "searchkit"), quiet=1)


def cold_costs(engines: list[Engine], runs: int) -> dict[str, Any]:
    say(f"cold start: median of {runs} runs each, searchkit's bytecode compiled first as pip install does")
    cold: dict[str, Any] = {}
    cold["python -c pass"] = _median_wall([sys.executable, "-c", "pass"], runs)[0]
    cold["python -c 'import typer, rich'"] = _median_wall([sys.executable, "-c", "import typer, rich"], runs)[0]
    for engine in engines:
        if not engine.key.startswith("searchkit"):
            continue
        env = source_env(engine.src)
        compile_package(engine.src or ROOT)
        has_query = subprocess.run(
            searchkit_cmd("query", "--help"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tempfile.gettempdir()
        ).returncode == 0
        label = f"{engine.label} query {COLD_QUERY!r} -n 10 --format jsonl"
        if not has_query:
            cold[label] = None
            continue
        wall, rc = _median_wall(
            searchkit_cmd("query", COLD_QUERY, "--index", str(engine.index), "-n", "10", "--format", "jsonl"), runs, env
        )
        cold[label] = wall if rc in (0, 1) else None
    return cold


def quality() -> dict[str, Any]:
    """TIME MAP / nDCG@10 (benchmarks/time_ranking.py) and extraction F1 (benchmarks/extraction.py)."""
    sys.path.insert(0, str(HERE))
    result: dict[str, Any] = {}
    import time_ranking

    corpus = time_ranking.DEFAULT_CORPUS
    if (corpus / "TIME.ALL").exists():
        say("quality: TIME ranking")
        docs = time_ranking.read_docs(corpus)
        queries = time_ranking.read_queries(corpus)
        judgments = time_ranking.read_judgments(corpus, docs)
        with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
            for name, runner in (("baseline", time_ranking.run_plain_whoosh), ("searchkit", time_ranking.run_searchkit)):
                ranked, _, _ = runner(docs, queries, Path(tmp))
                map_score, ndcg = time_ranking.score(ranked, judgments)
                result[f"time_{name}"] = {"map": map_score, "ndcg10": ndcg}
    import extraction

    if (extraction.DEFAULT_CORPUS / "ground-truth.json").exists():
        say("quality: extraction F1")
        done = subprocess.run([sys.executable, str(HERE / "extraction.py"), "--jobs", str(os.cpu_count() or 1)], capture_output=True, text=True)
        result["extraction_output"] = done.stdout
        for line in done.stdout.splitlines():
            parts = line.split()
            if line.startswith("searchkit html reader"):
                result["extraction_searchkit_f1"] = float(parts[-3])
            elif line.startswith("trafilatura") and "defaults" in line:
                result["extraction_trafilatura_f1"] = float(parts[-3])
    return result


def print_report(report: dict[str, Any], engines: list[Engine], queries: list[Query]) -> None:
    m = report["machine"]
    c = report["corpus"]
    print(f"# searchkit benchmark — {report['kind']} ×{report['times']}")
    print(
        f"machine: {m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('ram_gb', '?')} GB RAM, Python {m['python']}, "
        f"Whoosh {m.get('whoosh', '?')}, SQLite {m.get('sqlite', '?')}, searchkit {m.get('commit', '?')}"
    )
    print(
        f"corpus: {c['stories']:,} stories in {c['files']:,} files, {mb(c['file_bytes'])} MB of files, "
        f"{mb(c['text_bytes'])} MB of title+body text (parsed for the baselines in {c['parse_seconds']:.1f} s, not counted)"
    )
    print()
    runs_note = f"; fastest of {len(engines[0].build.get('walls', [1]))} runs taking turns" if len(engines[0].build.get("walls", [1])) > 1 else ""
    print(f"## build (each in a child process; CPU = user+sys of all its processes; peak RSS = largest single process / whole process tree{runs_note})")
    rows = []
    base = next((e for e in engines if e.key == "baseline"), None)
    for e in engines:
        b = e.build
        wall = b["wall"]
        rows.append([
            e.label,
            f"{wall:.1f}",
            f"{b.get('cpu', float('nan')):.1f}",
            f"{c['stories'] / wall:,.0f}",
            f"{c['file_bytes'] / 1e6 / wall:.2f}",
            f"{b['max_process_rss'] / 1e6:,.0f} / {b['peak_tree_rss'] / 1e6:,.0f}",
            mb(b["index_bytes"]),
            f"{b['index_bytes'] / c['text_bytes']:.2f}",
            ratio(base.build["wall"], wall) if base else "n/a",
            " ".join(f"{w:.1f}" for w in b.get("walls", [wall])),
        ])
    print_table(["engine", "wall s", "CPU s", "stories/s", "MB/s", "peak RSS MB", "index MB", "index/text", "speed vs plain", "every run s"], rows)
    for e in engines:
        if e.key.startswith("searchkit") and isinstance(e.build.get("output"), dict):
            out = e.build["output"]
            print(f"{e.label}: {out.get('articles_written', '?'):,} articles, {out.get('files_failed', '?')} file(s) failed, {out.get('seconds', 0):.1f} s inside index_paths")
    print()
    print(f"## incremental (searchkit only; plain Whoosh and FTS5 have no incremental mode: a rebuild costs their build time)")
    rows = []
    for key, inc in report["incremental"].items():
        for what, label in (("noop", "no-op re-run"), ("touched", f"after touching {report['touched_files']} file(s)")):
            r = inc[what]
            out = r.get("output") if isinstance(r.get("output"), dict) else {}
            rows.append([
                f"{key}: {label}", f"{r['wall']:.2f}", f"{out.get('seconds', float('nan')):.2f}",
                str(out.get("files_unchanged", "?")), str(out.get("files_changed", "?")), str(out.get("articles_written", "?")),
                f"{r['max_process_rss'] / 1e6:,.0f}",
            ])
    print_table(["run", "wall s (CLI)", "index_paths s", "unchanged", "changed", "articles written", "peak RSS MB"], rows)
    print()
    runs = report["queries"]["runs"]
    rounds = report["queries"].get("rounds", 1)
    of_rounds = f", the fastest of {rounds} rounds of that" if rounds > 1 else ""
    print(f"## warm queries, ms (in-process; per query the median of {report['queries']['repeat']} runs after a warm-up pass{of_rounds}; page size {PAGE_SIZE})")
    classes = [cls for cls in CLASSES if any(q.cls == cls for q in queries)] + ["all"]
    header = ["class (n)"]
    for key, run_ in runs.items():
        header.append(f"{run_['label']} p50/p95/p99")
    if "baseline" in runs:
        header.append("searchkit/plain p50, p95 (no fragments)")
    rows = []
    for cls in classes:
        idx = [i for i, q in enumerate(queries) if cls == "all" or q.cls == cls]
        row = [f"{cls} ({len(idx)})"]
        stats: dict[str, tuple[float, float, float]] = {}
        for key, run_ in runs.items():
            samples = [run_["times"][i] * 1000 for i in idx]
            stats[key] = (percentile(samples, 50), percentile(samples, 95), percentile(samples, 99))
            row.append("{:.1f} / {:.1f} / {:.1f}".format(*stats[key]))
        if "baseline" in stats and "searchkit:nofrag" in stats:
            s, b = stats["searchkit:nofrag"], stats["baseline"]
            row.append(f"{ratio(s[0], b[0])}, {ratio(s[1], b[1])}")
        rows.append(row)
    print_table(header, rows)
    # Mean hits per class: a sanity check that every engine searched something comparable.
    rows = []
    for cls in classes[:-1]:
        idx = [i for i, q in enumerate(queries) if q.cls == cls]
        rows.append([cls] + [f"{statistics.mean(runs[k]['totals'][i] for i in idx):,.0f}" for k in runs])
    print()
    print("mean matches per query (a sanity check; FTS5: rows on the page only; plain Whoosh's count of a filtered")
    print("OR query ignores the filter, a Whoosh quirk: its page of hits is filtered)")
    print_table(["class"] + [runs[k]["label"] for k in runs], rows)
    print()
    print("## cold start, one process, median wall ms")
    floor = report["cold"].get("python -c 'import typer, rich'")
    rows = []
    for label, wall in report["cold"].items():
        rows.append([label, "n/a" if wall is None else f"{wall * 1000:.0f}", "" if wall is None or not floor else f"{(wall - floor) * 1000:+.0f}"])
    print_table(["command", "ms", "vs import floor"], rows)
    if "quality" in report:
        q = report["quality"]
        print()
        print("## quality")
        if "time_searchkit" in q:
            s, b = q["time_searchkit"], q["time_baseline"]
            print(f"TIME: MAP searchkit {s['map']:.3f} vs plain Whoosh {b['map']:.3f} ({ratio(s['map'], b['map'])}); "
                  f"nDCG@10 {s['ndcg10']:.3f} vs {b['ndcg10']:.3f} ({ratio(s['ndcg10'], b['ndcg10'])})")
        if "extraction_searchkit_f1" in q:
            print(f"extraction F1: searchkit {q['extraction_searchkit_f1']:.4f} vs trafilatura defaults "
                  f"{q.get('extraction_trafilatura_f1', float('nan')):.4f} ({ratio(q['extraction_searchkit_f1'], q.get('extraction_trafilatura_f1'))})")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    children = {"_measure": measure_main, "_baseline_build": baseline_build_main, "_fts5_build": fts5_build_main, "_queries": queries_main}
    if argv and argv[0] in children:
        sys.path.append(str(ROOT))  # after PYTHONPATH, which --also uses to pick another checkout
        children[argv[0]](argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="corpus folder or file (default: ../shared/corpora/reuters21578)")
    parser.add_argument("--kind", choices=("reuters", "jsonl", "time"), help="corpus kind (default: detected)")
    parser.add_argument("--times", type=int, default=1, help="replicate the corpus N times with distinct ids (default: 1)")
    parser.add_argument("--stories-per-file", type=int, default=100,
                        help="split source files into files of this many stories, 0 = keep them whole (default: 100)")
    parser.add_argument("--sample", type=int, default=0, help="only the first N source files, for a quick try (default: all)")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="query set (default: benchmarks/queries.txt)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="measured passes over the queries after the warm-up; each query's median is kept (default: 3)")
    parser.add_argument("--query-rounds", type=int, default=1,
                        help="run every engine group's queries this many times, taking turns, and keep each query's fastest round (default: 1)")
    parser.add_argument("--build-runs", type=int, default=1,
                        help="build every engine this many times, taking turns, and keep the fastest (default: 1)")
    parser.add_argument("--cold-runs", type=int, default=7, help="runs of each cold-start command, median taken (default: 7)")
    parser.add_argument("--jobs", type=int, default=0, help="processes for parsing the corpus for the baselines (default: one per core)")
    parser.add_argument("--also", action="append", default=[], metavar="NAME=SRC",
                        help="also benchmark the searchkit package found in the checkout SRC, labelled NAME (repeatable)")
    parser.add_argument("--no-baseline", action="store_true", help="skip plain Whoosh")
    parser.add_argument("--no-fts5", action="store_true", help="skip SQLite FTS5")
    parser.add_argument("--quality", action="store_true", help="also TIME MAP/nDCG@10 and extraction F1 (a few minutes more)")
    parser.add_argument("--work", help="work folder (default: a new folder in /tmp, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json-out", type=Path, help="also write every number to this JSON file")
    args = parser.parse_args(argv)
    if args.corpus is None:
        args.corpus = DEFAULT_CORPORA["time"] if args.kind == "time" else DEFAULT_CORPORA["reuters"]
    sys.path.append(str(ROOT))
    report = run(args)
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
