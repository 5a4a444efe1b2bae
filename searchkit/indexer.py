"""Indexing: source files → a committed Whoosh index, incrementally, in batches, on every core.

The run has three phases, all under the index's writer lock (`storage.IndexLock`), so a second
indexer waits for the first rather than interleaving batches with it:

1. *Plan.* Discovery lists the files under the given folders; each is compared with the manifest
   (size + mtime, then the content hash when those differ) and sorted into new, changed,
   unchanged and deleted. An unchanged archive ends here: nothing is opened for writing.
2. *Read and index.* New and changed files are cut into one task per worker process (more when
   a task's postings would not fit its share of the writer memory). A worker reads its files
   (decode → reader → Articles → Whoosh documents), inverts their postings and writes them as a
   Whoosh segment of its own, staged outside the index under a `STAGED-<pid>_` name
   (`segment_writer.staging_writer`), a new segment every `batch_articles` articles or when its
   memory share fills. Parsing, analysis and writing so use every core, and whatever a hostile
   file does to a worker costs that file only: a worker that dies outright (a crash in a parser,
   the OOM killer) is found by indexing the files of its unfinished tasks one at a time.
3. *Commit.* For each staged segment, in file order, the one writing process deletes the old
   articles of its files by path, renames the segment into the index, commits (the merge policy
   may fold segments together) and records the files in the manifest. A crash loses at most the
   segments in flight, and the next run picks up from there: files the manifest does not know
   are read again, delete-then-add makes that idempotent, and staged leftovers are removed.

`--rebuild` builds a new index in a hidden sibling folder and swaps it in only when it is
complete: on Linux with one atomic `renameat2(RENAME_EXCHANGE)`; elsewhere with two renames, and a
crash between them is undone by the next run (`recover_interrupted_swap`).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import os
import re
import shutil
import sqlite3
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .discover import FoundFile, WalkProblem, display_path, path_key, walk
from .errors import IndexCorruptError, IndexWriteError, ReadError, SearchkitError
from .models import FileFailure, IndexReport
from .storage import (
    KEEP_ACROSS_REBUILD,
    MANIFEST_NAME,
    STAGING_PREFIX,
    WHOOSH_INDEX_NAME,
    FileRecord,
    IndexLock,
    Manifest,
    check_folder_is_ours,
    check_replaceable,
    clean_leftovers,
    has_index,
    pid_alive,
    read_meta,
    remove_index_folder,
    strangers_in,
    write_error,
)

ProgressCallback = Callable[..., None]

DEFAULT_ROOT = "sample_docs"
_SNIFF_BYTES = 8192
# Lone surrogates come from JSON's "\ud800" escapes; Whoosh and SQLite cannot encode them.
_SURROGATES = re.compile("[\ud800-\udfff]")
_TOC_NAME = re.compile(rf"^_{WHOOSH_INDEX_NAME}_[0-9]+\.toc$")


@dataclass(frozen=True)
class IndexOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    encoding: str | None = None
    rebuild: bool = False
    jobs: int = 0  # reader processes; 0 = one per core
    lock_timeout: float = 5.0
    max_file_size: int = 100 * 1024 * 1024  # bytes; 0 = no limit
    # A batch (one segment, one commit) ends at this many articles, or earlier when its postings
    # fill `_SEGMENT_MEMORY_SHARE` of its worker's share of `writer_memory_mb`. Each batch is a
    # segment until merges fold them together, and queries slow down with the number of segments:
    # on Reuters ×5 the memory share ends batches first, so this limit mostly bounds what a crash loses.
    batch_articles: int = 50000
    writer_memory_mb: int = 512  # shared by the worker processes
    # Pair lists for phrases of common words (`schema.WordPairs`), chosen when the index is made:
    # faster phrase queries for more indexing time and a larger index. None: when the archive
    # indexed first holds about `PAIRS_AUTO_ARTICLES` articles or more (`_chosen_pair_words`).
    phrase_pairs: bool | None = None


@dataclass
class FileResult:
    """What a worker made of one file: the Whoosh documents of its articles, or why there are none."""

    path: str  # the file's `path_key`: how the index and the manifest name it
    relpath: str
    root: str
    size: int
    mtime_ns: int
    sha256: str = ""
    documents: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # in no known format
    # The documents' postings, inverted here for the Whoosh writer (`segment_writer.invert_documents`).
    inverted: Any = None
    articles: int = 0  # how many documents; they stay behind when a reader process indexed them itself


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_file(
    found: FoundFile,
    encoding: str | None,
    max_file_size: int,
    invert: bool = False,
    pair_words: tuple[str, ...] = (),
    prefix: int = 0,
) -> FileResult:
    """Read one source file into Whoosh documents. Runs in a worker process; never raises for bad input.

    With `invert`, also takes the documents' postings out for `DirectSegmentWriter.add_documents`.
    `pair_words` are the index's common words, most common first (`schema.WordPairs`). With
    `prefix`, only the file's first `prefix` bytes are read (a sample: an article cut off there is
    read as far as it goes, or dropped).
    """
    from . import readers
    from .decode import decode, looks_binary
    from .models import Source

    result = FileResult(found.key, found.relpath, found.root, found.size, found.mtime_ns)
    shown = display_path(found.path)
    try:
        # The size is checked from the walk's stat, before the file is opened: a huge file costs no memory.
        if max_file_size and found.size > max_file_size:
            result.error = f"larger than --max-file-size ({_megabytes(found.size)} > {_megabytes(max_file_size)})"
            return result
        with open(found.path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            suffix_known = found.relpath.lower().endswith(readers.known_suffixes())
            if not suffix_known:
                # Sniff before reading a file of unknown kind in full: most are not articles.
                if looks_binary(head) or readers.reader_for(found.relpath, decode(head, encoding=encoding).text) is None:
                    result.skipped = "not in a format searchkit reads"
                    return result
            # The file may have grown since the walk: read no more than the limit allows. In
            # chunks, since read(n) allocates n bytes up front, however small the file.
            chunks, size = [head], len(head)
            while (not max_file_size or size <= max_file_size) and (not prefix or size < prefix):
                chunk = handle.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)
            del chunks
            if prefix:
                data = data[:prefix]
        if max_file_size and len(data) > max_file_size:
            result.error = f"larger than --max-file-size ({_megabytes(max_file_size)}; it grew while being indexed)"
            return result
        result.sha256 = hashlib.sha256(data).hexdigest()
        if not data.strip():
            result.error = "empty file"
            return result
        if looks_binary(data[:_SNIFF_BYTES]):
            result.error = "binary data, not text (wrong file extension?)"
            return result
        decoded = decode(data, encoding=encoding)
        del data
        if decoded.method == "fallback":
            result.warnings.append(
                f"{shown}: encoding not recognised; decoded as {decoded.encoding} with replacement characters"
            )
        reader = readers.reader_for(found.relpath, decoded.text[:_SNIFF_BYTES])
        if reader is None:
            result.skipped = "not in a format searchkit reads"
            return result
        articles = []
        for item in reader.read(decoded.text, Source(found.relpath, decoded)):
            if isinstance(item, readers.ReadWarning):
                result.warnings.append(f"{shown}: {item.message}")
            else:
                if item.date is not None and item.date.implausible:
                    result.warnings.append(f"{shown}: {item.id}: implausible date {item.date.isoformat()} kept")
                if item.format == "html" and not item.body:
                    # The HTML reader keeps a page whose text it cannot find (nested past the
                    # parser's depth limit, say) by its title: say so rather than index it silently.
                    result.warnings.append(f"{shown}: no body text found (markup nested too deeply?); indexed the title only")
                articles.append(item)
        if not articles:
            result.error = "no articles found"
            return result
        result.documents = _documents(articles, found.key, _schema(pair_words)["pairs"] if pair_words else None)
        if invert:
            from .segment_writer import invert_documents

            result.inverted = invert_documents(result.documents, _schema(pair_words))
    except ReadError as error:
        result.error = error.reason
    except OSError as error:
        result.error = error.strerror or str(error)
    except SearchkitError as error:
        result.error = str(error)
    except RecursionError:
        result.error = "structure nested too deeply to read"
    except MemoryError:
        result.error = "too large to read into memory"
    except Exception as error:  # a reader bug must cost one file, not the run
        result.error = f"unexpected {error.__class__.__name__}: {error}"
    if result.error:
        result.documents = []
        result.inverted = None
    return result


@functools.lru_cache(maxsize=None)
def _schema(pair_words: tuple[str, ...] = ()) -> Any:
    from .schema import build_schema

    return build_schema(pair_words)


def _megabytes(size: int) -> str:
    # MiB, as --max-file-size counts them; one decimal so that 1.4 MB > 1 MB does not read "1 MB > 1 MB".
    return f"{size / 1048576:.1f} MB".replace(".0 MB", " MB")


def _documents(articles: list[Any], file_key: str, word_pairs: Any = None) -> list[dict[str, Any]]:
    """Whoosh documents for a file's articles, made here so a bad one fails its file, not the run."""
    from dataclasses import fields

    from .schema import to_document

    documents = []
    for article in articles:
        # Lone surrogates (JSON's "\ud800" escapes) cannot be encoded by Whoosh or SQLite.
        dirty = {
            f.name: _SURROGATES.sub("\ufffd", value)
            for f in fields(article)
            if isinstance(value := getattr(article, f.name), str) and _SURROGATES.search(value)
        }
        if isinstance(article.keywords, tuple) and any(_SURROGATES.search(k) for k in article.keywords):
            dirty["keywords"] = tuple(_SURROGATES.sub("\ufffd", k) for k in article.keywords)
        documents.append(to_document(replace(article, **dirty) if dirty else article, file_key, word_pairs))
    return documents


