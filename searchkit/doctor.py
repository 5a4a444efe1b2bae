"""Doctor: whether an index folder is healthy, and a rebuild from its recorded folders when it is not.

The checks run cheapest first and stop at the first one that makes the rest meaningless:

1. the folder holds a searchkit index (the manifest, with its marker) and the manifest reads
   (SQLite's own integrity check);
2. it was written with this schema version;
3. Whoosh's table of contents opens;
4. every segment opens, and its stored fields and term index read to the end;
5. the articles match the manifest: each source file has as many articles as the manifest
   recorded for it, and no article is there twice.

An interrupted run (Ctrl-C, `kill -9`, a full disk) leaves the manifest behind the index, by
design (see `storage`); while the manifest says a run is in progress, or an indexer holds the
lock, mismatches in step 5 are notes, not damage: the next `searchkit index` catches up.
`repair_index` finishes such a run, and rebuilds a damaged index from the folders recorded in
the manifest.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import SearchkitError
from .models import IndexReport
from .storage import (
    MANIFEST_NAME,
    WHOOSH_INDEX_NAME,
    Manifest,
    check_version,
    has_index,
    lock_is_held,
    read_meta,
)

# How many per-file mismatches to name before summing up the rest.
_SHOWN = 3


@dataclass(frozen=True)
class IndexHealth:
    """What `check_index` found. `problems` empty = healthy; `notes` never make it unhealthy."""

    index_dir: str
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()  # what was verified, one line each
    documents: int | None = None
    manifest_articles: int | None = None
    segments: int | None = None
    roots: tuple[str, ...] = ()
    interrupted: bool = False  # a run did not finish: `searchkit index` finishes it

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["healthy"] = self.healthy
        for key in ("problems", "notes", "checks", "roots"):
            data[key] = list(data[key])
        return data


@dataclass
class _Findings:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def _refuse_cluster_state(index_dir: Path) -> None:
    """The state folder of a cluster index holds a manifest but no Whoosh index: not ours to check
    or to "repair" into a Whoosh index."""
    from .errors import SearchkitError
    from .storage import MANIFEST_NAME, Manifest

    if not (index_dir / MANIFEST_NAME).is_file():
        return
    try:
        with Manifest(index_dir) as manifest:
            backend = manifest.get_meta("backend")
    except SearchkitError:
        return  # a damaged manifest is for the checks below to report
    if backend and backend != "whoosh":
        raise SearchkitError(
            f"{index_dir} is the state folder of a {backend} cluster index; doctor checks Whoosh indexes only"
        )


def check_index(index_dir: str | Path) -> IndexHealth:
    """Verify the index in `index_dir`; never raises for what it finds, only reports it."""
    index_dir = Path(index_dir)
    _refuse_cluster_state(index_dir)
    found = _Findings()
    result: dict[str, Any] = {}
    _check(index_dir, found, result)
    return IndexHealth(
        index_dir=str(index_dir),
        problems=tuple(found.problems),
        notes=tuple(found.notes),
        checks=tuple(found.checks),
        **result,
    )


def _check(index_dir: Path, found: _Findings, result: dict[str, Any]) -> None:
    from whoosh import index as whoosh_index

    if not index_dir.is_dir():
        from .indexer import _siblings

        backups = [folder.name for folder, _ in _siblings(index_dir, "old") if has_index(folder)]
        if backups:
            found.problems.append(
                f"{index_dir}: missing, but a rebuild interrupted mid-swap left the index in {backups[0]}; "
                "`searchkit doctor --repair` puts it back"
            )
        else:
            found.problems.append(f"{index_dir}: no such index folder")
        return
    if not has_index(index_dir):
        found.problems.append(f"{index_dir}: no searchkit index here (no {MANIFEST_NAME})")
        return

    # 1. the manifest
    try:
        with Manifest(index_dir) as manifest:
            verdict = manifest._db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                found.problems.append(f"{index_dir / MANIFEST_NAME}: damaged ({verdict})")
                return
            meta = read_meta(index_dir) or {}
            roots = tuple(manifest.roots())
            records = manifest.files()
            running = manifest.run_in_progress()
    except (SearchkitError, sqlite3.Error) as error:
        found.problems.append(f"{index_dir / MANIFEST_NAME}: cannot be read ({error})")
        return
    result["roots"] = roots
    if meta.get("app") != "searchkit":
        found.problems.append(f"{index_dir / MANIFEST_NAME}: lacks searchkit's marker")
        return
    found.checks.append(f"manifest reads: {len(records)} files from {len(roots)} folder(s)")

    # 2. the schema version
    try:
        check_version(index_dir, meta.get("schema_version"))
    except SearchkitError as error:
        found.problems.append(str(error))
        return
    found.checks.append(f"schema version {meta.get('schema_version')}")

    # 3. the table of contents
    try:
        ix = whoosh_index.open_dir(str(index_dir), indexname=WHOOSH_INDEX_NAME)
        segments = ix._segments()
    except Exception as error:  # Whoosh raises many kinds of error on damaged files
        found.problems.append(f"{index_dir}: the table of contents cannot be read ({_describe(error)})")
        return
    result["segments"] = len(segments)

    # 4. every segment
    paths: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    documents = 0
    for segment in segments:
        name = segment.segment_id()
        try:
            counted = _read_segment(ix, segment, paths, pairs)
        except Exception as error:
            found.problems.append(f"{index_dir}: segment {name} cannot be read ({_describe(error)})")
            continue
        documents += counted
    if found.problems:
        return
    result["documents"] = documents
    found.checks.append(f"{len(segments)} segment(s) read to the end: {documents} articles")

    # 5. the index against the manifest
    holder = lock_is_held(index_dir)
    result["interrupted"] = bool(running) and not holder
    expected = {path: r.articles for path, r in records.items() if r.status == "ok"}
    result["manifest_articles"] = sum(expected.values())
    twice = [pair for pair, n in pairs.items() if n > 1]
    if twice:
        shown = ", ".join(article_id for _, article_id in twice[:_SHOWN])
        found.problems.append(f"{len(twice)} article(s) indexed more than once ({shown})")
    differ = sorted(p for p in set(expected) | set(paths) if expected.get(p, 0) != paths.get(p, 0))
    if differ:
        shown = "; ".join(f"{p}: index {paths.get(p, 0)}, manifest {expected.get(p, 0)}" for p in differ[:_SHOWN])
        more = f" and {len(differ) - _SHOWN} more" if len(differ) > _SHOWN else ""
        message = f"{len(differ)} file(s) have other article counts in the index than in the manifest ({shown}{more})"
        if holder:
            who = f" ({holder.describe()})" if not isinstance(holder, bool) else ""
            found.notes.append(f"an indexer{who} is writing to this index now; {message}")
        elif running:
            found.notes.append(
                f"an indexing run (pid {running.get('pid')}, started {running.get('started')}) did not finish; "
                f"{message}; `searchkit index` finishes it"
            )
        else:
            found.problems.append(message)
    elif running and not holder:
        found.notes.append(
            f"an indexing run (pid {running.get('pid')}, started {running.get('started')}) did not finish; "
            "`searchkit index` finishes it"
        )
    if not differ and not twice:
        found.checks.append(f"articles match the manifest ({documents} from {len(expected)} files)")


def _read_segment(ix: Any, segment: Any, paths: Counter[str], pairs: Counter[tuple[str, str]]) -> int:
    """Read one segment's stored fields and term index to the end; count its live articles."""
    from whoosh.reading import SegmentReader

    reader = SegmentReader(ix.storage, ix.schema, segment)
    try:
        counted = 0
        for docnum in range(reader.doc_count_all()):
            stored = reader.stored_fields(docnum)  # deleted ones too: their bytes must read as well
            if reader.is_deleted(docnum):
                continue
            counted += 1
            path = str(stored.get("path", ""))
            paths[path] += 1
            pairs[(path, str(stored.get("id", "")))] += 1
        for _ in reader.all_terms():
            pass
        for text in reader.lexicon("path"):
            reader.postings("path", text).all_ids()
        if counted != reader.doc_count():
            raise ValueError(f"{counted} live articles read, {reader.doc_count()} recorded")
        return counted
    finally:
        reader.close()


