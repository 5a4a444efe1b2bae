"""Interrupted and killed index runs: the committed state survives and a re-run finishes the job."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchkit.storage import MANIFEST_NAME, open_whoosh

pytestmark = pytest.mark.slow

FILES = 1200


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    words = "harbour council ferry budget river storm market bank rail port vote".split()
    for i in range(FILES):
        body = "\n".join(" ".join(words[(i * 7 + j * 3 + k) % len(words)] for k in range(60)) + "." for j in range(6))
        (root / f"story{i:05d}.txt").write_text(f"Story {i}\n\n10:00 JST, April 1, 2025\n{body}\n")
    return root


def start_indexer(archive: Path, index_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "searchkit", "index", str(archive), "--index", str(index_dir), "--batch-size", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a kill reaches the reader processes too
    )


def committed_files(index_dir: Path) -> int:
    try:
        with sqlite3.connect(index_dir / MANIFEST_NAME) as db:
            return db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_for_a_commit(index_dir: Path, process: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while committed_files(index_dir) < at_least and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def ids_in(index_dir: Path) -> list[str]:
    with open_whoosh(index_dir).searcher() as searcher:
        return [doc["id"] for doc in searcher.all_stored_fields()]


def test_ctrl_c_exits_130_and_keeps_committed_batches(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    process = start_indexer(archive, index_dir)
    wait_for_a_commit(index_dir, process, 100)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert process.returncode == 130
    assert "Interrupted" in stderr and "Traceback" not in stderr
    kept = ids_in(index_dir)
    assert 0 < len(kept) < FILES
    rerun = subprocess.run(
        [sys.executable, "-m", "searchkit", "index", str(archive), "--index", str(index_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    final = ids_in(index_dir)
    assert len(final) == FILES and len(set(final)) == FILES


@pytest.mark.parametrize("commits_before_kill", [1, 3, 6])
def test_kill_9_mid_run_then_rerun_gives_exactly_the_archive(archive: Path, tmp_path: Path, commits_before_kill: int) -> None:
    index_dir = tmp_path / "ix"
    process = start_indexer(archive, index_dir)
    wait_for_a_commit(index_dir, process, 100 * commits_before_kill)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    # The last committed state opens and answers.
    survived = ids_in(index_dir)
    assert len(survived) == len(set(survived))
    rerun = subprocess.run(
        [sys.executable, "-m", "searchkit", "index", str(archive), "--index", str(index_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    final = ids_in(index_dir)
    assert sorted(final) == sorted(f"story{i:05d}.txt" for i in range(FILES))
