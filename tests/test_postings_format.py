"""Positions as integers and struct block infos (`postings_format`): what goes in comes back out."""

from __future__ import annotations

import random
import struct
from itertools import accumulate
from pathlib import Path

import pytest
from query_fixtures import build_index
from whoosh import index as whoosh_index

from searchkit.indexer import IndexOptions, index_paths
from searchkit.models import Article
from searchkit.postings_format import (
    SPLIT_INFO, CompactPositions, decode_positions, encode_positions, pack_head, pack_positions_tail, read_block_info,
    unpack_head, unpack_positions_tail,
)
from searchkit.schema import build_schema
from searchkit.searcher import open_index
from searchkit.storage import WHOOSH_INDEX_NAME


@pytest.mark.parametrize(
    "positions",
    [[0], [7], [255], [256], [65535], [65536], [2**32 - 1], [0, 1, 2], [3, 300, 70_000, 2**31 + 5]],
)
def test_positions_round_trip(positions: list[int]) -> None:
    value = encode_positions(positions)
    assert len(value) == 4 * len(positions)
    assert value == struct.pack(f"<{len(positions)}I", *positions)  # little-endian on every machine
    assert decode_positions(value) == positions
    fmt = CompactPositions(field_boost=2.0)
    assert fmt.encode(positions) == value
    assert fmt.decode_as("positions", value) == positions
    assert fmt.decode_as("frequency", value) == len(positions)
    assert fmt.decode_as("weight", value) == 2.0 * len(positions)


@pytest.mark.parametrize("top", [200, 60_000, 5_000_000], ids=["bytes", "uint16", "uint32"])
def test_a_blocks_positions_come_back_as_they_were_encoded(top: int) -> None:
    rng = random.Random(top)
    postings = [sorted(rng.sample(range(top), rng.randint(1, 12))) for _ in range(127)]
    postings.append(sorted(rng.sample(range(top), min(top, 300))))  # a count past one byte (when top allows)
    values = [encode_positions(p) for p in postings]
    tail = pack_positions_tail(values)
    assert unpack_positions_tail(tail, len(values)) == values
    # Each array in the smallest type that holds it: one or two bytes a count, one, two or four a position.
    count_width = 1 if max(map(len, postings)) < 256 else 2
    width = 1 if top <= 256 else 2 if top <= 65536 else 4
    assert len(tail) == 2 + count_width * len(values) + width * sum(map(len, postings))


@pytest.mark.parametrize(
    ("deltas", "weights", "widths"),
    [
        ([5], [1.0], (1, 0)),  # one posting, weight 1.0: no weights written
        ([70_000], [3.0], (4, 4)),
        ([0, 1, 1, 3], [1.0, 1.0, 1.0, 1.0], (1, 0)),
        ([300, 2, 70_000], [2.0, 7.0, 1.0], (4, 4)),  # deltas in the narrowest type, weights as float32s
        ([1, 1], [300.0, 2.0], (1, 4)),
        ([1, 2, 3], [0.5, 2.0, 1.25], (1, 4)),  # a field boost's fractions
    ],
)
def test_a_blocks_head_comes_back_as_it_was_packed(deltas: list[int], weights: list[float], widths: tuple[int, int]) -> None:
    from array import array

    head = pack_head(deltas, array("f", weights))
    got_deltas, got_weights = unpack_head(head, len(deltas))
    assert list(got_deltas) == deltas
    assert (list(got_weights) if got_weights is not None else [1.0] * len(deltas)) == weights
    # Each array in the narrowest type that holds it (two type codes first).
    assert len(head) == 2 + widths[0] * len(deltas) + widths[1] * len(deltas)


@pytest.mark.parametrize("weights", [[5e9, 1.0], [float("inf"), 2.0], [-3.0, 1.0], [float("nan"), 1.0]])
def test_a_head_keeps_any_float32_weight(weights: list[float]) -> None:
    import math
    from array import array

    stored = array("f", weights)
    for deltas in ([1, 2], [7]):  # a block of two, and of one (packed by a struct)
        got_deltas, got_weights = unpack_head(pack_head(deltas, stored[: len(deltas)]), len(deltas))
        assert list(got_deltas) == deltas and got_weights is not None
        for got, expected in zip(got_weights, stored):
            assert got == expected or (math.isnan(got) and math.isnan(expected))


def test_a_posting_list_in_whooshs_block_layout_is_read_once(tmp_path: Path) -> None:
    # `read_rest` reads the split blocks after the first in one piece; a list in Whoosh's own
    # layout (a plain Whoosh writer) is then read block by block, not once more for each block.
    from whoosh.writing import SegmentWriter

    from searchkit.analysis import word_term
    from searchkit.schema import to_document
    from searchkit.stored_codec import BlockStoredCodec

    ix = whoosh_index.create_in(str(tmp_path), build_schema(), indexname="t")
    writer = SegmentWriter(ix, limitmb=64, compound=False, codec=BlockStoredCodec())
    for n in range(3000):
        article = Article(id=f"a{n}.txt", title="t", body=f"oil price number{n}")
        writer.add_document(**to_document(article, "/a/" + article.id))
    writer.commit()
    with ix.reader() as reader:
        matcher = reader.postings("body", word_term("oil"))
        postfile = matcher._postfile
        read = []
        original_get = postfile.get
        postfile.get = lambda position, length: read.append(length) or original_get(position, length)
        ids: list[int] = []
        weights: list[float] = []
        matcher.read_rest(ids, weights, None)
        postfile.get = original_get
        assert ids == list(range(3000)) and weights == [1.0] * 3000
        _, length = reader.term_info("body", word_term("oil")).extent()
        # Each block once, and the rest of the list once (the first try at reading it in one piece).
        assert sum(read) < 3 * (length[0] if isinstance(length, tuple) else length)
    ix.close()