def _describe(error: BaseException) -> str:
    text = str(error).splitlines()[0][:200] if str(error) else ""
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


def repair_index(index_dir: str | Path, *, lock_timeout: float = 5.0, progress: Any = None) -> IndexReport | None:
    """Make the index healthy: finish an interrupted run, or rebuild a damaged index from the
    folders recorded in its manifest. Returns the run's report (None when nothing needed doing).

    Raises `SearchkitError` when the recorded folders are unknown (an unreadable manifest) or
    missing, or the rebuild cannot be written; the old index is then left as it was.
    """
    from .errors import IndexCorruptError
    from .indexer import IndexOptions, index_paths

    from .indexer import recover_interrupted_swap

    index_dir = Path(index_dir)
    _refuse_cluster_state(index_dir)
    recover_interrupted_swap(index_dir)
    health = check_index(index_dir)
    if health.healthy and not health.interrupted:
        return None
    if health.healthy:
        return index_paths([], index_dir, IndexOptions(lock_timeout=lock_timeout), progress=progress)
    if not health.roots:
        raise IndexCorruptError(
            f"{index_dir}: the folders this index was made from are not known (the manifest is unreadable); "
            "rebuild it with `searchkit index --rebuild FOLDER`"
        )
    return index_paths(list(health.roots), index_dir, IndexOptions(rebuild=True, lock_timeout=lock_timeout), progress=progress)


__all__ = ["IndexHealth", "check_index", "repair_index"]
