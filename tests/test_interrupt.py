"""Interrupted and killed index runs: the committed state survives and a re-run finishes the job.

Each kill trial starts `searchkit index` on a 400-file archive with 20 articles per commit (20
commits), kills it with SIGKILL at one moment, and then checks that

- the index opens and answers a query with the last committed state: no article twice, and
  every file the manifest records is in the index (the manifest may lag, never lead);
- a re-run ends with exactly the articles (ids and count) of an uninterrupted run, and
  `searchkit doctor` finds the index healthy.

The moments are varied three ways: after k commits (watching the manifest), after a random
delay (seeded), and at exact points inside a commit, injected by a wrapper that kills its own
process from inside Whoosh's or the manifest's code (between writing a segment and renaming the
table of contents into place, between the Whoosh commit and the manifest, inside the manifest's
transaction, mid-swap of a rebuild).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchkit import open_index
from searchkit.doctor import check_index
from searchkit.indexer import IndexOptions, index_paths
from searchkit.storage import LOCK_NAME, MANIFEST_NAME, open_whoosh

pytestmark = pytest.mark.slow

FILES = 400
BATCH = 20
WORDS = "harbour council ferry budget river storm market bank rail port vote".split()


def write_archive(root: Path, paragraphs: int) -> Path:
    for i in range(FILES):
        body = "\n".join(" ".join(WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(60)) + "." for j in range(paragraphs))
        (root / f"story{i:05d}.txt").write_text(f"Story {i}\n\n10:00 JST, April 1, 2025\n{body}\n")
    return root


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 files of ~1.2 KB: small enough that the files are read in the indexing process itself."""
    return write_archive(tmp_path_factory.mktemp("archive"), 3)


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 400 stories at ~5.5 KB (2.2 MB): past the size at which reader processes are started,
    so runs with --jobs 2 take the process-pool path (and its workers must not keep the lock)."""
    return write_archive(tmp_path_factory.mktemp("big-archive"), 14)


@pytest.fixture(scope="module")
def reference(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], float]:
    """The ids of an uninterrupted run, and how long such a run takes as a subprocess."""
    index_dir = tmp_path_factory.mktemp("reference") / "ix"
    started = time.monotonic()
    run = subprocess.run(command(archive, index_dir, jobs=1), capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    ids = sorted(ids_in(index_dir))
    assert ids == [f"story{i:05d}.txt" for i in range(FILES)]
    return ids, elapsed


def command(archive: Path, index_dir: Path, *, jobs: int, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        sys.executable, "-m", "searchkit", "index", str(archive), "--index", str(index_dir),
        "--batch-size", str(BATCH), "--jobs", str(jobs), *extra,
    ]  # fmt: skip


def start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a kill reaches the reader processes too
    )


def committed_files(index_dir: Path) -> int:
    # Read-only: a plain connect would create an empty manifest in a folder the indexer is making.
    path = index_dir / MANIFEST_NAME
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def wait_for_commits(index_dir: Path, process: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while committed_files(index_dir) < at_least and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def kill(process: subprocess.Popen[str]) -> bool:
    """SIGKILL the run and its reader processes; False if it had already finished."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate(timeout=30)
    return process.returncode == -signal.SIGKILL


def ids_in(index_dir: Path) -> list[str]:
    with open_whoosh(index_dir).searcher() as searcher:
        return [doc["id"] for doc in searcher.all_stored_fields()]


def check_survivor(index_dir: Path) -> int:
    """The killed run's index opens and answers with its last commit; returns how many articles it kept."""
    if not (index_dir / MANIFEST_NAME).exists():
        return 0  # killed before the index existed: nothing was committed, nothing to open
    kept = ids_in(index_dir)
    assert len(kept) == len(set(kept)), "an article is in the index twice"
    with sqlite3.connect(index_dir / MANIFEST_NAME) as db:
        recorded = {Path(row[0]).name for row in db.execute("SELECT path FROM files WHERE status = 'ok'")}
    assert recorded <= set(kept), "the manifest records files whose articles are not committed"
    if kept:
        # (An index with no commit yet is checked with Whoosh's own searcher in ids_in above:
        # open_index on an empty index fails, see test_reliability_index.py's xfail.)
        with open_index(index_dir) as ix:
            results = ix.search("harbour council", limit=3)
            assert len(results.hits) == 3
    return len(kept)


