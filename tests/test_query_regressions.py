"""Queries that once broke, each pinned by a test named after the bug, on the demo archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import open_index
from searchkit.cli import app
from searchkit.indexer import IndexOptions, index_paths
from searchkit.storage import open_whoosh

SAMPLE_DOCS = Path(__file__).resolve().parents[1] / "sample_docs"
runner = CliRunner()


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("regressions") / "index"
    index_paths([str(SAMPLE_DOCS)], index_dir)
    return index_dir


def test_field_restriction_with_date_range_no_longer_trips_whoosh_assertion(sample_index: Path) -> None:
    result = runner.invoke(app, ["query", "title:strike date:[2025-03-01 TO 2025-03-31]", "--index", str(sample_index)])
    assert result.exit_code == 0, result.stderr
    assert "Island Ferry Crews End Strike" in result.stdout
    assert "Traceback" not in result.stderr


def test_not_excludes_the_first_candidate_too(sample_index: Path) -> None:
    # Whoosh's AndNotMatcher kept the first article with "japan" although it says "said".
    with open_index(sample_index) as ix:
        with_japan = {h.id for h in ix.search("japan", limit=100, fragments=0).hits}
        with_said = {h.id for h in ix.search("said", limit=100, fragments=0).hits}
        results = ix.search("japan NOT said", limit=100, fragments=0)
    assert "business/regional-banks-merger-talks.txt" in with_japan & with_said
    assert {h.id for h in results.hits} == with_japan - with_said


@pytest.mark.parametrize("query", ["japan~1/8", "[2025 TO 2024][~2/8 "])
def test_a_fuzzy_prefix_longer_than_the_word_is_no_crash(sample_index: Path, query: str) -> None:
    # Found by the cluster tests' random queries: Whoosh's Levenshtein automaton read past the word.
    with open_index(sample_index) as ix:
        results = ix.search(query, fragments=0)
    assert results.total >= (1 if query.startswith("japan") else 0)


def test_required_word_with_date_clause(sample_index: Path) -> None:
    with open_index(sample_index) as ix:
        results = ix.search("+strike date:2025", fragments=0)
    assert results.total >= 1 and all(h.date and h.date.startswith("2025") for h in results.hits)


def test_section_clause_beside_an_exclusion_restricts_instead_of_widening(sample_index: Path) -> None:
    with open_index(sample_index) as ix:
        results = ix.search('"joint force" -ferry section:politics', fragments=0)
    # Before: AndNot(Or(phrase, section:politics), ferry) matched every Politics article.
    assert [h.id for h in results.hits] == ["politics/japan-us-defence-chiefs-joint-headquarters.txt"]


def test_joint_headquarters_ranks_the_defence_story_first_with_both_words_highlighted(sample_index: Path) -> None:
    with open_index(sample_index) as ix:
        results = ix.search("joint headquarters", fragments=3)
    top = results.hits[0]
    assert top.id == "politics/japan-us-defence-chiefs-joint-headquarters.txt"
    highlighted = {s.text[a:b].lower() for s in top.snippets for a, b in s.highlights}
    assert {"joint", "headquarters"} <= highlighted


def test_an_unexpected_bug_is_one_line_and_exit_2_not_a_traceback(
    sample_index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from searchkit import cli, searcher

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated failure\x1b[31m")

    monkeypatch.setattr(searcher.SearchIndex, "search", broken)
    monkeypatch.setattr(sys, "argv", ["searchkit", "query", "strike", "--index", str(sample_index)])
    monkeypatch.delenv("SEARCHKIT_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: unexpected RuntimeError: simulated failure")
    assert "\x1b" not in err and "Traceback" not in err
    assert "SEARCHKIT_DEBUG=1" in err


@pytest.fixture(scope="module")
def split_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo archive again, one commit per article, none merged: a segment per article."""
    from searchkit import indexer

    index_dir = tmp_path_factory.mktemp("regressions") / "split"
    saved = indexer.MERGE_FACTOR
    # Merged segments keep Whoosh's rounded field lengths, which shifts the average length a
    # little; unmerged, the index-wide statistics are those of one segment, and so must be the scores.
    indexer.MERGE_FACTOR = 1000
    try:
        index_paths([str(SAMPLE_DOCS)], index_dir, IndexOptions(batch_articles=1))
    finally:
        indexer.MERGE_FACTOR = saved
    return index_dir


