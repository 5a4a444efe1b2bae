"""Stored fields compressed in blocks (`stored_codec`): every document reads back as Whoosh wrote it."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from whoosh.codec import default_codec
from whoosh.codec.whoosh3 import STORED_COLUMN, W3Codec
from whoosh.filedb.structfile import BufferFile, StructFile

import searchkit.indexer as indexer
from searchkit import stored_codec
from searchkit.indexer import IndexOptions, index_paths
from searchkit.stored_codec import BLOCK_BYTES, BLOCK_DOCUMENTS, BlockStoredCodec, BlockStoredColumn, StoredFieldsFormatError
from searchkit.storage import MANIFEST_NAME, WHOOSH_INDEX_NAME, open_whoosh

_WORDS = "oil price crude barrel opec output quota minister tanker port strike wheat grain export tonnes".split()


def story(number: int, words: int) -> str:
    rng = random.Random(number)
    title = f"Story {number}: " + " ".join(rng.choice(_WORDS) for _ in range(5)).title()
    body = " ".join(rng.choice(_WORDS) for _ in range(words)) + "."
    return f"{title}\n\n10:00 JST, April {1 + number % 28}, 2025\n{body}\n"


def write_stories(root: Path, numbers: range, *, words: int = 60) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        # Every ninth story is longer than a whole block, so it fills a block on its own.
        length = BLOCK_BYTES // 4 if number % 9 == 4 else words + number % 50
        (root / f"story{number:03}.txt").write_text(story(number, length))


def stored_by_segment(index_dir: Path) -> list[list[tuple[bool, dict[str, Any]]]]:
    """Every document of every segment, deleted ones included, in document order."""
    from whoosh.reading import SegmentReader

    ix = open_whoosh(index_dir)
    try:
        found = []
        for segment in ix._segments():
            reader = SegmentReader(ix.storage, ix.schema, segment)
            try:
                found.append([(reader.is_deleted(n), reader.stored_fields(n)) for n in range(reader.doc_count_all())])
            finally:
                reader.close()
        return found
    finally:
        ix.close()


def segment_codecs(index_dir: Path) -> list[Any]:
    ix = open_whoosh(index_dir)
    try:
        return [segment.codec() for segment in ix._segments()]
    finally:
        ix.close()


def index_twice(archive: Path, index_dir: Path) -> None:
    """Many small commits that merge, then a second run that changes and deletes files."""
    options = IndexOptions(batch_articles=3, jobs=1)
    write_stories(archive, range(60))
    index_paths([str(archive)], index_dir, options)
    for number in range(0, 60, 7):
        (archive / f"story{number:03}.txt").write_text(story(number + 1000, 30))
    for number in range(3, 60, 11):
        (archive / f"story{number:03}.txt").unlink()
    index_paths([str(archive)], index_dir, options)


# --- through the indexer ---------------------------------------------------------------------------


def test_stored_fields_read_back_as_whoosh_writes_them_after_merges_and_deletions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer, "MERGE_FACTOR", 3)
    index_twice(tmp_path / "archive", tmp_path / "ix")
    # The same runs with Whoosh's own codec: the same commits and merges, so the same segments.
    monkeypatch.setattr(stored_codec, "BlockStoredCodec", W3Codec)
    index_twice(tmp_path / "archive-whoosh", tmp_path / "ix-whoosh")
    monkeypatch.undo()

    ours, whoosh = stored_by_segment(tmp_path / "ix"), stored_by_segment(tmp_path / "ix-whoosh")
    for segment in whoosh:
        for _, fields in segment:
            fields["path"] = fields["path"].replace("archive-whoosh", "archive")
    assert [len(segment) for segment in ours] == [len(segment) for segment in whoosh]
    assert ours == whoosh
    sizes = [len(segment) for segment in ours]
    assert max(sizes) > BLOCK_DOCUMENTS, sizes  # merged segments span more than one block
    assert any(deleted for segment in ours for deleted, _ in segment)
    assert all(isinstance(codec, BlockStoredCodec) for codec in segment_codecs(tmp_path / "ix"))


def test_search_and_show_read_the_fields_of_merged_segments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import open_index

    monkeypatch.setattr(indexer, "MERGE_FACTOR", 3)
    index_twice(tmp_path / "archive", tmp_path / "ix")
    expected = {fields["id"]: fields for segment in stored_by_segment(tmp_path / "ix") for deleted, fields in segment if not deleted}
    with open_index(tmp_path / "ix") as index:
        page = index.search("oil", limit=1000)
        assert {hit.id for hit in page.hits} <= set(expected)
        assert page.hits
        for hit in page.hits:
            assert hit.title == expected[hit.id]["title"]
    assert "story007.txt" in expected and "story003.txt" not in expected


def test_a_document_alone_in_the_last_block_reads_back(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    root = archive
    root.mkdir()
    for number in range(BLOCK_DOCUMENTS + 1):
        (root / f"short{number:03}.txt").write_text(story(number, 10))
    index_paths([str(archive)], tmp_path / "ix", IndexOptions(batch_articles=1000, jobs=1))
    [segment] = stored_by_segment(tmp_path / "ix")
    assert len(segment) == BLOCK_DOCUMENTS + 1
    last = segment[-1][1]
    assert last["title"].startswith("Story ") and last["path"] == str(root / f"{last['id']}")


def test_a_segment_whose_articles_were_all_deleted_is_merged_into_an_empty_segment(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    write_stories(archive, range(3))
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir)
    for path in archive.iterdir():
        path.unlink()
    (archive / "kept.txt").write_text("")  # the folder must hold something to be indexed
    index_paths([str(archive)], index_dir)
    assert stored_by_segment(index_dir) == [[]]  # Whoosh writes the merge even though it kept nothing
    write_stories(archive, range(3, 5))
    index_paths([str(archive)], index_dir)
    titles = sorted(fields["title"] for segment in stored_by_segment(index_dir) for _, fields in segment)
    assert [title.split(":")[0] for title in titles] == ["Story 3", "Story 4"]


def test_an_index_opens_in_a_fresh_process_with_the_same_fields(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    write_stories(archive, range(40))
    index_paths([str(archive)], tmp_path / "ix", IndexOptions(batch_articles=1000))
    expected = [fields for segment in stored_by_segment(tmp_path / "ix") for _, fields in segment]
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from searchkit.storage import open_whoosh\n"
        "ix = open_whoosh(Path(sys.argv[1]))\n"
        "with ix.searcher() as searcher:\n"
        "    docs = list(searcher.all_stored_fields())\n"
        "codecs = sorted({type(s.codec()).__module__ + '.' + type(s.codec()).__name__ for s in ix._segments()})\n"
        "print(json.dumps({'docs': docs, 'codecs': codecs}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ix")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["codecs"] == ["searchkit.stored_codec.BlockStoredCodec"]
    assert found["docs"] == json.loads(json.dumps(expected))  # tuples become lists on both sides


def test_the_table_of_contents_names_our_codec_by_its_import_path(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    write_stories(archive, range(5))
    index_paths([str(archive)], tmp_path / "ix")
    [toc] = (tmp_path / "ix").glob(f"_{WHOOSH_INDEX_NAME}_*.toc")
    data = toc.read_bytes()
    assert b"searchkit.stored_codec" in data and b"BlockStoredCodec" in data
    assert all(type(codec) is BlockStoredCodec for codec in segment_codecs(tmp_path / "ix"))


def test_an_index_of_the_previous_schema_version_is_refused(tmp_path: Path) -> None:
    # An older index is in a format this searchkit no longer reads; the CLI adds "searchkit index --rebuild".
    import sqlite3

    from searchkit.errors import IndexVersionError
    from searchkit.schema import SCHEMA_VERSION

    previous = SCHEMA_VERSION - 1

    archive = tmp_path / "archive"
    write_stories(archive, range(2))
    index_paths([str(archive)], tmp_path / "ix")
    with sqlite3.connect(tmp_path / "ix" / MANIFEST_NAME) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(previous),))
    with pytest.raises(IndexVersionError, match=f"schema version {previous}; this searchkit reads version {SCHEMA_VERSION}"):
        open_whoosh(tmp_path / "ix")


def test_the_blocks_make_the_stored_fields_smaller_than_whoosh_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_stories(tmp_path / "archive", range(100))
    index_paths([str(tmp_path / "archive")], tmp_path / "ix", IndexOptions(batch_articles=1000))
    monkeypatch.setattr(stored_codec, "BlockStoredCodec", W3Codec)
    write_stories(tmp_path / "archive-whoosh", range(100))
    index_paths([str(tmp_path / "archive-whoosh")], tmp_path / "ix-whoosh", IndexOptions(batch_articles=1000))
    [ours] = (tmp_path / "ix").glob("*._stored.col")
    [whoosh] = (tmp_path / "ix-whoosh").glob("*._stored.col")
    assert ours.stat().st_size < 0.8 * whoosh.stat().st_size, (ours.stat().st_size, whoosh.stat().st_size)


# --- the column itself -----------------------------------------------------------------------------


def write_column(values: dict[int, Any], doccount: int) -> bytes:
    buffer = io.BytesIO()
    dbfile = StructFile(buffer)
    writer = BlockStoredColumn().writer(dbfile)
    for docnum in sorted(values):
        writer.add(docnum, values[docnum])
    writer.finish(doccount)
    return buffer.getvalue()


def read_column(data: bytes, doccount: int, prefix: bytes = b"") -> Any:
    return BlockStoredColumn().reader(BufferFile(prefix + data), len(prefix), len(data), doccount)


def test_column_round_trip_across_block_boundaries_gaps_and_long_values() -> None:
    rng = random.Random(7)
    doccount = 5 * BLOCK_DOCUMENTS + 3
    values: dict[int, Any] = {}
    for docnum in range(doccount):
        if docnum % 13 == 5:
            continue  # a document without stored fields
        size = BLOCK_BYTES * 2 if docnum % 17 == 3 else rng.randrange(1, 2000)
        values[docnum] = {"id": f"doc{docnum}", "body": "".join(rng.choice("abc xyz") for _ in range(size)), "info": (docnum, 0.5, None)}
    del values[doccount - 1]  # the last documents store nothing: finish() fills them in
    del values[doccount - 2]
    reader = read_column(write_column(values, doccount), doccount, prefix=b"other columns first")
    order = list(range(doccount))
    for docnums in (order, order[::-1], rng.sample(order, len(order))):
        assert [reader[n] for n in docnums] == [values.get(n) for n in docnums]


def test_column_with_one_document_in_its_last_block() -> None:
    doccount = 2 * BLOCK_DOCUMENTS + 1
    values = {n: {"n": n} for n in range(doccount)}
    reader = read_column(write_column(values, doccount), doccount)
    assert reader[doccount - 1] == {"n": doccount - 1}
    assert reader[BLOCK_DOCUMENTS] == {"n": BLOCK_DOCUMENTS}
    with pytest.raises(IndexError):
        reader[doccount]


def test_empty_column_has_no_documents() -> None:
    data = write_column({}, 0)
    reader = read_column(data, 0)
    with pytest.raises(IndexError):
        reader[0]


def test_reading_a_document_decompresses_only_its_block_up_to_it_and_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    doccount = 4 * BLOCK_DOCUMENTS
    text = "".join(random.Random(3).choice("abcdefgh ") for _ in range(500))
    data = write_column({n: {"n": n, "text": text} for n in range(doccount)}, doccount)
    reader = read_column(data, doccount)
    inflated: list[int] = []  # bytes out of each block opened

    class CountingInflater:
        def __init__(self) -> None:
            self._inflater = zlib.decompressobj()
            inflated.append(0)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            raw = self._inflater.decompress(data, max_length)
            inflated[-1] += len(raw)
            return raw

        @property
        def unconsumed_tail(self) -> bytes:
            return self._inflater.unconsumed_tail

        @property
        def eof(self) -> bool:
            return self._inflater.eof

    monkeypatch.setattr(stored_codec, "zlib", type("CountingZlib", (), {"decompressobj": CountingInflater}))
    assert reader[BLOCK_DOCUMENTS + 1] == {"n": BLOCK_DOCUMENTS + 1, "text": text}
    assert len(inflated) == 1 and inflated[0] < 3 * 600  # the header and two documents, not the block
    assert reader[BLOCK_DOCUMENTS + 2]["n"] == BLOCK_DOCUMENTS + 2  # the same block, read on
    assert reader[BLOCK_DOCUMENTS]["n"] == BLOCK_DOCUMENTS  # behind: already inflated
    assert len(inflated) == 1 and inflated[0] < 4 * 600
    assert reader[2 * BLOCK_DOCUMENTS - 1]["n"] == 2 * BLOCK_DOCUMENTS - 1
    assert len(inflated) == 1 and inflated[0] > BLOCK_DOCUMENTS * 500
    assert reader[0]["n"] == 0
    assert len(inflated) == 2


def test_a_damaged_block_is_reported_when_read_through() -> None:
    doccount = BLOCK_DOCUMENTS
    data = bytearray(write_column({n: {"n": n, "text": "y" * n} for n in range(doccount)}, doccount))
    block_end = len(data) - 16 - (4 + 2 * 8)  # before the trailer and the directory of one block
    data[block_end - 1] ^= 0xFF  # the block's checksum
    reader = read_column(bytes(data), doccount)
    assert reader[0] == {"n": 0, "text": ""}  # a page of hits does not inflate the block to its end
    with pytest.raises(zlib.error):
        [reader[n] for n in range(doccount)]  # a merge or `doctor` does, and zlib checks it


def test_a_column_in_another_format_is_reported_not_misread() -> None:
    doccount = 3
    buffer = io.BytesIO()
    writer = STORED_COLUMN.writer(StructFile(buffer))
    for n in range(doccount):
        writer.add(n, {"n": n})
    writer.finish(doccount)
    with pytest.raises(StoredFieldsFormatError):
        read_column(buffer.getvalue(), doccount)[0]


def test_plain_whoosh_writers_keep_whoosh_codec(tmp_path: Path) -> None:
    from whoosh import fields, index

    archive = tmp_path / "archive"
    write_stories(archive, range(2))
    index_paths([str(archive)], tmp_path / "ix")  # our codec has been used in this process
    assert type(default_codec()) is W3Codec
    (tmp_path / "plain").mkdir()
    ix = index.create_in(str(tmp_path / "plain"), fields.Schema(title=fields.TEXT(stored=True)))
    with ix.writer() as writer:
        writer.add_document(title="plain whoosh")
    assert [type(segment.codec()) for segment in ix._segments()] == [W3Codec]
    with ix.searcher() as searcher:
        assert list(searcher.all_stored_fields()) == [{"title": "plain whoosh"}]