def rerun_and_compare(archive: Path, index_dir: Path, reference_ids: list[str]) -> None:
    had_lock_file = (index_dir / LOCK_NAME).exists()
    report = index_paths([str(archive)], index_dir, IndexOptions(batch_articles=BATCH, jobs=1, lock_timeout=5))
    assert report.files_failed == 0
    if had_lock_file:
        assert any("stale lock" in w for w in report.warnings), report.warnings
    final = ids_in(index_dir)
    assert sorted(final) == reference_ids  # same ids, same count: nothing twice, nothing missing
    health = check_index(index_dir)
    assert health.healthy and not health.interrupted, (health.problems, health.notes)
    assert health.documents == health.manifest_articles == FILES
    assert not (index_dir / LOCK_NAME).exists()


def test_ctrl_c_exits_130_and_keeps_committed_batches(big_archive: Path, reference: tuple[list[str], float], tmp_path: Path) -> None:
    archive = big_archive
    index_dir = tmp_path / "ix"
    process = start(command(archive, index_dir, jobs=2))
    wait_for_commits(index_dir, process, 3 * BATCH)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert process.returncode == 130
    assert "Interrupted" in stderr and "Traceback" not in stderr
    kept = check_survivor(index_dir)
    assert 0 < kept < FILES
    rerun_and_compare(archive, index_dir, reference[0])


# --- kill -9 trials --------------------------------------------------------------------------

# (commits before the kill, reader processes): --jobs 2 runs read the big archive in a process pool.
AFTER_COMMITS = [(0, 1), (1, 2), (2, 1), (4, 1), (7, 1), (8, 2), (11, 1), (14, 1), (17, 2), (19, 1)]
RANDOM_SEEDS = list(range(8))


@pytest.mark.parametrize(("commits", "jobs"), AFTER_COMMITS, ids=[f"after{k}commits-j{j}" for k, j in AFTER_COMMITS])
def test_kill_9_after_k_commits(
    archive: Path, big_archive: Path, reference: tuple[list[str], float], tmp_path: Path, commits: int, jobs: int
) -> None:
    archive = big_archive if jobs > 1 else archive
    index_dir = tmp_path / "ix"
    process = start(command(archive, index_dir, jobs=jobs))
    if commits:
        wait_for_commits(index_dir, process, commits * BATCH)
    assert kill(process), "the run finished before the kill"
    check_survivor(index_dir)
    rerun_and_compare(archive, index_dir, reference[0])


@pytest.mark.parametrize("seed", RANDOM_SEEDS, ids=[f"seed{s}" for s in RANDOM_SEEDS])
def test_kill_9_after_a_random_delay(archive: Path, reference: tuple[list[str], float], tmp_path: Path, seed: int) -> None:
    ids, full_run = reference
    rng = random.Random(seed)
    jobs = 1
    # Anywhere from start-up to near the end of a run, as long as an uninterrupted one takes here.
    delay = rng.uniform(0.05, 0.9) * full_run
    index_dir = tmp_path / "ix"
    process = start(command(archive, index_dir, jobs=jobs))
    time.sleep(delay)
    killed = kill(process)
    check_survivor(index_dir)
    rerun_and_compare(archive, index_dir, ids)
    if not killed:
        pytest.skip(f"the run finished within {delay:.2f}s, before the kill (the re-run was still checked)")