@pytest.mark.parametrize(
    "query", ["oil prices", "trade deficit japan", "bank rates", "japan defence", "city library", "energy prices rise", "tokyo market"]
)
def test_short_query_ranking_does_not_depend_on_how_the_index_is_split_into_segments(sample_index: Path, split_index: Path, query: str) -> None:
    # Each tier was ordered by BM25 divided by the best score of the document's own segment.
    assert len(open_whoosh(sample_index)._segments()) == 1
    assert len(open_whoosh(split_index)._segments()) >= 10
    with open_index(sample_index) as whole, open_index(split_index) as split:
        expected = whole.search(query, limit=10, fragments=0)
        got = split.search(query, limit=10, fragments=0)
    assert len(expected.hits) >= 3
    assert [h.id for h in got.hits] == [h.id for h in expected.hits]
    assert [h.score for h in got.hits] == pytest.approx([h.score for h in expected.hits], rel=1e-12)


def _story(title: str, body: str) -> str:
    return f"{title}\n\n10:00 JST, April 1, 2025\n{body}\n"


def test_an_open_index_sees_articles_deleted_and_segments_merged_after_it_was_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Whoosh's refresh kept the reader of a segment whose id had not changed, with the deletions it
    # had when opened, and kept the segments a merge had replaced beside the merged one.
    from searchkit import indexer

    monkeypatch.setattr(indexer, "MERGE_FACTOR", 3)
    archive = tmp_path / "archive"
    archive.mkdir()
    for i in range(5):
        (archive / f"story{i}.txt").write_text(_story(f"Harbour Story {i}", f"The harbour crews met for talks, round {i}."))
    options = IndexOptions(batch_articles=1)
    index_paths([str(archive)], tmp_path / "ix", options)
    with open_index(tmp_path / "ix") as ix:
        assert {h.id for h in ix.search("harbour", limit=50, fragments=0).hits} == {f"story{i}.txt" for i in range(5)}
        (archive / "story1.txt").write_text(_story("Lighthouse Story", "The lighthouse keepers met instead."))
        for i in range(5, 9):
            (archive / f"story{i}.txt").write_text(_story(f"Harbour Story {i}", f"The harbour crews met for talks, round {i}."))
        report = index_paths([str(archive)], tmp_path / "ix", options)
        assert report.articles_deleted == 1
        harbour = [h.id for h in ix.search("harbour", limit=50, fragments=0).hits]
        assert "story1.txt" not in harbour
        assert sorted(harbour) == sorted(f"story{i}.txt" for i in range(9) if i != 1)
        assert [h.id for h in ix.search("lighthouse", fragments=0).hits] == ["story1.txt"]
        everything = [h.id for h in ix.search("*", limit=50, fragments=0).hits]
        assert sorted(everything) == sorted(f"story{i}.txt" for i in range(9))
        assert ix.search("met", sort="newest", limit=50, fragments=0).total == 9


@pytest.mark.parametrize("query", ["city council library opening hours trial", "japan defence ministers joint headquarters talks"])
def test_feedback_ranking_under_a_restriction_keeps_every_match_in_play(sample_index: Path, query: str) -> None:
    # RM3 re-ranks the typed words' matches as Require(expanded words, typed words). On a small
    # index Whoosh ORs the expanded words with an ArrayUnionMatcher, whose bound was the largest
    # part's, 0 once read: the collector dropped the query once the page had a score, and the
    # page came out in index order. It must be what Whoosh's `filter=` (which never asks) gives.
    with open_index(sample_index) as ix:
        searcher = ix._s()
        parsed = ix._builder.parse(query, searcher.reader())
        ranked, typed = ix._with_feedback(searcher, query, parsed.q, None, "relevance")
        assert ranked is not parsed.q  # feedback was applied
        expected = [(hit["id"], hit.score) for hit in searcher.search(ranked, limit=10, filter=typed)]
        got = ix.search(query, limit=10, fragments=0)
    assert len(expected) == 10 and got.total > 10
    assert [(h.id, h.score) for h in got.hits] == expected
