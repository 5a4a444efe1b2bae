"""Indexing: source files → a committed Whoosh index, incrementally, in batches, on every core.

The run has three phases:

1. *Plan.* Discovery lists the files under the given folders; each is compared with the manifest
   (size + mtime, then the content hash when those differ) and sorted into new, changed,
   unchanged and deleted. An unchanged archive ends here: nothing is opened for writing.
2. *Read.* New and changed files are read in worker processes (decode → reader → Articles), so
   parsing and decoding use the other cores while the main process analyses and writes.
3. *Write.* For each file, its old articles are deleted by path and its new ones added; every
   `batch_articles` articles the writer commits and the manifest records the files of that batch.
   A crash loses at most the batch in flight, and the next run picks up from there: files the
   manifest does not know are read again, and delete-then-add makes that idempotent.

`--rebuild` builds a new index in a sibling folder and swaps it in only when it is complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .discover import FoundFile, WalkProblem, display_path, walk
from .errors import IndexLockedError, NotAnIndexError, ReadError, SearchkitError
from .models import Article, FileFailure, IndexReport
from .storage import (
    MANIFEST_NAME,
    WHOOSH_INDEX_NAME,
    FileRecord,
    Manifest,
    check_folder_is_ours,
    has_index,
    is_own_file,
)

ProgressCallback = Callable[..., None]

DEFAULT_ROOT = "sample_docs"
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class IndexOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    encoding: str | None = None
    rebuild: bool = False
    jobs: int = 0  # reader processes; 0 = one per core
    lock_timeout: float = 10.0
    max_file_size: int = 100 * 1024 * 1024  # bytes; 0 = no limit
    batch_articles: int = 5000
    writer_memory_mb: int = 256


@dataclass
class FileResult:
    """What a worker made of one file."""

    path: str
    relpath: str
    root: str
    size: int
    mtime_ns: int
    sha256: str = ""
    articles: list[Article] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # in no known format


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_file(found: FoundFile, encoding: str | None, max_file_size: int) -> FileResult:
    """Read one source file into Articles. Runs in a worker process; never raises for bad input."""
    from . import readers
    from .decode import decode, looks_binary
    from .models import Source

    result = FileResult(found.path, found.relpath, found.root, found.size, found.mtime_ns)
    shown = display_path(found.path)
    try:
        if max_file_size and found.size > max_file_size:
            result.error = f"larger than --max-file-size ({found.size / 1e6:.0f} MB > {max_file_size / 1e6:.0f} MB)"
            return result
        with open(found.path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            suffix_known = found.relpath.lower().endswith(readers.known_suffixes())
            if not suffix_known:
                # Sniff before reading a file of unknown kind in full: most are not articles.
                if looks_binary(head) or readers.reader_for(found.relpath, decode(head, encoding=encoding).text) is None:
                    result.skipped = "not in a format searchkit reads"
                    return result
            data = head + handle.read()
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
        for item in reader.read(decoded.text, Source(found.relpath, decoded)):
            if isinstance(item, readers.ReadWarning):
                result.warnings.append(f"{shown}: {item.message}")
            else:
                if item.date is not None and item.date.implausible:
                    result.warnings.append(f"{shown}: {item.id}: implausible date {item.date.isoformat()} kept")
                result.articles.append(item)
        if not result.articles:
            result.error = "no articles found"
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
    return result


def _worker(args: tuple[FoundFile, str | None, int]) -> FileResult:
    return read_file(*args)


@dataclass
class _Plan:
    to_read: list[FoundFile] = field(default_factory=list)
    unchanged: list[FoundFile] = field(default_factory=list)
    rehashed: list[FileRecord] = field(default_factory=list)  # same content, new mtime
    deleted: list[str] = field(default_factory=list)
    problems: list[WalkProblem] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    seen: int = 0


def _plan(roots: list[str], known: dict[str, FileRecord], options: IndexOptions, index_dir: Path) -> _Plan:
    plan = _Plan()
    seen_paths: set[str] = set()
    walked_roots: list[str] = []
    for root in roots:
        if not os.path.exists(root):
            plan.problems.append(WalkProblem(display_path(root), "no such file or folder (its indexed articles are kept)"))
            continue
        walked_roots.append(os.path.abspath(root))
        for item in walk(root, include=options.include, exclude=options.exclude, skip_dirs=(str(index_dir),)):
            if isinstance(item, WalkProblem):
                plan.problems.append(item)
                continue
            if item.path in seen_paths:
                continue  # the same file reached from two roots
            seen_paths.add(item.path)
            plan.seen += 1
            record = known.get(item.path)
            if record is None:
                plan.new += 1
                plan.to_read.append(item)
            elif record.size == item.size and record.mtime_ns == item.mtime_ns:
                plan.unchanged.append(item)
            elif record.sha256 and record.size == item.size and _safe_hash(item.path) == record.sha256:
                plan.unchanged.append(item)
                plan.rehashed.append(
                    FileRecord(item.path, record.root, item.size, item.mtime_ns, record.sha256, record.articles, record.status)
                )
            else:
                plan.changed += 1
                plan.to_read.append(item)
    for path, record in known.items():
        if path not in seen_paths and record.root in walked_roots:
            plan.deleted.append(path)
    return plan


def _safe_hash(path: str) -> str:
    try:
        return _hash_file(path)
    except OSError:
        return ""


def _read_all(files: list[FoundFile], options: IndexOptions) -> Iterator[FileResult]:
    jobs = options.jobs or os.cpu_count() or 1
    tasks = [(f, options.encoding, options.max_file_size) for f in files]
    total_bytes = sum(f.size for f in files)
    if jobs <= 1 or len(files) < 2 or total_bytes < 2_000_000:
        # Starting processes costs more than reading a few small files.
        for task in tasks:
            yield read_file(*task)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # Bounded read-ahead: results wait for the writer, and memory should not grow with the archive.
        window = jobs * 2
        pending: list[Any] = []
        queue = iter(tasks)
        for task in queue:
            pending.append(pool.submit(_worker, task))
            if len(pending) >= window:
                break
        while pending:
            future = pending.pop(0)
            yield future.result()
            for task in queue:
                pending.append(pool.submit(_worker, task))
                break


def _open_writer(ix: Any, options: IndexOptions) -> Any:
    from whoosh.index import LockError

    try:
        return ix.writer(timeout=options.lock_timeout, delay=0.25, limitmb=options.writer_memory_mb)
    except LockError as error:
        raise IndexLockedError(
            f"another indexer is writing to {ix.storage.folder} (waited {options.lock_timeout:g}s for its lock)"
        ) from error


def _ensure_index(index_dir: Path) -> Any:
    """Open the Whoosh index in `index_dir`, creating folder, manifest and index as needed."""
    from whoosh import index as whoosh_index

    from .schema import build_schema
    from .storage import open_whoosh

    if not has_index(index_dir):
        check_folder_is_ours(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        with Manifest(index_dir) as manifest:
            manifest.stamp()
    if not whoosh_index.exists_in(str(index_dir), indexname=WHOOSH_INDEX_NAME):
        with Manifest(index_dir) as manifest:
            manifest.check_version()
        return whoosh_index.create_in(str(index_dir), build_schema(), indexname=WHOOSH_INDEX_NAME)
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
    run impossible (a locked or incompatible index) raise `SearchkitError`.
    """
    options = options or IndexOptions()
    index_dir = Path(index_dir)
    roots = [os.path.abspath(p) for p in paths]
    if not roots and has_index(index_dir):
        with Manifest(index_dir) as manifest:
            roots = manifest.roots()
    if not roots:
        roots = [os.path.abspath(DEFAULT_ROOT)]
    if options.rebuild:
        return _rebuild(roots, index_dir, options, progress)
    return _index_into(roots, index_dir, options, progress)


