"""Positions as integers and struct block infos (`postings_format`): what goes in comes back out."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from query_fixtures import build_index
from whoosh import index as whoosh_index

from searchkit.models import Article
from searchkit.postings_format import (
    SPLIT_INFO, CompactPositions, decode_positions, encode_positions, pack_positions_tail, read_block_info,
    unpack_positions_tail,
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


def test_block_infos_are_structs_and_whooshs_pickles_still_read() -> None:
    import pickle

    data = b"xx" + SPLIT_INFO.pack(b"S", 3, 99, 2.5, 1, 10, 20, 17, 0, 1) + b"data"
    assert read_block_info(data, 2) == ((3, 99, 2.5, 1, 10, 20, 17, 0, 1), 2 + SPLIT_INFO.size)
    whooshs = pickle.dumps((3, 99, 2.5, 1, 10, 20), 2)
    assert read_block_info(b"xx" + whooshs + b"data", 2) == ((3, 99, 2.5, 1, 10, 20), 2 + len(whooshs))


def test_a_phrase_is_found_past_the_65536th_word_of_a_long_article(tmp_path: Path) -> None:
    # Positions past 16 bits take the widest arrays; a phrase must still match there, and only there.
    filler = "routine paperwork about harbour fees " * 14_000  # 70,000 words
    articles = [
        Article(id="long.txt", title="Harbour report", body=filler + "then the joint headquarters opened."),
        Article(id="short.txt", title="Joint venture", body="The headquarters moved; a joint statement followed."),
    ]
    index_dir = build_index(tmp_path / "ix", articles)
    with open_index(index_dir) as index:
        hits = index.search('"joint headquarters"')
        assert [hit.id for hit in hits.hits] == ["long.txt"]
        assert index.search('"harbour fees routine"').total == 1
        assert index.search('"fees joint"').total == 0


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