def _take_outcome(
    result: FileResult, batch: list[FileRecord], warnings: list[str], skipped: list[str], failures: list[FileFailure]
) -> bool:
    """Note a file's warnings, and a skipped or failed file; True when its articles are to be indexed.

    A changed file that no longer reads keeps its old articles (and its old manifest entry, so the
    next run tries again): nothing indexed is lost.
    """
    warnings.extend(result.warnings)
    if result.skipped:
        skipped.append(display_path(result.path))
        batch.append(FileRecord(result.path, result.root, result.size, result.mtime_ns, "", 0, "skipped"))
        return False
    if result.error:
        failures.append(FileFailure(display_path(result.path), result.error))
        return False
    return True


def _worker(args: tuple[FoundFile, str | None, int]) -> FileResult:
    return read_file(*args)


@dataclass
class _Plan:
    to_read: list[FoundFile] = field(default_factory=list)
    unchanged: list[FoundFile] = field(default_factory=list)
    rehashed: list[FileRecord] = field(default_factory=list)  # same content, new mtime
    deleted: list[str] = field(default_factory=list)
    problems: list[WalkProblem] = field(default_factory=list)
    missing_roots: list[str] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    seen: int = 0

    def report(
        self, index_dir: Path, *, written: int, deleted: int, started: float,
        failures: list[FileFailure], warnings: list[str], skipped: list[str], wrote: bool,
    ) -> IndexReport:
        """What a run that followed this plan did, `started` being its `time.perf_counter()`."""
        return IndexReport(
            index_dir=str(index_dir),
            files_seen=self.seen,
            files_new=self.new,
            files_changed=self.changed,
            files_unchanged=len(self.unchanged),
            files_deleted=len(self.deleted),
            files_skipped=len(skipped),
            files_failed=len(failures),
            articles_written=written,
            articles_deleted=deleted,
            seconds=time.perf_counter() - started,
            failures=tuple(failures),
            warnings=tuple(warnings),
            skipped=tuple(skipped),
            wrote=wrote,
        )


