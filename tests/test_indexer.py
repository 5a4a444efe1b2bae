"""Incremental indexing through the library: add, change, delete, unchanged, bad files, rebuild."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit.cli import app
from searchkit.errors import NotAnIndexError
from searchkit.indexer import IndexOptions, index_paths
from searchkit.storage import Manifest, open_whoosh


def page(title: str, body: str, dateline: str = "10:00 JST, April 1, 2025") -> str:
    return f"{title}\n\n{dateline}\n{body}\n"


def stored(index_dir: Path) -> dict[str, dict]:
    ix = open_whoosh(index_dir)
    with ix.searcher() as searcher:
        return {doc["id"]: doc for doc in searcher.all_stored_fields()}


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    (root / "politics").mkdir(parents=True)
    (root / "politics" / "vote.txt").write_text(page("Council Vote Passes", "The council passed the budget."))
    (root / "politics" / "poll.txt").write_text(page("Mayor Leads Poll", "The mayor leads by six points."))
    (root / "sport.txt").write_text(page("Rowing Club Wins Regatta", "The club won the spring regatta."))
    return root


def test_first_run_indexes_every_article_with_relative_ids(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    report = index_paths([str(archive)], index_dir)
    assert (report.files_seen, report.files_new, report.articles_written, report.files_failed) == (3, 3, 3, 0)
    docs = stored(index_dir)
    assert set(docs) == {"politics/vote.txt", "politics/poll.txt", "sport.txt"}
    assert docs["sport.txt"]["title"] == "Rowing Club Wins Regatta"
    assert docs["sport.txt"]["date_iso"] == "2025-04-01T10:00:00+09:00"
    assert docs["sport.txt"]["path"] == str(archive / "sport.txt")


def test_rerun_over_unchanged_archive_writes_nothing(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    toc_before = sorted(p.name for p in index_dir.iterdir())
    report = index_paths([str(archive)], index_dir)
    assert report.wrote is False
    assert (report.files_unchanged, report.files_new, report.files_changed, report.articles_written) == (3, 0, 0, 0)
    assert sorted(p.name for p in index_dir.iterdir()) == toc_before


def test_touched_but_identical_file_is_unchanged(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    target = archive / "sport.txt"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 5_000_000_000))
    report = index_paths([str(archive)], index_dir)
    assert report.files_unchanged == 3 and report.wrote is False


def test_changed_file_replaces_its_articles(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    (archive / "sport.txt").write_text(page("Rowing Club Loses Final", "A narrow defeat in the final race."))
    report = index_paths([str(archive)], index_dir)
    assert (report.files_changed, report.articles_written, report.articles_deleted) == (1, 1, 1)
    docs = stored(index_dir)
    assert len(docs) == 3
    assert docs["sport.txt"]["title"] == "Rowing Club Loses Final"


def test_deleted_file_loses_its_articles_and_new_file_is_added(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    (archive / "politics" / "poll.txt").unlink()
    (archive / "weather.txt").write_text(page("Storm Warning Lifted", "Forecasters lifted the warning."))
    report = index_paths([str(archive)], index_dir)
    assert (report.files_deleted, report.files_new, report.files_unchanged) == (1, 1, 2)
    assert set(stored(index_dir)) == {"politics/vote.txt", "sport.txt", "weather.txt"}
    with Manifest(index_dir) as manifest:
        assert str(archive / "politics" / "poll.txt") not in manifest.files()


def test_bare_run_reindexes_the_recorded_folders(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    (archive / "extra.txt").write_text(page("Bridge Reopens", "The bridge reopened to traffic."))
    report = index_paths([], index_dir)
    assert report.files_new == 1
    assert "extra.txt" in stored(index_dir)


def test_bad_files_are_reported_and_the_rest_is_indexed(archive: Path, tmp_path: Path) -> None:
    (archive / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (archive / "empty.txt").write_bytes(b"")
    (archive / "schema.dtd").write_text("<!ELEMENT story (title, body)>\n")
    index_dir = tmp_path / "ix"
    report = index_paths([str(archive)], index_dir)
    failed = {Path(f.path).name: f.reason for f in report.failures}
    assert set(failed) == {"photo.txt", "empty.txt"}
    assert "binary" in failed["photo.txt"]
    assert report.files_skipped == 1 and report.skipped[0].endswith("schema.dtd")
    assert report.articles_written == 3
    assert len(stored(index_dir)) == 3


def test_changed_file_that_no_longer_reads_keeps_its_old_articles(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    (archive / "sport.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = index_paths([str(archive)], index_dir)
    assert report.files_failed == 1
    assert stored(index_dir)["sport.txt"]["title"] == "Rowing Club Wins Regatta"
    # Still failing on the next run: it is retried, not forgotten.
    assert index_paths([str(archive)], index_dir).files_failed == 1


def test_include_and_exclude_globs(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    report = index_paths([str(archive)], index_dir, IndexOptions(include=("politics/*",), exclude=("poll.*",)))
    assert report.files_seen == 1
    assert set(stored(index_dir)) == {"politics/vote.txt"}


def test_hidden_files_and_the_index_folder_itself_are_not_read(archive: Path) -> None:
    (archive / ".draft.txt").write_text(page("Secret Draft", "Not for indexing."))
    index_dir = archive / "my-index"
    index_paths([str(archive)], index_dir)
    report = index_paths([str(archive)], index_dir)
    assert report.files_seen == 3 and report.files_failed == 0
    assert set(stored(index_dir)) == {"politics/vote.txt", "politics/poll.txt", "sport.txt"}


def test_batches_commit_along_the_way(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    for i in range(7):
        (archive / f"extra{i}.txt").write_text(page(f"Extra Story {i}", f"Story number {i} body."))
    report = index_paths([str(archive)], index_dir, IndexOptions(batch_articles=2))
    assert report.articles_written == 10
    assert len(stored(index_dir)) == 10
    with Manifest(index_dir) as manifest:
        assert len(manifest.files()) == 10


def test_rebuild_swaps_in_a_fresh_index(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    report = index_paths([str(archive)], index_dir, IndexOptions(rebuild=True))
    assert report.articles_written == 3 and report.index_dir == str(index_dir)
    assert len(stored(index_dir)) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ix.")]


def test_refuses_a_folder_that_is_not_an_index(archive: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(NotAnIndexError):
        index_paths([str(archive)], foreign)
    with pytest.raises(NotAnIndexError):
        index_paths([str(archive)], foreign, IndexOptions(rebuild=True))
    assert (foreign / "thesis.docx").read_bytes() == b"precious"


# --- the command line -------------------------------------------------------------------------

runner = CliRunner()


def test_cli_index_exit_0_and_summary_on_stderr(archive: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", str(archive), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "Indexed 3 articles" in result.stderr
    again = runner.invoke(app, ["index", str(archive), "--index", str(tmp_path / "ix")])
    assert again.exit_code == 0
    assert "up to date" in again.stderr and "nothing written" in again.stderr


def test_cli_index_exit_1_when_a_file_fails_and_json_summary(archive: Path, tmp_path: Path) -> None:
    (archive / "broken.txt").write_bytes(b"\x00" * 64)
    result = runner.invoke(app, ["index", str(archive), "--index", str(tmp_path / "ix"), "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["files_failed"] == 1 and summary["articles_written"] == 3
    assert summary["failures"][0]["path"].endswith("broken.txt")
    assert "broken.txt" in result.stderr  # the reason is also on stderr, one line


def test_cli_index_exit_2_on_a_foreign_folder(archive: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["index", str(archive), "--index", str(foreign)])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "not part of a searchkit index" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_index_uses_searchkit_index_env(archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHKIT_INDEX", str(tmp_path / "from-env"))
    result = runner.invoke(app, ["index", str(archive), "-q"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(stored(tmp_path / "from-env")) == 3


def segment_sizes(index_dir: Path) -> list[int]:
    ix = open_whoosh(index_dir)
    try:
        return sorted(segment.doc_count() for segment in ix._segments())
    finally:
        ix.close()


def test_segments_merge_by_size_tier_so_a_long_run_keeps_few_segments(archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import indexer

    monkeypatch.setattr(indexer, "MERGE_FACTOR", 3)
    for i in range(14):
        (archive / f"extra{i:02}.txt").write_text(page(f"Extra Story {i}", f"Story number {i} body."))
    index_dir = tmp_path / "ix"
    # 17 articles, one commit per article: every third segment of one article triggers a merge of
    # that tier, and merged segments merge again a tier up; never more than 2 segments per tier.
    report = index_paths([str(archive)], index_dir, IndexOptions(batch_articles=1))
    assert report.articles_written == 17
    sizes = segment_sizes(index_dir)
    assert sum(sizes) == 17
    assert len(sizes) <= 5, sizes  # 17 commits of 1 article, without merging: 17 segments
    assert max(sizes) >= 9, sizes  # three tier-1 segments (3 articles each) became one
    assert len(stored(index_dir)) == 17


def test_mostly_deleted_segments_are_rewritten(archive: Path, tmp_path: Path) -> None:
    for i in range(5):
        (archive / f"extra{i}.txt").write_text(page(f"Extra Story {i}", f"Story number {i} body."))
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    assert segment_sizes(index_dir) == [8]
    for i in range(5):
        (archive / f"extra{i}.txt").write_text(page(f"Extra Story {i}", f"Story number {i} rewritten."))
    index_paths([str(archive)], index_dir)  # 5 of the first segment's 8 articles are now deleted
    ix = open_whoosh(index_dir)
    try:
        # The old segment was rewritten without its deleted articles, beside the new one.
        assert [s.deleted_count() for s in ix._segments()] == [0, 0]
    finally:
        ix.close()
    assert sorted(segment_sizes(index_dir)) == [3, 5]
    assert "rewritten" in stored(index_dir)["extra3.txt"]["body"]


def test_cached_field_lengths_match_whoosh_for_every_document(tmp_path: Path) -> None:
    from searchkit import whoosh_readers

    archive = tmp_path / "archive"
    archive.mkdir()
    # The last articles have no byline, so the byline column ends before the last document.
    (archive / "a.txt").write_text(page("Long Title Of Many Words Here", "word " * 300) + "By Jane Roe\n")
    (archive / "b.txt").write_text(page("Short", "brief text"))
    (archive / "c.txt").write_text(page("Another Story", "the harbour " * 40))
    index_paths([str(archive)], tmp_path / "ix")
    ix = open_whoosh(tmp_path / "ix")
    reader = ix.reader()
    try:
        checked = 0
        for leaf, _ in reader.leaf_readers():
            for field in ("title", "body", "byline", "keywords", "id", "date"):  # the last two have no lengths
                for docnum in range(leaf.doc_count_all()):
                    cached = leaf._perdoc.doc_field_length(docnum, field)
                    assert cached == whoosh_readers.whoosh_doc_field_length(leaf._perdoc, docnum, field), (field, docnum)
                    checked += cached is not None
        assert checked >= 6
        # Asking again for a field without lengths (a merge asks for every field of every document)
        # does not go back to the file system.
        leaf = reader.leaf_readers()[0][0]
        storage = leaf._perdoc._storage
        asked = []
        original_exists = storage.file_exists
        storage.file_exists = lambda name: asked.append(name) or original_exists(name)
        try:
            for docnum in range(leaf.doc_count_all()):
                assert leaf._perdoc.doc_field_length(docnum, "id") == 0
        finally:
            storage.file_exists = original_exists
        assert asked == []
    finally:
        reader.close()
        ix.close()


def test_memory_option_sets_the_writer_memory(archive: Path, tmp_path: Path) -> None:
    # --memory 4 (MB): the same early segment ends as the test below, from the command line.
    words = [f"w{i:05}" for i in range(800)]
    for i in range(60):
        (archive / f"long{i:03}.txt").write_text(page(f"Long Story {i}", " ".join(words[i:] + words[:i])))
    small = runner.invoke(app, ["index", str(archive), "--index", str(tmp_path / "small"), "--memory", "4", "-j", "1", "-q"])
    default = runner.invoke(app, ["index", str(archive), "--index", str(tmp_path / "default"), "-j", "1", "-q"])
    assert small.exit_code == 0 and default.exit_code == 0, (small.output, default.output)
    assert len(segment_sizes(tmp_path / "small")) >= 3
    assert len(segment_sizes(tmp_path / "default")) == 1
    assert runner.invoke(app, ["index", str(archive), "--index", str(tmp_path / "x"), "--memory", "1"]).exit_code == 2


def test_a_batch_ends_early_when_its_postings_fill_the_writer_memory(archive: Path, tmp_path: Path) -> None:
    # 4 MB of writer memory: a segment ends when its postings reach 3.2 MB, rather than growing
    # without bound; 800 words an article (a file) make ~0.25 MB of buffered postings, so ~13
    # articles a segment: more than one segment, fewer than the ten that would be merged.
    words = [f"w{i:05}" for i in range(800)]
    for i in range(60):
        (archive / f"long{i:03}.txt").write_text(page(f"Long Story {i}", " ".join(words[i:] + words[:i])))
    index_dir = tmp_path / "ix"
    report = index_paths([str(archive)], index_dir, IndexOptions(batch_articles=10**6, writer_memory_mb=4))
    assert report.articles_written == 63
    sizes = segment_sizes(index_dir)
    assert sum(sizes) == 63 and len(sizes) >= 3, sizes  # one batch of 63 would be one segment
    assert len(stored(index_dir)) == 63


# --- segments written by the worker processes ------------------------------------------------------

_VOCABULARY = "harbour council budget ferry strike wheat grain tonnes minister vote mayor poll regatta club".split()


def _big_archive(root: Path, files: int = 48) -> Path:
    """~2.4 MB in all, past the size at which the indexer starts worker processes."""
    import random

    rng = random.Random(3)
    root.mkdir(parents=True)
    for i in range(files):
        body = " ".join(rng.choice(_VOCABULARY) for _ in range(8000)) + f" unique{i}"
        (root / f"story{i:03}.txt").write_text(page(f"Story {i} {rng.choice(_VOCABULARY)}", body))
    return root


def test_worker_processes_write_segments_that_search_like_one_written_alone(tmp_path: Path) -> None:
    from searchkit.searcher import SearchIndex

    archive = _big_archive(tmp_path / "archive")
    alone, parallel = tmp_path / "alone", tmp_path / "parallel"
    index_paths([str(archive)], alone, IndexOptions(jobs=1))
    report = index_paths([str(archive)], parallel, IndexOptions(jobs=2))
    assert report.articles_written == 48 and report.files_failed == 0
    assert len(segment_sizes(alone)) == 1
    assert len(segment_sizes(parallel)) == 2  # one task, one segment, per worker
    assert not [p.name for p in parallel.iterdir() if p.name.startswith("STAGED-")]
    assert stored(alone).keys() == stored(parallel).keys()
    for query in ("harbour", "council budget", '"ferry strike"', "unique7", "title:regatta"):
        with SearchIndex(alone) as a, SearchIndex(parallel) as b:
            hits_a, hits_b = a.search(query, limit=10), b.search(query, limit=10)
            assert hits_a.total == hits_b.total > 0, query
            assert [(h.id, round(h.score, 6)) for h in hits_a.hits] == [(h.id, round(h.score, 6)) for h in hits_b.hits], query


def test_segments_staged_by_a_killed_run_are_removed_by_the_next(archive: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    for name in ("STAGED-999_abc.pst", "STAGED-999_abc.trm", "STAGED-999_abc._stored.col"):
        (index_dir / name).write_bytes(b"half-written")
    (archive / "new.txt").write_text(page("Ferry Strike Ends", "The ferry strike ended."))
    report = index_paths([str(archive)], index_dir)  # not refused as someone else's files
    assert report.articles_written == 1
    assert not [p.name for p in index_dir.iterdir() if p.name.startswith("STAGED-")]
    assert len(stored(index_dir)) == 4


def test_tasks_are_cut_in_equal_shares_and_by_memory() -> None:
    from searchkit.discover import FoundFile
    from searchkit.indexer import _segment_tasks

    files = [FoundFile(f"/a/{i}", f"{i}", "/a", 1_000_000, 0) for i in range(10)]
    tasks = _segment_tasks(files, IndexOptions(), Path("/ix"), jobs=2)
    assert [len(t.files) for t in tasks] == [5, 5]
    assert [f for t in tasks for f in t.files] == files  # in order, none lost
    assert all(t.memory_mb == 256 for t in tasks)  # the writer memory shared between the workers
    # 6 MB of writer memory for 2 workers: 3 MB each, about 0.5 MB of text a task.
    small = _segment_tasks(files, IndexOptions(writer_memory_mb=6), Path("/ix"), jobs=2)
    assert len(small) == 10
    assert [len(t.files) for t in _segment_tasks(files, IndexOptions(), Path("/ix"), jobs=1)] == [10]
    assert _segment_tasks([], IndexOptions(), Path("/ix"), jobs=2) == []