# Kills at exact points, from inside the indexer: the wrapper patches one function so that its
# n-th call SIGKILLs the process at the given place.
INJECT = r"""
import os, signal, sys
point, nth = sys.argv[1], int(sys.argv[2])
calls = {"n": 0}
def die_on_nth():
    calls["n"] += 1
    if calls["n"] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
import whoosh.filedb.filestore as filestore
import searchkit.storage as storage
if point == "toc-written-not-renamed":
    original = filestore.FileStorage.rename_file
    def rename_file(self, frm, to, safe=False):
        if to.endswith(".toc"):
            die_on_nth()
        return original(self, frm, to, safe)
    filestore.FileStorage.rename_file = rename_file
elif point == "segment-half-written":
    original_create = filestore.FileStorage.create_file
    def create_file(self, name, *args, **kwargs):
        if name.endswith((".seg", ".trm")):  # compound segment, or a separate-files segment's term index
            die_on_nth()
        return original_create(self, name, *args, **kwargs)
    filestore.FileStorage.create_file = create_file
elif point == "committed-not-recorded":
    original_record = storage.Manifest.record
    def record(self, records, deleted):
        die_on_nth()
        return original_record(self, records, deleted)
    storage.Manifest.record = record
elif point == "inside-manifest-transaction":
    original_record = storage.Manifest.record
    def record(self, records, deleted):
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO files (path, root, size, mtime_ns, sha256, articles, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r.path, r.root, r.size, r.mtime_ns, r.sha256, r.articles, r.status) for r in records],
        )
        die_on_nth()
        self._db.execute("ROLLBACK")
        return original_record(self, records, deleted)
    storage.Manifest.record = record
elif point == "rebuild-mid-swap":
    import searchkit.indexer as indexer
    original_exchange = indexer._exchange
    def no_exchange(a, b):
        return False  # take the two-rename path, and die between the renames
    indexer._exchange = no_exchange
    original_rename = os.rename
    def rename(src, dst, *args, **kwargs):
        result = original_rename(src, dst, *args, **kwargs)
        if ".old-" in str(dst):
            die_on_nth()
        return result
    indexer.os.rename = rename
sys.argv = ["searchkit", *sys.argv[3:]]
from searchkit.cli import main
main()
"""

INJECTED = [
    ("toc-written-not-renamed", 1),
    ("toc-written-not-renamed", 9),
    ("segment-half-written", 4),
    ("committed-not-recorded", 1),
    ("committed-not-recorded", 12),
    ("inside-manifest-transaction", 6),
]


@pytest.mark.parametrize(("point", "nth"), INJECTED, ids=[f"{p}-{n}" for p, n in INJECTED])
def test_kill_9_at_an_exact_point_of_a_commit(
    archive: Path, reference: tuple[list[str], float], tmp_path: Path, point: str, nth: int
) -> None:
    index_dir = tmp_path / "ix"
    argv = command(archive, index_dir, jobs=1)
    process = start([sys.executable, "-c", INJECT, point, str(nth), *argv[3:]])
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, stderr
    check_survivor(index_dir)
    rerun_and_compare(archive, index_dir, reference[0])


def test_kill_9_mid_rebuild_keeps_the_old_index(archive: Path, reference: tuple[list[str], float], tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir, IndexOptions(batch_articles=BATCH, jobs=1))
    process = start(command(archive, index_dir, jobs=1, extra=("--rebuild",)))
    wait_for_commits(tmp_path / f".ix.rebuild-{process.pid}", process, 5 * BATCH)
    assert kill(process), "the rebuild finished before the kill"
    assert sorted(ids_in(index_dir)) == reference[0]  # the old index, untouched
    # The half-built folder is left by the kill; the next rebuild clears it and swaps cleanly.
    report = index_paths([str(archive)], index_dir, IndexOptions(batch_articles=BATCH, jobs=1, rebuild=True))
    assert report.articles_written == FILES
    assert sorted(ids_in(index_dir)) == reference[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ix.")] == []


def test_kill_9_between_the_two_renames_of_a_swap_is_undone(
    archive: Path, reference: tuple[list[str], float], tmp_path: Path
) -> None:
    # Where renameat2 cannot swap atomically, the old index sits in a backup folder for an instant.
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir, IndexOptions(batch_articles=BATCH, jobs=1))
    argv = command(archive, index_dir, jobs=1, extra=("--rebuild",))
    process = start([sys.executable, "-c", INJECT, "rebuild-mid-swap", "1", *argv[3:]])
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert not index_dir.exists()  # the window itself
    report = index_paths([str(archive)], index_dir, IndexOptions(batch_articles=BATCH, jobs=1))
    assert any("restored the index" in w for w in report.warnings), report.warnings
    assert sorted(ids_in(index_dir)) == reference[0]
    health = check_index(index_dir)
    assert health.healthy, health.problems