def _plan(roots: list[str], known: dict[str, FileRecord], options: IndexOptions, index_dir: Path) -> _Plan:
    plan = _Plan()
    seen_keys: set[str] = set()
    walked_roots: set[str] = set()
    for root in roots:
        if not os.path.exists(root):
            plan.missing_roots.append(root)
            plan.problems.append(WalkProblem(display_path(root), "no such file or folder (its indexed articles are kept)"))
            continue
        walked_roots.add(path_key(os.path.abspath(root)))
        for item in walk(root, include=options.include, exclude=options.exclude, skip_dirs=(str(index_dir),)):
            if isinstance(item, WalkProblem):
                plan.problems.append(item)
                continue
            key = item.key
            if key in seen_keys:
                continue  # the same file reached from two roots
            seen_keys.add(key)
            plan.seen += 1
            record = known.get(key)
            if record is None:
                plan.new += 1
                plan.to_read.append(item)
            elif record.size == item.size and record.mtime_ns == item.mtime_ns:
                plan.unchanged.append(item)
            elif record.sha256 and record.size == item.size and _safe_hash(item.path) == record.sha256:
                plan.unchanged.append(item)
                plan.rehashed.append(
                    FileRecord(key, record.root, item.size, item.mtime_ns, record.sha256, record.articles, record.status)
                )
            else:
                plan.changed += 1
                plan.to_read.append(item)
    for path, record in known.items():
        if path not in seen_keys and record.root in walked_roots:
            plan.deleted.append(path)
    return plan


def _safe_hash(path: str) -> str:
    try:
        return _hash_file(path)
    except OSError:
        return ""


def _mp_context() -> Any:
    import multiprocessing

    # Not "fork": a forked reader would inherit the index's lock, and one orphaned by a kill -9 of
    # the indexer would keep the index locked until it exited.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _read_all(files: list[FoundFile], options: IndexOptions) -> Iterator[FileResult]:
    """Every file read into documents by worker processes, in order (the cluster backend's path)."""
    jobs = options.jobs or os.cpu_count() or 1
    tasks = [(f, options.encoding, options.max_file_size) for f in files]
    if not _worth_processes(files, jobs):
        for task in tasks:
            yield read_file(*task)
        return
    context = _mp_context()
    for task, result in _in_order(tasks, _worker, jobs, context):
        yield result if result is not None else _read_alone(task, context)


def _worth_processes(files: list[FoundFile], jobs: int) -> bool:
    # Starting processes costs more than reading a few small files.
    return jobs > 1 and len(files) > 1 and sum(f.size for f in files) >= 2_000_000


def _in_order(tasks: list[Any], work: Callable[[Any], Any], jobs: int, context: Any) -> Iterator[tuple[Any, Any]]:
    """(task, `work(task)`) for each task, run in `jobs` worker processes, in task order.

    Read-ahead is bounded (results wait for the writer, and memory should not grow with the
    archive). When a process dies, the tasks it may have held come back with None as their
    result, for the caller to run again one at a time, and the rest go on in a new pool.
    """
    queue = deque(tasks)
    while queue:
        orphans: list[Any] = []
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            pending: deque[tuple[Any, Any]] = deque()
            try:
                while queue and len(pending) < jobs * 2:
                    # Taken off the queue only once submitted: submit() raises on a broken pool,
                    # and a task popped before that would be lost without a word.
                    pending.append((queue[0], pool.submit(work, queue[0])))
                    queue.popleft()
                while pending:
                    result = pending[0][1].result()
                    task = pending.popleft()[0]
                    yield task, result
                    if queue:
                        pending.append((queue[0], pool.submit(work, queue[0])))
                        queue.popleft()
            except BrokenProcessPool:
                orphans = [task for task, _ in pending]
        for task in orphans:
            yield task, None


