"""Incremental indexing into any `DocumentSink`: the indexer's flow, with the engine left open.

The phases are `indexer`'s, and so are the pieces: `indexer._plan` sorts the files the walk finds
into new, changed, unchanged and deleted against the manifest (`storage.Manifest`), and
`indexer._read_all` reads the new and changed ones in worker processes with `indexer.read_file`.
Only the writing differs: per batch, the sink first drops what the batch's files gave before
(by path), then takes their new documents, then `flush`es; the manifest records the batch after
that, so it can lag the engine but never run ahead of it, and a crashed run is finished by the
next one exactly as with Whoosh.

The manifest lives in a local *state folder* (the `--index` folder), held under the same writer
lock (`storage.IndexLock`) as a Whoosh index, so one indexer at a time writes through it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from ..indexer import IndexOptions, _plan, _read_all, _take_outcome
from ..models import FileFailure, IndexReport
from ..storage import FileRecord, Manifest
from . import DocumentSink

ProgressCallback = Callable[..., None]


def run_incremental(
    roots: list[str],
    state_dir: Path,
    options: IndexOptions,
    sink: DocumentSink,
    manifest: Manifest,
    *,
    progress: ProgressCallback | None = None,
    notes: list[str] | None = None,
    after_batch: Callable[[], None] | None = None,
) -> IndexReport:
    """Bring `sink` up to date with the files under `roots`; call with the state folder's lock held.

    `after_batch` runs after each flush and before the manifest records the batch (the cluster
    backend saves its document sequence there).
    """
    started = time.perf_counter()
    notify = progress or (lambda *args, **kwargs: None)
    if options.rebuild:
        # Not atomic, unlike Whoosh's swap: the engine is emptied, then filled again.
        sink.clear()
        manifest.record([], list(manifest.files()))
    known = manifest.files()
    plan = _plan(roots, known, options, state_dir)
    failures = [FileFailure(p.path, p.reason) for p in plan.problems]
    warnings: list[str] = list(notes or [])
    skipped: list[str] = []
    written = deleted_articles = 0
    wrote = False
    was_empty = sink.count() == 0
    if plan.rehashed:
        manifest.record(plan.rehashed, [])
    if plan.to_read or plan.deleted:
        notify("start", 0, len(plan.to_read))
        manifest.begin_run()
        batch: list[FileRecord] = []
        batch_deleted: list[str] = list(plan.deleted)
        replaced: list[str] = list(plan.deleted)  # paths whose old documents go before the new ones come
        documents: list[tuple[str, list[dict[str, Any]]]] = []
        in_batch = 0

        def commit() -> int:
            removed = sink.delete_paths(replaced) if replaced else 0
            for path, docs in documents:
                sink.add(path, docs)
            notify("commit")
            sink.flush()
            if after_batch is not None:
                after_batch()
            manifest.record(batch, batch_deleted)
            return removed

        try:
            for done, result in enumerate(_read_all(plan.to_read, options), start=1):
                notify("file", done, len(plan.to_read), result.relpath)
                if not _take_outcome(result, batch, warnings, skipped, failures):
                    continue
                if not was_empty or result.path in known:
                    replaced.append(result.path)
                documents.append((result.path, result.documents))
                written += len(result.documents)
                in_batch += len(result.documents)
                batch.append(
                    FileRecord(result.path, result.root, result.size, result.mtime_ns, result.sha256, len(result.documents), "ok")
                )
                if in_batch >= options.batch_articles:
                    deleted_articles += commit()
                    batch, batch_deleted, replaced, documents, in_batch = [], [], [], [], 0
            deleted_articles += commit()
            manifest.end_run()
            wrote = True
        finally:
            notify("end")
    manifest.add_roots(roots)
    return plan.report(
        state_dir, written=written, deleted=deleted_articles, started=started,
        failures=failures, warnings=warnings, skipped=skipped, wrote=wrote,
    )


__all__ = ["run_incremental"]
