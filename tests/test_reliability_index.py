"""Reliability of the index folder: one writer at a time, readers during writes, safe rebuilds,
refused versions, damaged files and `searchkit doctor`, full and read-only disks.

Kill -9 trials are in test_interrupt.py; hostile input files in test_reliability_files.py.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

import searchkit.indexer as indexer
from searchkit import open_index
from searchkit.cli import app
from searchkit.doctor import check_index
from searchkit.errors import IndexWriteError, NotAnIndexError, ReadError
from searchkit.indexer import IndexOptions, index_paths
from searchkit.storage import LOCK_NAME, MANIFEST_NAME, IndexLock, open_whoosh

runner = CliRunner()
WORDS = "harbour council ferry budget river storm market bank rail port vote".split()


def write_archive(root: Path, files: int, *, paragraphs: int = 2, start: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + files):
        body = "\n".join(" ".join(WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(40)) + "." for j in range(paragraphs))
        (root / f"story{i:05d}.txt").write_text(f"Story {i}\n\n10:00 JST, April 1, 2025\n{body}\n")
    return root


def ids_in(index_dir: Path) -> list[str]:
    with open_whoosh(index_dir).searcher() as searcher:
        return sorted(doc["id"] for doc in searcher.all_stored_fields())


def searchkit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchkit", *args], capture_output=True, text=True, timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error: ")]


@pytest.fixture()
def indexed(tmp_path: Path) -> tuple[Path, Path]:
    """A 30-article archive and its index."""
    archive = write_archive(tmp_path / "archive", 30)
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir, IndexOptions(jobs=1))
    return archive, index_dir


# --- one indexer at a time ---------------------------------------------------------------------

HOLD_LOCK = r"""
import sys, time
from pathlib import Path
from searchkit.storage import IndexLock
with IndexLock(Path(sys.argv[1]), timeout=0):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(index_dir: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(index_dir), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.slow
def test_second_indexer_waits_lock_timeout_then_exits_2_naming_the_holder(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    holder = hold_lock(index_dir, 30)
    try:
        started = time.monotonic()
        run = searchkit("index", str(archive), "--index", str(index_dir), "--lock-timeout", "1")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert run.returncode == 2
    assert waited >= 1.0
    [line] = error_lines(run.stderr)
    assert f"another indexer (pid {holder.pid}, started " in line and "waited 1s" in line
    assert "Traceback" not in run.stderr and "--lock-timeout" in run.stderr  # the hint


@pytest.mark.slow
def test_a_real_indexer_holds_the_lock_for_its_whole_run(tmp_path: Path) -> None:
    # Between two batches Whoosh's own lock is free; ours must not be, or a second run slips in.
    archive = write_archive(tmp_path / "archive", 400)
    index_dir = tmp_path / "ix"
    first = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "index", str(archive), "--index", str(index_dir), "--batch-size", "5", "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (index_dir / LOCK_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    refused = 0
    try:
        for _ in range(3):
            second = searchkit("index", str(archive), "--index", str(index_dir), "--lock-timeout", "0.2")
            if first.poll() is not None:
                break  # the first run ended meanwhile: the second may rightly have gone ahead
            assert second.returncode == 2, second.stderr
            assert f"another indexer (pid {first.pid}," in second.stderr
            refused += 1
    finally:
        first.communicate(timeout=120)
    assert first.returncode == 0
    assert refused >= 1
    assert ids_in(index_dir) == [f"story{i:05d}.txt" for i in range(400)]
    assert not (index_dir / LOCK_NAME).exists()


@pytest.mark.slow
def test_waiting_indexer_goes_on_when_the_holder_finishes_in_time(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    write_archive(archive, 1, start=30)
    holder = hold_lock(index_dir, 0.8)
    run = searchkit("index", str(archive), "--index", str(index_dir), "--lock-timeout", "20")
    holder.wait()
    assert run.returncode == 0, run.stderr
    assert len(ids_in(index_dir)) == 31


def test_lock_file_of_a_dead_process_is_cleared_at_once(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    pid = dead_pid()
    (index_dir / LOCK_NAME).write_text(json.dumps({"pid": pid, "started": "2025-01-01T00:00:00+00:00", "host": os.uname().nodename}))
    started = time.monotonic()
    result = runner.invoke(app, ["index", str(archive), "--index", str(index_dir), "--lock-timeout", "30"])
    assert time.monotonic() - started < 10
    assert result.exit_code == 0, result.stderr
    assert f"cleared a stale lock left by pid {pid}" in result.stderr
    assert not (index_dir / LOCK_NAME).exists()


@pytest.mark.slow
def test_lock_file_naming_a_live_process_that_holds_no_lock_is_stale_too(indexed: tuple[Path, Path]) -> None:
    # A reused pid: the process lives, but the kernel lock is free, so it is not an indexer of ours.
    archive, index_dir = indexed
    (index_dir / LOCK_NAME).write_text(json.dumps({"pid": os.getpid(), "started": "x", "host": os.uname().nodename}))
    run = searchkit("index", str(archive), "--index", str(index_dir), "--lock-timeout", "0")
    assert run.returncode == 0, run.stderr
    assert f"cleared a stale lock left by pid {os.getpid()}" in run.stderr


@pytest.mark.slow
def test_lock_of_a_killed_holder_is_free_at_once(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    holder = hold_lock(index_dir, 60)
    holder.kill()  # SIGKILL: the kernel drops the fcntl lock, searchkit.lock stays behind
    holder.wait()
    assert (index_dir / LOCK_NAME).exists()
    run = searchkit("index", str(archive), "--index", str(index_dir), "--lock-timeout", "0")
    assert run.returncode == 0, run.stderr
    assert "stale lock" in run.stderr


def test_lock_waits_and_names_the_holder_in_process(indexed: tuple[Path, Path]) -> None:
    from searchkit.errors import IndexLockedError

    _, index_dir = indexed
    holder = hold_lock(index_dir, 30)
    try:
        with pytest.raises(IndexLockedError, match=f"pid {holder.pid}"):
            with IndexLock(index_dir, timeout=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()


# --- queries while an indexer writes --------------------------------------------------------------


@pytest.mark.slow
def test_queries_during_indexing_see_committed_states_and_never_fail(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "archive", 400)
    index_dir = tmp_path / "ix"
    writer = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "index", str(archive), "--index", str(index_dir), "--batch-size", "10", "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    counts: list[int] = []
    searches = 0
    try:
        while writer.poll() is None:
            if not (index_dir / MANIFEST_NAME).exists():
                time.sleep(0.005)
                continue
            ix = open_whoosh(index_dir)  # raises (and fails the test) on any error
            with ix.searcher() as searcher:
                counts.append(searcher.doc_count())
            if counts[-1]:
                with open_index(index_dir) as search_index:
                    hits = search_index.search("harbour", limit=5).hits
                    assert len(hits) == min(5, counts[-1]) or len(hits) == 5
                    searches += 1
    finally:
        writer.communicate(timeout=120)
    assert writer.returncode == 0
    assert counts == sorted(counts), "a reader saw the index go backwards"
    assert all(count % 10 == 0 for count in counts), "a reader saw a batch half committed"
    assert len(set(counts)) >= 5, f"too few states observed to mean anything: {sorted(set(counts))}"
    assert ids_in(index_dir) == [f"story{i:05d}.txt" for i in range(400)]
    assert searches > 0


# --- rebuild ------------------------------------------------------------------------------------


def test_rebuild_refuses_an_index_folder_that_gained_a_stranger(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    (index_dir / "notes.txt").write_text("mine")
    with pytest.raises(NotAnIndexError, match="notes.txt"):
        index_paths([str(archive)], index_dir, IndexOptions(rebuild=True))
    assert (index_dir / "notes.txt").read_text() == "mine"
    assert len(ids_in(index_dir)) == 30


def test_rebuild_refuses_a_whoosh_index_without_searchkit_marker(tmp_path: Path) -> None:
    from whoosh import fields, index as whoosh_index

    archive = write_archive(tmp_path / "archive", 3)
    foreign = tmp_path / "theirs"
    foreign.mkdir()
    ix = whoosh_index.create_in(str(foreign), fields.Schema(t=fields.TEXT(stored=True)), indexname="MAIN")
    with ix.writer() as writer:
        writer.add_document(t="someone else's index")
    before = sorted(p.name for p in foreign.iterdir())
    with pytest.raises(NotAnIndexError, match="without searchkit's manifest"):
        index_paths([str(archive)], foreign, IndexOptions(rebuild=True))
    # And a manifest-named database that says it belongs to another program.
    db = sqlite3.connect(foreign / MANIFEST_NAME)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('app', 'other')")
    db.commit()
    db.close()
    with pytest.raises(NotAnIndexError):
        index_paths([str(archive)], foreign, IndexOptions(rebuild=True))
    assert sorted(p.name for p in foreign.iterdir()) == sorted([*before, MANIFEST_NAME])


def test_rebuild_refuses_a_folder_inside_the_index_named_like_an_index_file(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    (index_dir / "MAIN_photos").mkdir()
    (index_dir / "MAIN_photos" / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(NotAnIndexError, match="MAIN_photos"):
        index_paths([str(archive)], index_dir, IndexOptions(rebuild=True))
    assert (index_dir / "MAIN_photos" / "cat.jpg").read_bytes() == b"meow"


def siblings(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.parent.iterdir() if p.name.startswith(f".{index_dir.name}."))


@pytest.mark.parametrize("failure", [RuntimeError("reader bug"), KeyboardInterrupt()], ids=["reader-bug", "ctrl-c"])
def test_failed_rebuild_keeps_the_old_index_and_leaves_no_temp_folders(
    indexed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    archive, index_dir = indexed
    before = ids_in(index_dir)
    real_read_file = indexer.read_file
    calls = {"n": 0}

    def failing_read_file(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 12:
            raise failure
        return real_read_file(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer, "read_file", failing_read_file)
    with pytest.raises(type(failure)):
        index_paths([str(archive)], index_dir, IndexOptions(rebuild=True, jobs=1, batch_articles=5))
    assert ids_in(index_dir) == before
    assert siblings(index_dir) == []
    assert check_index(index_dir).healthy


def test_rebuild_with_a_missing_folder_is_refused_and_keeps_the_index(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    archive, index_dir = indexed
    moved = tmp_path / "unmounted"
    archive.rename(moved)  # an archive disk that is not mounted today
    result = runner.invoke(app, ["index", "--rebuild", "--index", str(index_dir)])
    assert result.exit_code == 2
    [line] = error_lines(result.stderr)
    assert str(archive) in line and "old index is kept" in line
    assert len(ids_in(index_dir)) == 30 and siblings(index_dir) == []


def test_rebuild_that_finds_no_articles_keeps_the_old_index(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    for path in archive.iterdir():
        path.write_bytes(b"")
    with pytest.raises(ReadError, match="found no articles"):
        index_paths([str(archive)], index_dir, IndexOptions(rebuild=True, jobs=1))
    assert len(ids_in(index_dir)) == 30 and siblings(index_dir) == []


def test_rebuild_through_a_symlink_rebuilds_the_target_and_keeps_the_link(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    archive, index_dir = indexed
    link = tmp_path / "current"
    link.symlink_to(index_dir)
    report = index_paths([str(archive)], link, IndexOptions(rebuild=True, jobs=1))
    assert report.articles_written == 30 and report.index_dir == str(link)
    assert link.is_symlink() and len(ids_in(link)) == 30
    assert siblings(index_dir) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux only")
def test_the_swap_is_one_atomic_exchange_on_linux(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("b")
    if not indexer._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this kernel or file system cannot exchange two names (the two-rename path is used)")
    assert (tmp_path / "a" / "x").read_text() == "b" and (tmp_path / "b" / "x").read_text() == "a"


# --- versions, damage, doctor ---------------------------------------------------------------------


def set_schema_version(index_dir: Path, value: str) -> None:
    with sqlite3.connect(index_dir / MANIFEST_NAME) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (value,))


def test_other_schema_version_is_refused_with_the_rebuild_command(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    set_schema_version(index_dir, "0")
    for args in (["index", str(archive)], ["query", "harbour"], ["stats"]):
        result = runner.invoke(app, [*args, "--index", str(index_dir)])
        assert result.exit_code == 2, (args, result.stderr)
        [line] = error_lines(result.stderr)
        assert "schema version 0" in line
        assert "searchkit index --rebuild" in result.stderr
        assert "Traceback" not in result.stderr
    doctor = runner.invoke(app, ["doctor", "--index", str(index_dir)])
    assert doctor.exit_code == 2 and "problem: " in doctor.stdout and "schema version 0" in doctor.stdout
    rebuilt = runner.invoke(app, ["index", "--rebuild", "--index", str(index_dir)])
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert len(ids_in(index_dir)) == 30


def damage(index_dir: Path, what: str) -> None:
    if what == "segment-truncated":
        segment = sorted(index_dir.glob("MAIN_*.trm"))[0]  # a segment's term index
        with open(segment, "r+b") as handle:
            handle.truncate(segment.stat().st_size // 2)
    elif what == "toc-truncated":
        toc = sorted(index_dir.glob("_MAIN_*.toc"))[-1]
        with open(toc, "r+b") as handle:
            handle.truncate(40)
    elif what == "toc-deleted":
        for toc in index_dir.glob("_MAIN_*.toc"):
            toc.unlink()
    elif what == "segment-deleted":
        sorted(index_dir.glob("MAIN_*.trm"))[0].unlink()


@pytest.mark.parametrize("what", ["segment-truncated", "segment-deleted", "toc-truncated", "toc-deleted"])
def test_damaged_index_gives_one_line_errors_and_doctor_repairs_it(indexed: tuple[Path, Path], what: str) -> None:
    archive, index_dir = indexed
    damage(index_dir, what)
    for args in (["index", str(archive)], ["query", "harbour"]):
        result = runner.invoke(app, [*args, "--index", str(index_dir)])
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert len(error_lines(result.stderr)) == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert "searchkit doctor" in result.stderr
    doctor = runner.invoke(app, ["doctor", "--index", str(index_dir)])
    assert doctor.exit_code == 2
    assert any(line.startswith("problem: ") for line in doctor.stdout.splitlines()), doctor.stdout
    assert "doctor --repair" in doctor.stderr
    repaired = runner.invoke(app, ["doctor", "--index", str(index_dir), "--repair"])
    assert repaired.exit_code == 0, (repaired.stdout, repaired.stderr)
    assert "problem: " not in repaired.stdout
    assert ids_in(index_dir) == [f"story{i:05d}.txt" for i in range(30)]


def test_doctor_on_a_healthy_index_and_its_json(indexed: tuple[Path, Path]) -> None:
    _, index_dir = indexed
    result = runner.invoke(app, ["doctor", "--index", str(index_dir)])
    assert result.exit_code == 0, result.stderr
    assert "ok: articles match the manifest (30 from 30 files)" in result.stdout
    data = json.loads(runner.invoke(app, ["doctor", "--index", str(index_dir), "--json"]).stdout)
    assert data["healthy"] is True and data["documents"] == data["manifest_articles"] == 30
    assert "Example:" in runner.invoke(app, ["doctor", "--help"]).stdout


def test_doctor_tells_an_interrupted_run_from_damage_and_repair_finishes_it(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    # What a kill between a Whoosh commit and its manifest record leaves: articles the manifest lacks.
    write_archive(archive, 5, start=30)
    index_paths([str(archive)], index_dir, IndexOptions(jobs=1))
    with sqlite3.connect(index_dir / MANIFEST_NAME) as db:
        db.execute("DELETE FROM files WHERE path LIKE '%story0003%'")
        db.execute("INSERT INTO meta VALUES ('run_in_progress', '{\"pid\": 1, \"started\": \"then\"}')")
    result = runner.invoke(app, ["doctor", "--index", str(index_dir)])
    assert result.exit_code == 0, result.stdout
    assert "note: an indexing run (pid 1, started then) did not finish" in result.stdout
    repaired = runner.invoke(app, ["doctor", "--index", str(index_dir), "--repair"])
    assert repaired.exit_code == 0
    health = check_index(index_dir)
    assert health.healthy and not health.interrupted and health.documents == health.manifest_articles == 35
    # Without the in-progress mark the same mismatch is damage.
    with sqlite3.connect(index_dir / MANIFEST_NAME) as db:
        db.execute("DELETE FROM files WHERE path LIKE '%story00001%'")
    assert not check_index(index_dir).healthy


def test_doctor_on_an_unreadable_manifest_says_how_to_rebuild(indexed: tuple[Path, Path]) -> None:
    archive, index_dir = indexed
    (index_dir / MANIFEST_NAME).write_bytes(b"this is not a database" * 100)
    result = runner.invoke(app, ["doctor", "--index", str(index_dir), "--repair"])
    assert result.exit_code == 2
    assert "searchkit index --rebuild FOLDER" in result.stderr
    query = runner.invoke(app, ["query", "harbour", "--index", str(index_dir)])
    assert query.exit_code == 2 and "Traceback" not in query.stderr
    rebuilt = runner.invoke(app, ["index", str(archive), "--rebuild", "--index", str(index_dir)])
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert check_index(index_dir).healthy


def test_an_index_with_no_articles_answers_a_query(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "empty.txt").write_bytes(b"")
    index_paths([str(archive)], tmp_path / "ix")
    with open_index(tmp_path / "ix") as ix:
        assert ix.search("harbour").hits == ()


# --- disk full, read-only -----------------------------------------------------------------------


class _FullDisk:
    """A file whose writes fail with ENOSPC once `budget` bytes have been written in all."""

    budget = 0

    def __init__(self, handle: object) -> None:
        self._handle = handle

    def write(self, data: bytes) -> int:
        if _FullDisk.budget - len(data) < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        _FullDisk.budget -= len(data)
        return self._handle.write(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)


def fill_the_disk_after(monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    from whoosh.filedb import filestore
    from whoosh.filedb.structfile import StructFile

    original = filestore.FileStorage.create_file

    def create_file(self: object, name: str, *args: object, **kwargs: object) -> object:
        made = original(self, name, *args, **kwargs)  # type: ignore[arg-type]
        return StructFile(_FullDisk(made.file), name=name)

    _FullDisk.budget = budget
    monkeypatch.setattr(filestore.FileStorage, "create_file", create_file)


@pytest.mark.parametrize("budget", [0, 20_000, 200_000])
def test_disk_full_while_writing_gives_a_clear_error_and_keeps_the_last_commit(
    indexed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    archive, index_dir = indexed
    before = ids_in(index_dir)
    write_archive(archive, 200, start=30, paragraphs=4)
    fill_the_disk_after(monkeypatch, budget)
    result = runner.invoke(app, ["index", str(archive), "--index", str(index_dir), "--batch-size", "20", "-j", "1"])
    assert result.exit_code == 2, result.stderr
    [line] = error_lines(result.stderr)
    assert line.startswith(f"Error: {index_dir}: cannot write to the index (No space left on device)")
    assert "Traceback" not in result.stderr
    monkeypatch.undo()
    survived = ids_in(index_dir)
    assert set(before) <= set(survived) and len(survived) == len(set(survived))
    with open_index(index_dir) as ix:
        assert ix.search("harbour").hits
    again = runner.invoke(app, ["index", str(archive), "--index", str(index_dir)])
    assert again.exit_code == 0, again.stderr
    assert len(ids_in(index_dir)) == 230
    assert check_index(index_dir).healthy


def test_manifest_full_after_a_commit_is_a_clear_error_and_the_next_run_catches_up(
    indexed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, index_dir = indexed
    write_archive(archive, 10, start=30)
    from searchkit import storage

    def full(*args: object, **kwargs: object) -> None:
        raise IndexWriteError(f"{index_dir}: cannot write to the manifest (database or disk is full)")

    monkeypatch.setattr(storage.Manifest, "record", full)
    with pytest.raises(IndexWriteError, match="disk is full"):
        index_paths([str(archive)], index_dir, IndexOptions(jobs=1))
    monkeypatch.undo()
    assert len(ids_in(index_dir)) == 40  # committed; the manifest lags, never leads
    report = index_paths([str(archive)], index_dir, IndexOptions(jobs=1))
    assert report.files_new == 10 and ids_in(index_dir) == [f"story{i:05d}.txt" for i in range(40)]


def test_sqlite_disk_full_is_recognised() -> None:
    from searchkit.storage import write_error

    converted = write_error(Path("ix"), sqlite3.OperationalError("database or disk is full"))
    assert isinstance(converted, IndexWriteError) and "disk is full" in str(converted)


def test_read_only_index_folder_with_chmod(indexed: tuple[Path, Path]) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod does not stop root's writes (see the tmpfs test, which mounts a read-only file system)")
    archive, index_dir = indexed
    write_archive(archive, 1, start=30)
    os.chmod(index_dir, 0o555)
    try:
        result = runner.invoke(app, ["index", str(archive), "--index", str(index_dir)])
        assert result.exit_code == 2
        [line] = error_lines(result.stderr)
        assert "cannot" in line and "Permission denied" in line
        assert len(ids_in(index_dir)) == 30
    finally:
        os.chmod(index_dir, 0o755)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1.5 MB tmpfs, mounted for the test (needs root with CAP_SYS_ADMIN; skipped without)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


@pytest.mark.slow
def test_a_real_full_disk_and_a_real_read_only_one(small_disk: Path, tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "archive", 20)
    index_dir = small_disk / "ix"
    first = searchkit("index", str(archive), "--index", str(index_dir))
    assert first.returncode == 0, first.stderr
    # 1. Full: an archive that does not fit.
    write_archive(archive, 1500, start=20, paragraphs=12)
    full = searchkit("index", str(archive), "--index", str(index_dir), "--batch-size", "50", "--jobs", "1")
    assert full.returncode == 2, full.stderr
    [line] = error_lines(full.stderr)
    assert "No space left on device" in line and "Traceback" not in full.stderr
    kept = ids_in(index_dir)
    assert {f"story{i:05d}.txt" for i in range(20)} <= set(kept) and len(kept) == len(set(kept))
    assert searchkit("query", "harbour", "--index", str(index_dir), "-n", "1").returncode == 0
    # 2. Read-only: the same file system remounted.
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    read_only = searchkit("index", str(archive), "--index", str(index_dir))
    assert read_only.returncode == 2
    [line] = error_lines(read_only.stderr)
    assert "Read-only file system" in line
    query = searchkit("query", "harbour", "--index", str(index_dir), "-n", "1", "--format", "jsonl")
    assert query.returncode == 0, query.stderr
    doctor = searchkit("doctor", "--index", str(index_dir))
    assert "problem: " not in doctor.stdout, doctor.stdout
    # 3. Room again: the next run cleans up after the failed one and finishes.
    subprocess.run(["mount", "-o", "remount,rw,size=64m", str(small_disk)], check=True)
    done = searchkit("index", str(archive), "--index", str(index_dir))
    assert done.returncode == 0, done.stderr
    assert ids_in(index_dir) == [f"story{i:05d}.txt" for i in range(1520)]
    assert check_index(index_dir).healthy


def test_a_manifest_journal_left_by_a_killed_writer_does_not_make_the_folder_foreign(tmp_path: Path) -> None:
    # Found by the random kill -9 trials: SQLite's journal of the half-written new manifest.
    from searchkit.storage import is_own_file

    assert is_own_file("searchkit.db.24854.tmp-journal")
    assert is_own_file("searchkit.db.24854.tmp")
    assert not is_own_file("searchkit.db.backup")
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a.txt").write_text("Title\n\nApril 1, 2025\nBody text.\n")
    index_dir = tmp_path / "ix"
    index_dir.mkdir()
    (index_dir / "searchkit.db.99999.tmp-journal").write_bytes(b"junk")
    report = index_paths([str(archive)], index_dir)
    assert report.articles_written == 1


def test_doctor_refuses_the_state_folder_of_a_cluster_index(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from searchkit.cli import app
    from searchkit.storage import Manifest

    state = tmp_path / "cluster-state"
    state.mkdir()
    with Manifest(state) as manifest:
        manifest.stamp()
        manifest.set_meta("backend", "manticore")
    for args in (["doctor"], ["doctor", "--repair"]):
        result = CliRunner().invoke(app, [*args, "--index", str(state)])
        assert result.exit_code == 2
        assert "cluster index" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in state.iterdir()) == ["searchkit.db"]  # nothing rebuilt into it
