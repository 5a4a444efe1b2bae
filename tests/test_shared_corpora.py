"""Indexing the research corpora end to end, as the README's users would (skipped without ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import shared_path
from searchkit import open_index
from searchkit.cli import app
from searchkit.storage import open_whoosh

runner = CliRunner()


@pytest.mark.shared
def test_indexing_the_seed_folder(tmp_path: Path) -> None:
    seeds = shared_path("seeds")
    result = runner.invoke(app, ["index", str(seeds), "--index", str(tmp_path / "ix"), "--json"])
    assert result.exit_code == 0, result.stderr
    with open_whoosh(tmp_path / "ix").searcher() as searcher:
        (doc,) = list(searcher.all_stored_fields())
    first_line = (seeds / "000_dd111037f3b2551f.txt").read_text(encoding="utf-8").splitlines()[0].strip()
    assert doc["title"] == first_line
    assert doc["date_iso"] == "2025-03-30T17:24:00+09:00"
    assert doc["section"] == "Politics"
    assert "Akasaka Press Center" in doc["body"]
    for chrome in ("POPULAR ARTICLE", "ACCESS RANKING", "Keidanren", "Rare Earths", "NISA"):
        assert chrome not in doc["body"]
    with open_index(tmp_path / "ix") as ix:
        assert ix.search("joint headquarters").hits[0].id == "000_dd111037f3b2551f.txt"


@pytest.mark.shared
@pytest.mark.slow
def test_indexing_reuters_gives_every_story_with_its_date_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    corpus = shared_path("corpora", "reuters21578")
    index_dir = tmp_path / "reuters"
    first = runner.invoke(app, ["index", str(corpus), "-g", "*.sgm", "--index", str(index_dir), "--json"])
    assert first.exit_code == 0, first.stderr
    import json

    report = json.loads(first.stdout)
    assert report["files_seen"] == 22 and report["files_skipped"] == 0  # README, DTD, category list left out
    assert report["articles_written"] == 21_578
    with open_whoosh(index_dir).searcher() as searcher:
        docs = list(searcher.all_stored_fields())
    assert len(docs) == 21_578 and len({d["id"] for d in docs}) == 21_578
    assert all(d.get("date_iso", "").startswith("1987-") for d in docs)
    assert {d["id"] for d in docs if d["id"].startswith("reut2-000.sgm#")} >= {"reut2-000.sgm#1", "reut2-000.sgm#1000"}
    again = runner.invoke(app, ["index", str(corpus), "-g", "*.sgm", "--index", str(index_dir), "--json"])
    assert again.exit_code == 0
    rerun = json.loads(again.stdout)
    assert rerun["wrote"] is False and rerun["articles_written"] == 0 and rerun["files_unchanged"] == 22
