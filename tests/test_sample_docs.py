"""The demo archive end to end: every file read, right text in every encoding, right metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit.indexer import index_paths
from searchkit.storage import open_whoosh

SAMPLE_DOCS = Path(__file__).resolve().parents[1] / "sample_docs"


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    index_dir = tmp_path_factory.mktemp("sample") / "index"
    report = index_paths([str(SAMPLE_DOCS)], index_dir)
    assert report.files_failed == 0, report.failures
    ix = open_whoosh(index_dir)
    with ix.searcher() as searcher:
        docs = {d["id"]: d for d in searcher.all_stored_fields()}
    return index_dir, docs


def test_every_article_is_indexed_and_the_readme_is_skipped(sample_index: tuple[Path, dict[str, dict]]) -> None:
    _, docs = sample_index
    assert len(docs) >= 24
    assert not any(doc_id.startswith("README") for doc_id in docs)
    formats = {d["provenance"][0] for d in docs.values()}
    assert formats == {"text", "html", "json", "sgml"}


def test_legacy_encodings_come_out_as_the_right_text(sample_index: tuple[Path, dict[str, dict]]) -> None:
    _, docs = sample_index
    by_encoding: dict[str, list[dict]] = {}
    for doc in docs.values():
        by_encoding.setdefault(doc["provenance"][2], []).append(doc)
    assert {"utf-8", "cp1252", "euc_jp"} <= set(by_encoding)
    assert {"shift_jis", "cp932"} & set(by_encoding)
    assert any(enc.startswith("utf-16") for enc in by_encoding)
    culture = docs["culture/harbour-warehouse-cafe-theatre.txt"]
    assert culture["title"].startswith("Café")
    assert "\ufffd" not in culture["body"]
    japanese = [d for d in docs.values() if d["lang"] == "ja"]
    assert len(japanese) >= 2
    assert any("日本語" in d["body"] or "日本語" in d["title"] for d in japanese)
    assert all("\ufffd" not in d["body"] for d in docs.values())


def test_the_joint_headquarters_page(sample_index: tuple[Path, dict[str, dict]]) -> None:
    _, docs = sample_index
    page = docs["politics/japan-us-defence-chiefs-joint-headquarters.txt"]
    assert page["date_iso"] == "2025-03-30T17:24:00+09:00"
    assert page["section"] == "Politics"
    assert "Joint Headquarters" in page["title"]
    assert "Indo-Pacific [region]" in page["body"]
    assert "POPULAR" not in page["body"] and "RANKING" not in page["body"]


def test_wire_and_dump_records_have_stable_record_ids(sample_index: tuple[Path, dict[str, dict]]) -> None:
    _, docs = sample_index
    assert sum(1 for d in docs if d.startswith("wire/feed.jsonl#")) >= 5
    assert sum(1 for d in docs if d.startswith("wire/wire-2025-03.sgm#")) >= 4