def _read_alone(task: tuple[FoundFile, str | None, int], context: Any) -> FileResult:
    """Read one file in a process of its own, to tell whether it is what killed a reader."""
    found = task[0]
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(_worker, task).result()
    except BrokenProcessPool:
        result = FileResult(found.key, found.relpath, found.root, found.size, found.mtime_ns)
        result.error = "the reader process died on this file (out of memory, or a crash in a parser)"
        return result


@dataclass
class _SegmentTask:
    """Files for one reader process to read and index into segments of its own."""

    files: list[FoundFile]
    encoding: str | None
    max_file_size: int
    index_dir: str
    memory_mb: int
    batch_articles: int
    pair_words: tuple[str, ...] = ()


@dataclass
class _SegmentBatch:
    """Part of what a reader process made of a `_SegmentTask`: files' results (documents left out)
    and the staged segment holding their articles (`segment_writer.staging_writer`), if any.
    The writing process commits each batch on its own."""

    results: list[FileResult] = field(default_factory=list)
    segment: Any = None


def _build_segments(task: _SegmentTask) -> list[_SegmentBatch]:
    """Read a task's files and write their articles into staged segments, a new one whenever
    `batch_articles` or the memory share is reached. Runs in a reader process."""
    from . import whoosh_readers
    from .segment_writer import staging_writer
    from .stored_codec import BlockStoredCodec

    whoosh_readers.install()
    batches = [_SegmentBatch()]
    writer = None
    in_segment = 0
    try:
        for found in task.files:
            result = read_file(found, task.encoding, task.max_file_size, True, task.pair_words)
            batches[-1].results.append(result)
            if not result.documents:
                continue
            if writer is None:
                writer = staging_writer(
                    task.index_dir, f"{STAGING_PREFIX}{os.getpid()}", _schema(task.pair_words), BlockStoredCodec(), task.memory_mb
                )
            writer.add_documents(result.documents, result.inverted)
            result.articles = len(result.documents)
            result.documents, result.inverted = [], None
            in_segment += result.articles
            if in_segment >= task.batch_articles or _memory_nearly_full(writer):
                batches[-1].segment = writer.write_segment()
                batches.append(_SegmentBatch())
                writer, in_segment = None, 0
        if writer is not None:
            batches[-1].segment = writer.write_segment()
            writer = None
    finally:
        if writer is not None and not writer.is_closed:
            writer.cancel()  # its files are removed with the run's other staged leftovers
    return [batch for batch in batches if batch.results]