def test_block_infos_are_structs_and_whooshs_pickles_still_read() -> None:
    import pickle

    data = b"xx" + SPLIT_INFO.pack(b"S", 3, 99, 2.5, 1, 10, 20, 17, 0, 1) + b"data"
    assert read_block_info(data, 2) == ((3, 99, 2.5, 1, 10, 20, 17, 0, 1), 2 + SPLIT_INFO.size)
    whooshs = pickle.dumps((3, 99, 2.5, 1, 10, 20), 2)
    assert read_block_info(b"xx" + whooshs + b"data", 2) == ((3, 99, 2.5, 1, 10, 20), 2 + len(whooshs))


def _page(title: str, body: str) -> str:
    return f"{title}\n\n10:00 JST, April 1, 2025\n{body}\n"


@pytest.mark.parametrize("writer", ["indexer", "whoosh"])
def test_a_phrase_is_found_past_the_65536th_word_of_a_long_article(tmp_path: Path, writer: str) -> None:
    # Positions past 16 bits take the widest arrays; a phrase must still match there, and only
    # there: through the indexer's split blocks (read by `block_positions`) and through Whoosh's
    # own writer's blocks alike.
    filler = "routine paperwork about harbour fees " * 14_000  # 70,000 words
    articles = [
        Article(id="long.txt", title="Harbour report", body=filler + "then the joint headquarters opened."),
        Article(id="short.txt", title="Joint venture", body="The headquarters moved; a joint statement followed."),
    ]
    index_dir = tmp_path / "ix"
    if writer == "indexer":
        archive = tmp_path / "archive"
        archive.mkdir()
        for article in articles:
            (archive / article.id).write_text(_page(article.title, article.body), encoding="utf-8")
        index_paths([str(archive)], index_dir, IndexOptions(jobs=1))
    else:
        build_index(index_dir, articles)
    with open_index(index_dir) as index:
        hits = index.search('"joint headquarters"')
        assert [hit.id for hit in hits.hits] == ["long.txt"]
        assert index.search('"harbour fees routine"').total == 1
        assert index.search('"fees joint"').total == 0
        assert index.search('"headquarters moved"').total == 1


def test_block_positions_read_both_block_layouts(tmp_path: Path) -> None:
    # The indexer's split blocks and Whoosh's own (a plain Whoosh writer with searchkit's codec):
    # each posting's positions from `block_positions` are what its value decodes to.
    from whoosh.writing import SegmentWriter

    from searchkit.analysis import word_term
    from searchkit.schema import to_document
    from searchkit.segment_writer import DirectSegmentWriter
    from searchkit.stored_codec import BlockStoredCodec

    rng = random.Random(3)
    words = "oil price crude barrel opec output quota minister".split()
    articles = [
        Article(id=f"a{n}.txt", title="t", body=" ".join(rng.choice(words) for _ in range(rng.randint(5, 400))))
        for n in range(300)
    ]
    for name, writer_class in (("direct", DirectSegmentWriter), ("whoosh", SegmentWriter)):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), build_schema(), indexname="t")
        writer = writer_class(ix, limitmb=64, compound=False, codec=BlockStoredCodec())
        for article in articles:
            writer.add_document(**to_document(article, "/a/" + article.id))
        writer.commit()
        with ix.reader() as reader:
            checked = 0
            for word in words:
                matcher = reader.postings("body", word_term(word))
                expected, blocks = [], []
                while matcher.is_active():
                    blocks.append((matcher.block_at(), matcher._blocklength))
                    for _ in range(matcher._blocklength):
                        expected.append(matcher.value_as("positions"))
                        # Whoosh's matchers see each weight as a float: the term's frequency here.
                        assert type(matcher.weight()) is float and matcher.weight() == len(expected[-1])
                        matcher.next()
                got = []
                for at, count in blocks:
                    counts, positions = matcher.block_positions(at)
                    assert len(counts) == count and sum(counts) == len(positions)
                    ends = list(accumulate(counts, initial=0))
                    got += [list(positions[ends[i] : ends[i + 1]]) for i in range(count)]
                assert got == expected
                checked += len(blocks)
            assert checked > 8 * 2  # several blocks of 128 a word
        ix.close()


def test_one_date_term_per_article(tmp_path: Path) -> None:
    # The date column answers ranges; Whoosh's fallback needs only the full-precision term.
    from datetime import datetime, timezone

    from searchkit.models import ParsedDate

    when = ParsedDate(datetime(2025, 3, 5, 12, 0, tzinfo=timezone.utc), "minute", "test")
    index_dir = build_index(tmp_path / "ix", [Article(id=f"a{n}.txt", title="t", body="b", date=when) for n in range(3)])
    ix = whoosh_index.open_dir(str(index_dir), indexname=WHOOSH_INDEX_NAME)
    with ix.reader() as reader:
        assert len(list(reader.lexicon("date"))) == 1
    ix.close()
    assert build_schema()["date"].shift_step == 0