def _index_into(roots: list[str], index_dir: Path, options: IndexOptions, progress: ProgressCallback | None) -> IndexReport:
    started = time.perf_counter()
    notify = progress or (lambda *args, **kwargs: None)
    ix = _ensure_index(index_dir)
    with Manifest(index_dir) as manifest:
        known = manifest.files()
        plan = _plan(roots, known, options, index_dir)
        failures = [FileFailure(p.path, p.reason) for p in plan.problems]
        warnings: list[str] = []
        skipped: list[str] = []
        written = deleted_articles = 0
        wrote = False
        index_was_empty = ix.doc_count_all() == 0
        if plan.rehashed:
            manifest.record(plan.rehashed, [])
        if plan.to_read or plan.deleted:
            notify("start", 0, len(plan.to_read))
            writer = _open_writer(ix, options)
            batch: list[FileRecord] = []
            batch_deleted: list[str] = []
            in_batch = 0
            try:
                for path in plan.deleted:
                    deleted_articles += writer.delete_by_term("path", path)
                    batch_deleted.append(path)
                for done, result in enumerate(_read_all(plan.to_read, options), start=1):
                    notify("file", done, len(plan.to_read), result.relpath)
                    warnings.extend(result.warnings)
                    if result.skipped:
                        skipped.append(display_path(result.path))
                        batch.append(FileRecord(result.path, result.root, result.size, result.mtime_ns, "", 0, "skipped"))
                        continue
                    if result.error:
                        # A changed file that no longer reads keeps its old articles (and its old
                        # manifest entry, so the next run tries again): nothing indexed is lost.
                        failures.append(FileFailure(display_path(result.path), result.error))
                        continue
                    if not index_was_empty or result.path in known:
                        # Replace whatever this file gave before (also after a crash the manifest missed).
                        deleted_articles += writer.delete_by_term("path", result.path)
                    from .schema import to_document

                    for article in result.articles:
                        writer.add_document(**to_document(article, result.path))
                    written += len(result.articles)
                    in_batch += len(result.articles)
                    batch.append(
                        FileRecord(result.path, result.root, result.size, result.mtime_ns, result.sha256, len(result.articles), "ok")
                    )
                    if in_batch >= options.batch_articles:
                        notify("commit")
                        writer.commit()
                        manifest.record(batch, batch_deleted)
                        batch, batch_deleted, in_batch = [], [], 0
                        writer = _open_writer(ix, options)
                notify("commit")
                writer.commit()
                manifest.record(batch, batch_deleted)
                wrote = True
            except BaseException:
                writer.cancel()
                raise
            finally:
                notify("end")
        manifest.add_roots(roots)
    deleted_files = len(plan.deleted)
    return IndexReport(
        index_dir=str(index_dir),
        files_seen=plan.seen,
        files_new=plan.new,
        files_changed=plan.changed,
        files_unchanged=len(plan.unchanged),
        files_deleted=deleted_files,
        files_skipped=len(skipped),
        files_failed=len(failures),
        articles_written=written,
        articles_deleted=deleted_articles,
        seconds=time.perf_counter() - started,
        failures=tuple(failures),
        warnings=tuple(warnings),
        skipped=tuple(skipped),
        wrote=wrote,
    )