def _segment_tasks(
    files: list[FoundFile], options: IndexOptions, index_dir: Path, jobs: int, pair_words: tuple[str, ...] = ()
) -> list[_SegmentTask]:
    """Files in order, cut into tasks of about equal size: one per reader process (each task is a
    segment, and fewer segments make smaller indexes and faster queries), or more when a task's
    postings would not fit the process's share of the writer memory (a process also ends a
    segment early when they do not)."""
    total = sum(f.size for f in files)
    memory_mb = max(1, options.writer_memory_mb // jobs)
    # Buffered postings take ~5× the text they come from (Reuters: 7.8 MB of SGML, 39.8 MB) and
    # ~7× with pair lists' postings as first written; ÷7 is the sizing the session-7 runs measured.
    size = max(1, memory_mb * 1024 * 1024 // 7)
    if jobs > 1:
        size = min(size, total // jobs + 1)
    tasks_needed = max(1, -(-total // size))
    size = max(1, -(-total // tasks_needed))  # equal shares rather than full tasks and a small rest
    tasks: list[_SegmentTask] = []
    current: list[FoundFile] = []
    current_size = 0
    for found in files:
        # Cut where a file's middle would cross the share, so that tasks come out near it.
        if current and current_size + found.size // 2 > size:
            tasks.append(_SegmentTask(current, options.encoding, options.max_file_size, str(index_dir), memory_mb, options.batch_articles, pair_words))
            current, current_size = [], 0
        current.append(found)
        current_size += found.size
    if current:
        tasks.append(_SegmentTask(current, options.encoding, options.max_file_size, str(index_dir), memory_mb, options.batch_articles, pair_words))
    return tasks


def _segment_batches(
    files: list[FoundFile], options: IndexOptions, index_dir: Path, pair_words: tuple[str, ...] = ()
) -> Iterator[_SegmentBatch]:
    """Segments for `files`, built by reader processes, in file order (see `_build_segments`)."""
    jobs = options.jobs or os.cpu_count() or 1
    if not _worth_processes(files, jobs):
        for task in _segment_tasks(files, options, index_dir, 1, pair_words):
            yield from _build_segments(task)
        return
    context = _mp_context()
    for task, batches in _in_order(_segment_tasks(files, options, index_dir, jobs, pair_words), _build_segments, jobs, context):
        if batches is not None:
            yield from batches
            continue
        # Its process died (out of memory, a crash in a parser): each file again in a process of
        # its own, to tell which one it was.
        for found in task.files:
            yield from _build_alone(replace(task, files=[found]), context)


def _build_alone(task: _SegmentTask, context: Any) -> list[_SegmentBatch]:
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(_build_segments, task).result()  # type: ignore[no-any-return]
    except BrokenProcessPool:
        found = task.files[0]
        result = FileResult(found.key, found.relpath, found.root, found.size, found.mtime_ns)
        result.error = "the reader process died on this file (out of memory, or a crash in a parser)"
        return [_SegmentBatch([result])]


# Segments of like size merge once there are this many of them (see `_merge_by_tiers`).
MERGE_FACTOR = 10
# A segment with more deleted articles than this share is rewritten at the next merge.
_MOST_DELETED = 0.5


def _open_writer(ix: Any, options: IndexOptions, pair_words: tuple[str, ...] = ()) -> Any:
    # The run holds the index's lock (IndexLock) from start to end; the writer must not take it again.
    # Segments are written as separate files, not one compound `.seg`: every process that opens a
    # compound segment copies it into memory whole (250 ms and 300 MB at 100k articles), while
    # separate files are read where they lie. The codec writes stored fields compressed in blocks
    # (`stored_codec`); segments merged in by `_merge_by_tiers` are rewritten with it too.
    # `DirectSegmentWriter` writes the same files as Whoosh's own writer, without a Python tuple
    # per posting, and merges segments block by block (`segment_writer`).
    from .segment_writer import DirectSegmentWriter
    from .stored_codec import BlockStoredCodec

    writer = DirectSegmentWriter(ix, _lk=False, limitmb=options.writer_memory_mb, compound=False, codec=BlockStoredCodec())
    writer.mergetype = _merge_by_tiers
    if "pairs" in writer.schema and writer.schema["pairs"].words != pair_words:
        # The common words of a new index: its table of contents keeps them from this commit on.
        writer.schema["pairs"].set_words(pair_words)
    return writer


def _has_pair_words(index_dir: Path) -> bool:
    """Whether the index in `index_dir` (if any, and readable) has common words to pair."""
    from whoosh.index import open_dir

    try:
        ix = open_dir(str(index_dir), indexname=WHOOSH_INDEX_NAME)
    except Exception:  # no index, or one this run is about to replace anyway
        return False
    try:
        return bool(_pair_words(ix.schema))
    finally:
        ix.close()


def _pair_words(schema: Any) -> tuple[str, ...]:
    """The index's common words (`schema.WordPairs`), most common first."""
    return tuple(schema["pairs"].words) if "pairs" in schema else ()


# The first articles of a new index tell which words are common (`schema.common_words`): about
# this many, from at most this many files or bytes (read once more, before the run; of a larger
# file, its first bytes only).
_SAMPLE_ARTICLES = 500
_SAMPLE_FILES = 600
_SAMPLE_BYTES = 8 * 1024 * 1024


# By default a new index pairs its common words when the archive it is made from holds about this
# many articles or more (estimated from the sample's articles per byte), and never below this many
# bytes of files (no sample is read then). Below that, phrases take a few milliseconds without pairs
# (Reuters, 21,578 stories: p50 3.7 ms), and pairs would add ~20% to the build for little; from
# there on phrase time grows with the archive and pairs cost less of the build (Reuters ×5: p50
# 13.2 → 8.7 ms, build +14%).
PAIRS_AUTO_ARTICLES = 50_000
_PAIRS_AUTO_MIN_BYTES = 32 * 1024 * 1024


def _chosen_pair_words(files: list[FoundFile], options: IndexOptions, warnings: list[str]) -> tuple[str, ...]:
    """The common words a new index made from `files` pairs (`schema.WordPairs`): none when
    `options.phrase_pairs` is False, or when it is None (the default) and the archive is small.
    When the sample cannot be read, a warning says the index goes without."""
    if options.phrase_pairs is False:
        return ()
    limit = options.max_file_size
    files = [found for found in files if not limit or found.size <= limit]  # the others are not indexed
    total = sum(found.size for found in files)
    if options.phrase_pairs is None and total < _PAIRS_AUTO_MIN_BYTES:
        return ()
    sampled = _sample_common_words(files, options)
    if sampled is None:
        warnings.append(
            "could not read a sample of the first articles (its reader process died): this index has no "
            "pair lists, and phrases of common words are answered from word positions, more slowly"
        )
        return ()
    words, articles, read = sampled
    if options.phrase_pairs is None and articles * total < PAIRS_AUTO_ARTICLES * read:
        return ()
    return words


def _sample_common_words(files: list[FoundFile], options: IndexOptions) -> tuple[tuple[str, ...], int, int] | None:
    """(the common words of the first articles of `files`, how many articles and bytes of files
    they were read from).

    Read in a process of its own when the run uses processes, like every other file of it: a file
    that kills its reader must not take the indexer with it (None then)."""
    sample = files[:_SAMPLE_FILES]
    if not _worth_processes(files, options.jobs or os.cpu_count() or 1):
        return _common_words_of(sample, options.encoding, options.max_file_size)
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=_mp_context()) as pool:
            return pool.submit(_common_words_of, sample, options.encoding, options.max_file_size).result()  # type: ignore[no-any-return]
    except BrokenProcessPool:
        return None


def _common_words_of(files: list[FoundFile], encoding: str | None, max_file_size: int) -> tuple[tuple[str, ...], int, int]:
    from .schema import PAIRED_FIELDS, PreAnalyzed, common_words

    terms_of: list[set[bytes]] = []
    read = 0
    for found in files:
        if len(terms_of) >= _SAMPLE_ARTICLES or read >= _SAMPLE_BYTES:
            break
        # Of a large file (a dump of a whole archive), only as much as the sample still takes.
        budget = _SAMPLE_BYTES - read
        read += min(found.size, budget)
        for document in read_file(found, encoding, max_file_size, prefix=budget).documents:
            terms: set[bytes] = set()
            for name in PAIRED_FIELDS:
                value = document.get(name)
                if type(value) is PreAnalyzed:
                    terms.update(value[0])
            terms_of.append(terms)
    words = common_words([term.decode("utf-8", "surrogatepass") for term in terms] for terms in terms_of)
    return words, len(terms_of), read


# A segment ends when its buffered postings reach this share of its process's writer memory: the
# rest is for the flush (which holds a term's postings and blocks besides), the documents in
# flight and Python itself. At this share Reuters ×5 comes out as 8 segments of 10–17k stories, as
# before the estimate was made exact (larger segments make date-filtered queries slower: a range's
# documents are a set per segment), and a run peaks near 500 MB with --memory 512.
_SEGMENT_MEMORY_SHARE = 0.42


def _memory_nearly_full(writer: Any) -> bool:
    return bool(writer.memory_used() > _SEGMENT_MEMORY_SHARE * writer.memory_limit())


def _merge_by_tiers(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy: merge segments only with others of the same size tier.

    A segment's tier is the number of digits of its article count in base `MERGE_FACTOR`. When a
    tier holds `MERGE_FACTOR` segments they become one segment of the next tier, so each posting is
    rewritten once per tier it climbs (log N times in all) and an index holds at most
    `MERGE_FACTOR - 1` segments per tier. Whoosh's own policy merges everything below a point
    that grows with the index, which rewrote the whole index every ~20 commits of a long run.
    Segments that are mostly deleted articles are merged too, to give their space back.
    """
    from whoosh.reading import SegmentReader

    tiers: dict[int, list[Any]] = {}
    merge: list[Any] = []
    for segment in segments:
        total = segment.doc_count_all()
        if total and segment.deleted_count() / total > _MOST_DELETED:
            merge.append(segment)
        else:
            tiers.setdefault(_tier(segment.doc_count()), []).append(segment)
    for tier in sorted(tiers):
        if len(tiers[tier]) >= MERGE_FACTOR:
            merge.extend(tiers[tier])
    for segment in merge:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    return [segment for segment in segments if segment not in merge]


def _tier(articles: int) -> int:
    tier = 0
    while articles >= MERGE_FACTOR:
        articles //= MERGE_FACTOR
        tier += 1
    return tier


def _ensure_index(index_dir: Path) -> Any:
    """Open the Whoosh index in `index_dir`, creating it and the manifest as needed. Call under the lock."""
    from whoosh import index as whoosh_index

    from .schema import build_schema
    from .storage import open_whoosh

    created = False
    # Whoosh's exists_in() opens the table of contents, and a damaged one would raise from here;
    # whether there is one is all that is asked. open_whoosh reports the damage.
    if not any(_TOC_NAME.match(name) for name in os.listdir(index_dir)):
        if has_index(index_dir):
            with Manifest(index_dir) as manifest:
                if manifest.get_meta("app") is not None:
                    manifest.check_version()
                if any(record.articles for record in manifest.iter_files()):
                    # Creating a new table of contents would delete the segments and leave a
                    # manifest that believes every file is indexed.
                    raise IndexCorruptError(f"the index in {index_dir} has lost its table of contents (_{WHOOSH_INDEX_NAME}_*.toc)")
        whoosh_index.create_in(str(index_dir), build_schema(), indexname=WHOOSH_INDEX_NAME).close()
        created = True
    # The manifest after the Whoosh files: a folder with a manifest always opens. A manifest
    # without the marker (a crash between the two, or an empty file some tool created) is
    # stamped only over an index that holds nothing yet.
    meta = read_meta(index_dir)
    if not has_index(index_dir) or (meta or {}).get("app") is None:
        if not created and _document_count(index_dir):
            reason = "cannot be read" if has_index(index_dir) and meta is None else "lacks searchkit's marker"
            raise IndexCorruptError(f"{index_dir / MANIFEST_NAME}: the manifest {reason}")
        if has_index(index_dir):
            with Manifest(index_dir) as manifest:
                manifest.stamp()
        else:
            Manifest.create(index_dir)
    return open_whoosh(index_dir)


def index_paths(
    paths: Iterable[str],
    index_dir: str | os.PathLike[str],
    options: IndexOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> IndexReport:
    """Index the files under `paths` into the index at `index_dir`; return what was done.

    With no paths, re-index the folders recorded in the index, or `./sample_docs` for a new one.
    Files that cannot be read are reported in the result, never raised; errors that make the whole
    run impossible (a locked, incompatible, damaged or unwritable index) raise `SearchkitError`,
    and leave the last committed index as it was.
    """
    options = options or IndexOptions()
    index_dir = Path(index_dir)
    notes = recover_interrupted_swap(index_dir)
    roots = [os.path.abspath(p) for p in paths]
    if not roots and has_index(index_dir):
        with Manifest(index_dir) as manifest:
            roots = manifest.roots()
    if not roots:
        roots = [os.path.abspath(DEFAULT_ROOT)]
    if options.rebuild:
        report = _rebuild(roots, index_dir, options, progress)
    else:
        report = _index_into(roots, index_dir, options, progress)
    if notes:
        report = replace(report, warnings=(*notes, *report.warnings))
    return report


def _make_folder(index_dir: Path) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_error(index_dir, error) or IndexWriteError(
            f"{index_dir}: cannot create the index folder ({error.strerror or error})"
        ) from error


def _index_into(roots: list[str], index_dir: Path, options: IndexOptions, progress: ProgressCallback | None) -> IndexReport:
    if not has_index(index_dir):
        check_folder_is_ours(index_dir)
    _make_folder(index_dir)
    with IndexLock(index_dir, options.lock_timeout) as lock:
        notes = []
        if lock.stale is not None:
            notes.append(f"{index_dir}: cleared a stale lock left by {lock.stale.describe()}, which is no longer running")
        clean_leftovers(index_dir)
        _remove_stale_siblings(index_dir)
        try:
            return _write(roots, index_dir, options, progress, notes)
        except (OSError, sqlite3.OperationalError) as error:
            # Disk full, read-only, permissions: the last commit stands; say so instead of a traceback.
            converted = write_error(index_dir, error)
            if converted is None:
                raise
            raise converted from error
        finally:
            # Segments staged by reader processes but never committed (the run failed or was stopped).
            clean_leftovers(index_dir)


def _write(
    roots: list[str], index_dir: Path, options: IndexOptions, progress: ProgressCallback | None, notes: list[str]
) -> IndexReport:
    started = time.perf_counter()
    notify = progress or (lambda *args, **kwargs: None)
    ix = _ensure_index(index_dir)
    with Manifest(index_dir) as manifest:
        known = manifest.files()
        plan = _plan(roots, known, options, index_dir)
        failures = [FileFailure(p.path, p.reason) for p in plan.problems]
        warnings: list[str] = list(notes)
        skipped: list[str] = []
        written = deleted_articles = 0
        wrote = False
        index_was_empty = ix.doc_count_all() == 0
        pair_words = _pair_words(ix.schema)
        if index_was_empty and plan.to_read:
            # A new (or emptied) index: if it pairs words (`_chosen_pair_words`), they come from its first articles, now.
            pair_words = _chosen_pair_words(plan.to_read, options, warnings)
        if plan.rehashed:
            manifest.record(plan.rehashed, [])
        if plan.to_read or plan.deleted:
            notify("start", 0, len(plan.to_read))
            manifest.begin_run()
            writer = _open_writer(ix, options, pair_words)
            batch: list[FileRecord] = []
            batch_deleted: list[str] = []
            done = 0
            try:
                for path in plan.deleted:
                    deleted_articles += writer.delete_by_term("path", path)
                    batch_deleted.append(path)
                # Reader processes write the segments; this process replaces old versions of
                # the files, lists the new segments in a commit and records the files as indexed.
                for built in _segment_batches(plan.to_read, options, index_dir, pair_words):
                    for result in built.results:
                        done += 1
                        notify("file", done, len(plan.to_read), result.relpath)
                        if not _take_outcome(result, batch, warnings, skipped, failures):
                            continue
                        if not index_was_empty or result.path in known:
                            # Replace whatever this file gave before (also after a crash the manifest missed).
                            deleted_articles += writer.delete_by_term("path", result.path)
                        written += result.articles
                        batch.append(
                            FileRecord(result.path, result.root, result.size, result.mtime_ns, result.sha256, result.articles, "ok")
                        )
                    if built.segment is not None:
                        writer.adopt(built.segment)
                    notify("commit")
                    writer.commit()
                    manifest.record(batch, batch_deleted)
                    batch, batch_deleted = [], []
                    writer = _open_writer(ix, options, pair_words)
                notify("commit")
                writer.commit()
                manifest.record(batch, batch_deleted)
                manifest.end_run()
                wrote = True
            except BaseException:
                if not writer.is_closed:
                    try:
                        writer.cancel()
                    except Exception:
                        pass  # an unwritable folder may refuse even this; the last commit stands either way
                raise
            finally:
                notify("end")
        elif manifest.run_in_progress() is not None:
            # A run was killed after its last commit: whatever it committed is recorded by now
            # (the files it did not record were read again), so the index is whole.
            manifest.end_run()
        manifest.add_roots(roots)
    ix.close()
    return plan.report(
        index_dir, written=written, deleted=deleted_articles, started=started,
        failures=failures, warnings=warnings, skipped=skipped, wrote=wrote,
    )


# --- rebuild -------------------------------------------------------------------------------------


def _sibling(index_dir: Path, kind: str, pid: int | None = None) -> Path:
    """`.NAME.rebuild-PID` (a fresh index being built) or `.NAME.old-PID` (the old one, mid-swap)."""
    return index_dir.parent / f".{index_dir.name}.{kind}-{pid if pid is not None else os.getpid()}"


def _siblings(index_dir: Path, kind: str) -> list[tuple[Path, int]]:
    found = []
    prefix = f".{index_dir.name}.{kind}-"
    try:
        entries = list(index_dir.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name[len(prefix):].isdigit() and entry.is_dir():
            found.append((entry, int(entry.name[len(prefix):])))
    return found


def recover_interrupted_swap(index_dir: Path) -> list[str]:
    """Put back an index that a crash left in its backup folder mid-swap (only where the swap is not atomic)."""
    if index_dir.exists() or index_dir.is_symlink():
        return []
    for backup, pid in sorted(_siblings(index_dir, "old"), key=lambda item: item[0].stat().st_mtime, reverse=True):
        if pid_alive(pid) and pid != os.getpid():
            continue  # a rebuild in the middle of its swap right now
        if has_index(backup) and not strangers_in(backup):
            backup.rename(index_dir)
            return [f"{index_dir}: restored the index from {backup.name}, left by a rebuild that was interrupted mid-swap"]
    return []


def _remove_stale_siblings(index_dir: Path) -> None:
    # Called under the index's lock, so no other rebuild of this index is running: what is left
    # was left by a killed one. Only folders holding nothing but our files are removed.
    for kind in ("rebuild", "old"):
        for folder, pid in _siblings(index_dir, kind):
            if pid != os.getpid() and pid_alive(pid):
                continue
            if not strangers_in(folder):
                remove_index_folder(folder)


def _rebuild(roots: list[str], index_dir: Path, options: IndexOptions, progress: ProgressCallback | None) -> IndexReport:
    """Build a fresh index beside the old one; swap it in only when complete."""
    shown = index_dir
    # A symlinked index folder is rebuilt where it points, and the link is left alone.
    index_dir = Path(os.path.realpath(index_dir))
    check_replaceable(index_dir)
    existed = index_dir.exists()
    _make_folder(index_dir)  # a home for the lock, even for an index built for the first time
    fresh = _sibling(index_dir, "rebuild")
    swapped = False
    try:
        with IndexLock(index_dir, options.lock_timeout) as lock:
            check_replaceable(index_dir)  # again, now that nobody else can write to it
            _remove_stale_siblings(index_dir)
            for root in roots:
                if not os.path.exists(root):
                    # A rebuild without one of the indexed folders would drop all its articles.
                    raise ReadError(display_path(root), "no such file or folder; the rebuild was not started and the old index is kept")
            if fresh.exists():
                remove_index_folder(fresh)
            # Unless told otherwise, an index that has pair lists keeps them through a rebuild (with
            # new common words), whatever the archive's size.
            phrase_pairs = True if options.phrase_pairs is None and _has_pair_words(index_dir) else options.phrase_pairs
            try:
                report = _index_into(roots, fresh, replace(options, rebuild=False, phrase_pairs=phrase_pairs), progress)
                old_documents = _document_count(index_dir)
                if report.articles_written == 0 and old_documents:
                    raise ReadError(
                        ", ".join(display_path(r) for r in roots),
                        f"the rebuild found no articles; the old index ({old_documents} articles) is kept",
                    )
                for name in KEEP_ACROSS_REBUILD:
                    if (index_dir / name).is_file():
                        shutil.copy2(index_dir / name, fresh / name)
                _swap(index_dir, fresh)
                swapped = True
            except BaseException:
                if fresh.exists() and not swapped:
                    remove_index_folder(fresh)
                raise
            notes = []
            if lock.stale is not None:
                notes.append(f"{shown}: cleared a stale lock left by {lock.stale.describe()}, which is no longer running")
        # `fresh` now holds the old index (and the lock file we held): delete our files only.
        left = remove_index_folder(fresh) if fresh.exists() else []
        if left:
            notes.append(f"{fresh}: the old index was kept there because the folder also holds {', '.join(left[:3])}")
    except BaseException:
        if not existed and not swapped and index_dir.exists() and not strangers_in(index_dir) and not has_index(index_dir):
            remove_index_folder(index_dir)  # made only to hold the lock
        raise
    return replace(report, index_dir=str(shown), warnings=(*notes, *report.warnings))


def _document_count(index_dir: Path) -> int:
    from whoosh import index as whoosh_index

    try:
        ix = whoosh_index.open_dir(str(index_dir), indexname=WHOOSH_INDEX_NAME)
        try:
            return int(ix.doc_count())
        finally:
            ix.close()
    except Exception:
        return 0  # no old index, or a damaged one: nothing worth keeping over the rebuild


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux renameat2); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False  # an old or non-glibc C library
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # a kernel or file system without it
    raise OSError(code, os.strerror(code), str(a))


def _swap(index_dir: Path, fresh: Path) -> None:
    """Put `fresh` in place of `index_dir`, leaving the old index at `fresh`."""
    if _exchange(fresh, index_dir):
        return
    backup = _sibling(index_dir, "old")
    os.rename(index_dir, backup)
    # The one window a crash can hit: `index_dir` does not exist until the next line. The next run
    # (index, doctor) finds the backup and renames it back: `recover_interrupted_swap`.
    os.rename(fresh, index_dir)
    os.rename(backup, fresh)


__all__ = ["IndexOptions", "index_paths", "read_file", "recover_interrupted_swap", "MANIFEST_NAME"]
