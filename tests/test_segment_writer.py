"""`DirectSegmentWriter` writes the segments Whoosh's own `SegmentWriter` writes, merges included."""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from whoosh import index as whoosh_index
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from searchkit import segment_writer, whoosh_readers
from searchkit.discover import walk
from searchkit.indexer import read_file
from searchkit.schema import build_schema
from searchkit.segment_writer import DirectSegmentWriter
from searchkit.stored_codec import BlockStoredCodec

_WORDS = "oil price crude barrel opec output quota minister tanker port strike wheat grain export tonnes".split()


def _documents(tmp_path: Path, count: int) -> list[list[dict[str, Any]]]:
    """Documents as the indexer's readers make them, one list per file of ~40 stories."""
    whoosh_readers.install()
    root = tmp_path / "stories"
    root.mkdir()
    rng = random.Random(7)
    for number in range(count):
        rare = f"rare{number % 13}" if number % 5 == 0 else ""
        body = " ".join(rng.choice(_WORDS) for _ in range(20 + number % 90))
        (root / f"f{number // 40:02}-{number:04}.txt").write_text(
            f"Story {number} {rng.choice(_WORDS)}\n\n10:00 JST, April {1 + number % 28}, 2025\n{body} {rare}.\n"
        )
    found = [f for f in walk(str(root)) if not hasattr(f, "reason")]
    documents: list[list[dict[str, Any]]] = []
    for file in found:
        result = read_file(file, None, 0)
        assert result.documents, result.error
        documents.append(result.documents)
    return [sum(documents[i : i + 40], []) for i in range(0, len(documents), 40)]


def _merge_everything(writer: Any, segments: list[Any]) -> list[Any]:
    for segment in segments:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return []


def _build(
    index_dir: Path, writer_class: Callable[..., Any], batches: list[list[dict[str, Any]]], inverted: bool = False
) -> None:
    """One commit per batch; the third deletes a whole file's stories and every seventh of the
    second batch; the last merges every segment into one. With `inverted`, each batch's postings
    are taken out first by `invert_documents`, as the indexer's workers do."""
    index_dir.mkdir()
    ix = whoosh_index.create_in(str(index_dir), build_schema(), indexname="t")
    for number, batch in enumerate(batches):
        writer = writer_class(ix, limitmb=64, compound=False, codec=BlockStoredCodec())
        writer.mergetype = _merge_everything if number == len(batches) - 1 else (lambda w, segments: segments)
        if number == 2:
            writer.delete_by_term("path", batches[0][0]["path"])
            for document in batches[1][::7]:
                writer.delete_by_term("id", document["id"])
        if inverted:
            documents = copy.deepcopy(batch)
            writer.add_documents(documents, segment_writer.invert_documents(documents, ix.schema))
        else:
            for document in batch:
                writer.add_document(**document)
        writer.commit()
    ix.close()


def _segment_files(index_dir: Path) -> dict[str, bytes]:
    # Segment names are random; the table of contents names them, so it differs too.
    return {
        re.sub(r"^t_\w+?\.", "t_SEGMENT.", path.name): path.read_bytes()
        for path in index_dir.iterdir()
        if not path.name.endswith(".toc") and "WRITELOCK" not in path.name
    }


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> list[list[dict[str, Any]]]:
    return _documents(tmp_path_factory.mktemp("docs"), 600)


