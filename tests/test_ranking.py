"""Ranking: the idf, RM3 feedback for long questions, and quality on the TIME collection."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from conftest import shared_path
from searchkit import open_index
from searchkit.indexer import index_paths
from searchkit.searcher import FEEDBACK_MIN_WORDS

ROOT = Path(__file__).resolve().parents[1]


def _write(folder: Path, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "dump.jsonl", "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")


@pytest.fixture()
def archive_index(tmp_path: Path) -> Path:
    records = [
        {"id": "a", "title": "Harbour strike", "text": "Dock workers at the harbour began a strike over pay and shifts."},
        {"id": "b", "title": "Strike talks", "text": "Union leaders and port managers met to end the dock strike over pay."},
        {"id": "c", "title": "Ferry timetable", "text": "The ferry company changed its timetable for the spring season."},
        {"id": "d", "title": "Pay rise", "text": "Council staff will get a pay rise next year after long talks."},
        {"id": "e", "title": "Weather", "text": "Rain is expected across the region for most of the week."},
    ]
    _write(tmp_path / "docs", records)
    index_paths([str(tmp_path / "docs")], tmp_path / "ix")
    return tmp_path / "ix"


def test_long_question_is_reranked_but_finds_exactly_what_its_words_match(archive_index: Path) -> None:
    question = "why did dock workers strike over pay at the harbour"
    with open_index(archive_index) as ix:
        results = ix.search(question, limit=10, fragments=1)
        # Every hit holds at least one word the user typed, and nothing else sneaks in.
        assert {h.id.split("#")[1] for h in results.hits} == {"a", "b", "d"}
        assert results.total == 3
        assert results.hits[0].id.endswith("#a")
        for hit in results.hits:
            assert hit.snippets and hit.snippets[0].highlights  # highlights are of the typed words


def test_short_queries_are_not_expanded(archive_index: Path) -> None:
    assert FEEDBACK_MIN_WORDS > 2
    with open_index(archive_index) as ix:
        assert [h.id[-1] for h in ix.search("dock strike").hits][:2] in (["a", "b"], ["b", "a"])


@pytest.mark.shared
@pytest.mark.slow
def test_time_collection_quality_meets_the_goal(tmp_path: Path) -> None:
    corpus = shared_path("corpora", "time")
    spec = importlib.util.spec_from_file_location("time_ranking", ROOT / "benchmarks" / "time_ranking.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["time_ranking"] = module
    spec.loader.exec_module(module)
    docs = module.read_docs(corpus)
    run, _, _ = module.run_searchkit(docs, module.read_queries(corpus), tmp_path)
    mean_ap, ndcg = module.score(run, module.read_judgments(corpus, docs))
    # Plain Whoosh scores 0.653 / 0.716 here; the goal is MAP >= 0.72 and nDCG@10 >= 0.77.
    assert mean_ap >= 0.72 and ndcg >= 0.77, (mean_ap, ndcg)