def _rebuild(roots: list[str], index_dir: Path, options: IndexOptions, progress: ProgressCallback | None) -> IndexReport:
    """Build a fresh index beside the old one; swap it in only when complete."""
    check_folder_is_ours(index_dir)
    if index_dir.exists() and any(index_dir.iterdir()) and not has_index(index_dir):
        leftovers = [p.name for p in index_dir.iterdir() if p.name not in (".gitignore", "README.md")]
        if leftovers:
            raise NotAnIndexError(f"{index_dir} is not a searchkit index; refusing to replace it")
    parent = index_dir.absolute().parent
    fresh = parent / f".{index_dir.name}.rebuild-{os.getpid()}"
    old = parent / f".{index_dir.name}.old-{os.getpid()}"
    if fresh.exists():
        shutil.rmtree(fresh)
    try:
        report = _index_into(roots, fresh, options, progress)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    # Keep the folder's own README/.gitignore (the repository's index/ has them).
    if index_dir.exists():
        for name in (".gitignore", "README.md"):
            if (index_dir / name).exists():
                shutil.copy2(index_dir / name, fresh / name)
        index_dir.rename(old)
    fresh.rename(index_dir)
    if old.exists():
        # Only our own files are removed: the folder was checked to hold nothing else.
        if all(is_own_file(p.name) for p in old.iterdir()):
            shutil.rmtree(old)
    return IndexReport(**{**report.__dict__, "index_dir": str(index_dir)})


__all__ = ["IndexOptions", "index_paths", "read_file", "MANIFEST_NAME"]