@pytest.mark.parametrize("inverted", [False, True], ids=["add_document", "invert_documents"])
def test_segments_are_byte_for_byte_whooshs_own_including_merges_and_deletions(
    batches: list[list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inverted: bool
) -> None:
    monkeypatch.setattr(DirectSegmentWriter, "compress_from", 0)  # compress every block, as Whoosh does
    monkeypatch.setattr(DirectSegmentWriter, "split_blocks", False)  # in Whoosh's block layout
    _build(tmp_path / "whoosh", SegmentWriter, batches)
    _build(tmp_path / "direct", DirectSegmentWriter, batches, inverted=inverted)
    whoosh_files = _segment_files(tmp_path / "whoosh")
    direct_files = _segment_files(tmp_path / "direct")
    assert sorted(direct_files) == sorted(whoosh_files)
    assert "t_SEGMENT.pst" in direct_files and "t_SEGMENT.trm" in direct_files
    different = [name for name in whoosh_files if whoosh_files[name] != direct_files[name]]
    assert different == []


def _postings(index_dir: Path) -> dict[tuple[str, bytes], list[tuple[int, float, bytes]]]:
    ix = whoosh_index.open_dir(str(index_dir), indexname="t")
    reader = ix.reader()
    try:
        found = {}
        for (fieldname, term), _ in reader.iter_all_terms() if hasattr(reader, "iter_all_terms") else reader:
            matcher = reader.postings(fieldname, term)
            found[(fieldname, term)] = [(id_, weight, value) for id_, weight, value in _walk(matcher)]
        return found
    finally:
        reader.close()
        ix.close()


def _walk(matcher: Any) -> Any:
    while matcher.is_active():
        yield matcher.id(), matcher.weight(), matcher.value()
        matcher.next()


def _postings_size(index_dir: Path) -> int:
    return sum(path.stat().st_size for path in index_dir.glob("*.pst"))


def test_split_blocks_read_back_as_whoosh_wrote_them(batches: list[list[dict[str, Any]]], tmp_path: Path) -> None:
    assert DirectSegmentWriter.split_blocks and DirectSegmentWriter.compress_from > 0
    _build(tmp_path / "whoosh", SegmentWriter, batches)
    _build(tmp_path / "direct", DirectSegmentWriter, batches)
    whoosh_postings = _postings(tmp_path / "whoosh")
    assert len(whoosh_postings) > 100
    assert any(len(postings) > 128 for postings in whoosh_postings.values())  # terms of several blocks
    assert _postings(tmp_path / "direct") == whoosh_postings  # ids, weights and positions
    # Positions as narrowed arrays instead of a pickle of each posting's bytes, and struct infos:
    # about half of Whoosh's postings file here (0.51).
    assert _postings_size(tmp_path / "direct") < 0.7 * _postings_size(tmp_path / "whoosh")


def test_small_blocks_are_left_uncompressed(batches: list[list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DirectSegmentWriter, "split_blocks", False)
    _build(tmp_path / "whoosh", SegmentWriter, batches)
    _build(tmp_path / "direct", DirectSegmentWriter, batches)
    assert _postings(tmp_path / "direct") == _postings(tmp_path / "whoosh")
    assert _postings_size(tmp_path / "direct") < _postings_size(tmp_path / "whoosh")  # zlib lengthens a short block


def test_memory_use_is_counted_while_adding_and_released_by_the_commit(
    batches: list[list[dict[str, Any]]], tmp_path: Path
) -> None:
    ix = whoosh_index.create_in(str(tmp_path), build_schema(), indexname="t")
    writer = DirectSegmentWriter(ix, limitmb=1, compound=False, codec=BlockStoredCodec())
    assert writer.memory_used() == 0 and writer.memory_limit() == 1024 * 1024
    used = []
    for document in batches[0][:50]:
        writer.add_document(**document)
        used.append(writer.memory_used())
    assert used == sorted(used) and used[0] > 0 and used[-1] > 10 * used[0]
    writer.commit()
    assert writer.memory_used() == 0
    ix.close()


def test_schemas_it_cannot_write_exactly_are_refused(tmp_path: Path) -> None:
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.codec.whoosh3 import W3Codec
    from whoosh.fields import TEXT, Schema

    assert segment_writer.supports(build_schema(), BlockStoredCodec())
    assert not segment_writer.supports(Schema(body=TEXT(vector=True)), BlockStoredCodec())
    # Spelling words of stemmed fields go to a field of their own, which this writer does not write.
    assert not segment_writer.supports(Schema(body=TEXT(analyzer=StemmingAnalyzer(), spelling=True)), BlockStoredCodec())
    assert not segment_writer.supports(build_schema(), W3Codec(inlinelimit=4))
    ix = whoosh_index.create_in(str(tmp_path), Schema(body=TEXT(vector=True)), indexname="t")
    with pytest.raises(ValueError, match="cannot write this schema"):
        DirectSegmentWriter(ix, compound=False)
    ix.close()


def test_split_block_matcher_skips_to_the_same_places_as_whooshs(
    batches: list[list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from whoosh.codec.whoosh3 import W3LeafMatcher

    from searchkit.postings_format import SplitBlockMatcher

    monkeypatch.setattr(DirectSegmentWriter, "split_blocks", False)  # blocks both matchers read
    _build(tmp_path / "ix", DirectSegmentWriter, batches)
    ix = whoosh_index.open_dir(str(tmp_path / "ix"), indexname="t")
    reader = ix.reader()
    try:
        terms = reader.leaf_readers()[0][0]._terms
        rng = random.Random(5)
        checked = 0
        for (fieldname, term), info in reader:
            if info.doc_frequency() < 300:  # several blocks of 128
                continue
            offset, length = info._offset, info._length
            matchers = [cls(terms._postfile, offset, length, ix.schema[fieldname].format) for cls in (W3LeafMatcher, SplitBlockMatcher)]
            target = 0
            while all(m.is_active() for m in matchers):
                target += rng.choice((1, 2, 5, 40, 200))
                for m in matchers:
                    m.skip_to(target)
                assert matchers[0].is_active() == matchers[1].is_active()
                if matchers[0].is_active():
                    assert matchers[0].id() == matchers[1].id() >= target
                    assert matchers[0].value() == matchers[1].value()
                checked += 1
        assert checked > 100
    finally:
        reader.close()
        ix.close()
