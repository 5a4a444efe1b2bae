"""Queries that once broke, each pinned by a test named after the bug, on the demo archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import open_index
from searchkit.cli import app
from searchkit.indexer import index_paths

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
