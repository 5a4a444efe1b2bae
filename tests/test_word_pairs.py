"""The pair index (`schema.WordPairs`): phrases of common words answered from it, exactly as
Whoosh's positional check answers them.

A new index takes its common words from its first articles; each document then holds, for every
two adjacent common words of its title or body, an entry in the first word's list. These tests
check that the postings are complete (against the text itself), that phrase pages are the same
with the pair path and with Whoosh's own phrase matcher, and that the common words are chosen
once and kept for the index's life.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from query_fixtures import page_of, whoosh_page_of, write_jsonl
from typer.testing import CliRunner
from whoosh.writing import OPTIMIZE

from searchkit import bulk_search, pair_lists
from searchkit.analysis import terms
from searchkit.cli import app
from searchkit.indexer import IndexOptions, _open_writer, index_paths
from searchkit.models import Article
from searchkit.schema import PAIR_SAMPLE_MIN, PAIR_WORD_SHARE, WordPairs, common_words, pair_key, to_document
from searchkit.searcher import SearchIndex, open_index
from searchkit.storage import open_whoosh

COMMON = "oil prices trade deficit bank rates central crude output talks".split()
RARE = "zeppelin"  # in one article only: never a common word


def _record(rng: random.Random, number: int) -> dict[str, Any]:
    body = rng.choices(COMMON, k=rng.randint(3, 40))
    if number == 7:
        body[1:1] = [RARE, "oil"]
    title = rng.choices(COMMON, k=rng.randint(1, 4))
    return {
        "id": f"s{number}",
        "title": " ".join(title),
        # Stop words between words are dropped without a gap: "bank of rates" is the pair bank-rates.
        "text": " ".join(word if rng.random() > 0.1 else f"{word} of the" for word in body) + ".",
        "date": f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}T00:00:00Z",
    }


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    archive = root / "archive"
    archive.mkdir()
    rng = random.Random(5)
    for part in range(4):
        write_jsonl(archive, f"part{part}.jsonl", [_record(rng, part * 200 + n) for n in range(200)])
    ix = root / "ix"
    options = IndexOptions(batch_articles=250, jobs=1, phrase_pairs=True)
    index_paths([str(archive)], ix, options)
    # A changed file: its old articles are deleted from their segment (their pairs stay behind).
    write_jsonl(archive, "part1.jsonl", [_record(rng, 5000 + n) for n in range(150)])
    index_paths([str(archive)], ix, options)
    return ix


@pytest.fixture
def ix(index_dir: Path) -> Iterator[SearchIndex]:
    with open_index(index_dir) as index:
        yield index


def test_common_words_are_those_enough_articles_hold_most_common_first() -> None:
    articles = [["oil", "bank"]] * 600 + [["oil", "rare"]] * 5 + [["oil"]] * 395
    assert common_words(articles) == ("oil", "bank")
    assert common_words(articles[: PAIR_SAMPLE_MIN - 1]) == ()  # too few articles to tell
    share = int(PAIR_WORD_SHARE * 1000)
    assert "rare" in common_words([["oil", "rare"]] * share + [["oil"]] * (1000 - share))


def test_a_pair_is_kept_in_its_first_words_list_under_the_second_word() -> None:
    numbers = {"said": 0, "oil": 1, "crude": 2}
    body, title = 1, 0  # a word's list in a field: 2 · its number + the field's place in PAIRED_FIELDS
    assert pair_key("body", "crude", "oil", numbers) == (2 * 2 + body, 1 + 1)
    assert pair_key("body", "oil", "crude", numbers) == (2 * 1 + body, 2 + 1)
    assert pair_key("title", "oil", "oil", numbers) == (2 * 1 + title, 1 + 1)
    assert pair_key("title", "said", "said", numbers) == (title, 1)  # code 0 would be "not a common word"
    field = WordPairs(["said", "oil", "crude"])
    rng = random.Random(3)
    for _ in range(200):
        in_order = rng.choices(["said", "oil", "crude", "price"], k=rng.randint(0, 12))
        expected = sorted(
            list_id << pair_lists.LIST_SHIFT | code
            for first, second in zip(in_order, in_order[1:])
            if first in numbers and second in numbers
            for list_id, code in [pair_key("title", first, second, numbers)]
        )
        assert sorted(field.keys("title", in_order)) == expected  # a pair held twice, twice


def test_the_index_keeps_the_common_words_of_its_first_articles(ix: SearchIndex) -> None:
    words = ix._s().schema["pairs"].words
    assert set(words) == set(terms(" ".join(COMMON)))
    assert RARE not in words


def test_the_pair_postings_are_complete(ix: SearchIndex) -> None:
    searcher = ix._s()
    schema = searcher.schema
    # Every adjacent pair of words in every live article's title and body, from the text itself.
    expected: dict[tuple[str, str, str], set[str]] = {}
    for hit in ix.search("*", limit=1000, fragments=0).hits:
        article = ix.get(hit.id)
        for fieldname, text in (("title", article.title), ("body", article.body)):
            in_order = terms(text)
            for first, second in zip(in_order, in_order[1:]):
                expected.setdefault((fieldname, first, second), set()).add(hit.id)
    assert len(expected) > 150
    for (fieldname, first, second), ids in expected.items():
        found: set[str] = set()
        for leaf, offset in searcher.leaf_searchers():
            pairs = bulk_search._adjacent_pairs(leaf.reader(), schema, fieldname, [first, second])
            if RARE in (first, second):
                assert pairs is None
                continue
            assert pairs is not None and len(pairs) == 1
            deleted = leaf.reader().deleted_docs_set
            found |= {searcher.stored_fields(offset + docnum)["id"] for docnum in pairs[0] - set(deleted or ())}
        if RARE not in (first, second):
            assert found == ids, (fieldname, first, second)


@pytest.mark.parametrize(
    "text",
    [
        '"crude oil"', '"oil crude"', '"oil oil"', '"central bank rates"', '"bank of rates"', f'"{RARE} oil"',
        '"trade deficit talks"', 'title:"oil prices"', '"crude oil" -talks', '"crude oil" OR "bank rates"',
        '"oil prices" deficit',
    ],
)
@pytest.mark.parametrize("page", [1, 4])
def test_phrase_pages_from_pairs_are_whooshs(ix: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str, page: int) -> None:
    looked_up: list[int] = []
    original = pair_lists.PairLists.holding

    def spy(self: pair_lists.PairLists, list_id: int, code: int) -> set[int]:
        looked_up.append(list_id)
        return original(self, list_id, code)

    monkeypatch.setattr(pair_lists.PairLists, "holding", spy)
    totals = []
    for kwargs in ({}, {"since": "2024-03", "until": "2024-09"}):
        bulk = page_of(ix, text, page=page, **kwargs)
        # Whoosh's phrase matcher, positions and all:
        assert bulk == whoosh_page_of(ix, monkeypatch, text, page=page, **kwargs)
        totals.append(bulk[0])
    assert totals[0] > 0
    # A phrase with a rare word is checked by positions alone; the others read their pairs.
    assert bool(looked_up) is (RARE not in text)


def test_the_common_words_are_chosen_once_and_kept(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    rng = random.Random(9)
    write_jsonl(archive, "first.jsonl", [_record(rng, n) for n in range(20)])
    ix = tmp_path / "ix"
    index_paths([str(archive)], ix, IndexOptions(jobs=1, phrase_pairs=True))
    with open_index(ix) as index:
        assert index._s().schema["pairs"].words == ()  # 20 articles say too little
    write_jsonl(archive, "more.jsonl", [_record(rng, 100 + n) for n in range(PAIR_SAMPLE_MIN + 100)])
    index_paths([str(archive)], ix, IndexOptions(jobs=1, phrase_pairs=True))
    with open_index(ix) as index:
        assert index._s().schema["pairs"].words == ()  # the first articles decided, for the index's life
        assert index.search('"crude oil"', fragments=0).total > 0
    index_paths([str(archive)], ix, IndexOptions(jobs=1, rebuild=True, phrase_pairs=True))
    with open_index(ix) as index:
        assert set(index._s().schema["pairs"].words) == set(terms(" ".join(COMMON)))
        assert index.search('"crude oil"', fragments=0).total > 0
    # A rebuild without options keeps them (this archive is too small to be paired by default);
    # one asked for none drops them.
    index_paths([str(archive)], ix, IndexOptions(jobs=1, rebuild=True))
    with open_index(ix) as index:
        assert set(index._s().schema["pairs"].words) == set(terms(" ".join(COMMON)))
    assert _pair_files(ix)
    index_paths([str(archive)], ix, IndexOptions(jobs=1, rebuild=True, phrase_pairs=False))
    with open_index(ix) as index:
        assert index._s().schema["pairs"].words == ()
        assert index.search('"crude oil"', fragments=0).total > 0
    assert _pair_files(ix) == []


def test_pairs_are_made_for_a_large_archive_by_default_or_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import indexer

    archive = tmp_path / "archive"
    archive.mkdir()
    rng = random.Random(4)
    write_jsonl(archive, "all.jsonl", [_record(rng, n) for n in range(PAIR_SAMPLE_MIN + 50)])
    size = (archive / "all.jsonl").stat().st_size

    def made(name: str, *flags: str) -> Path:
        ix = tmp_path / name
        result = CliRunner().invoke(app, ["index", str(archive), "--index", str(ix), "--quiet", *flags])
        assert result.exit_code == 0, result.output
        return ix

    small, asked, declined = made("small"), made("asked", "--phrase-pairs"), made("declined", "--no-phrase-pairs")
    assert _pair_files(small) == _pair_files(declined) == [] and len(_pair_files(asked)) == 1
    # As large as the default asks for: by bytes of files, then by articles (estimated from the sample).
    monkeypatch.setattr(indexer, "_PAIRS_AUTO_MIN_BYTES", size)
    monkeypatch.setattr(indexer, "PAIRS_AUTO_ARTICLES", PAIR_SAMPLE_MIN + 50)
    large = made("large")
    monkeypatch.setattr(indexer, "PAIRS_AUTO_ARTICLES", PAIR_SAMPLE_MIN + 51)
    nearly = made("nearly")
    monkeypatch.setattr(indexer, "_PAIRS_AUTO_MIN_BYTES", size + 1)
    monkeypatch.setattr(indexer, "PAIRS_AUTO_ARTICLES", 1)
    not_enough_bytes = made("bytes")
    assert len(_pair_files(large)) == 1 and _pair_files(nearly) == _pair_files(not_enough_bytes) == []
    monkeypatch.setattr(indexer, "_PAIRS_AUTO_MIN_BYTES", 0)
    assert _pair_files(made("declined-large", "--no-phrase-pairs")) == []  # declining wins over the size
    with open_index(declined) as plain, open_index(large) as paired:
        assert plain._s().schema["pairs"].words == ()
        assert set(paired._s().schema["pairs"].words) == set(terms(" ".join(COMMON)))
        for text in ('"crude oil"', '"central bank rates"', 'title:"oil prices"'):
            assert page_of(plain, text) == page_of(paired, text)
        # `searchkit stats` says which has pairs, and advises them where the default would now give them.
        assert paired.stats().phrase_pairs == len(set(terms(" ".join(COMMON)))) and not paired.stats().phrase_pairs_advised
        assert plain.stats().phrase_pairs == 0 and plain.stats().phrase_pairs_advised
    advice = CliRunner().invoke(app, ["stats", "--index", str(declined)])
    assert "phrase pairs: none" in advice.stdout and "--rebuild --phrase-pairs" in advice.stdout
    monkeypatch.setattr(indexer, "PAIRS_AUTO_ARTICLES", PAIR_SAMPLE_MIN + 51)  # more than it holds
    quiet = CliRunner().invoke(app, ["stats", "--index", str(declined), "--format", "json"])
    assert json.loads(quiet.stdout)["phrase_pairs"] == 0 and json.loads(quiet.stdout)["phrase_pairs_advised"] is False


def test_an_index_whose_sample_cannot_be_read_goes_without_pairs_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import indexer

    archive = tmp_path / "archive"
    archive.mkdir()
    rng = random.Random(6)
    write_jsonl(archive, "all.jsonl", [_record(rng, n) for n in range(PAIR_SAMPLE_MIN + 50)])
    monkeypatch.setattr(indexer, "_sample_common_words", lambda files, options: None)  # its process died
    ix = tmp_path / "ix"
    result = CliRunner().invoke(app, ["index", str(archive), "--index", str(ix), "--phrase-pairs"])
    assert result.exit_code == 0, result.output
    assert "could not read a sample of the first articles" in result.output
    assert _pair_files(ix) == []
    with open_index(ix) as index:
        assert index.search('"crude oil"', fragments=0).total > 0


def test_the_sample_of_common_words_reads_only_the_start_of_a_large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One dump holding the whole archive: its first articles decide, and the rest is not read twice.
    from searchkit import indexer

    archive = tmp_path / "archive"
    archive.mkdir()
    rng = random.Random(8)
    first = [_record(rng, n) for n in range(PAIR_SAMPLE_MIN + 20)]
    later = [{"id": f"late{n}", "title": "zinc", "text": "zinc smelter zinc smelter output"} for n in range(6000)]
    write_jsonl(archive, "dump.jsonl", first + later)
    path = archive / "dump.jsonl"
    head = sum(len(json.dumps(record)) + 1 for record in first)
    monkeypatch.setattr(indexer, "_SAMPLE_BYTES", head + 200)
    assert path.stat().st_size > 3 * (head + 200)
    ix = tmp_path / "ix"
    index_paths([str(archive)], ix, IndexOptions(jobs=1, phrase_pairs=True))
    with open_index(ix) as index:
        words = index._s().schema["pairs"].words
        assert set(words) == set(terms(" ".join(COMMON)))  # "zinc" and "smelter" are in most articles, later
        assert index.search('"zinc smelter"', fragments=0).total == 6000


def test_a_pair_file_of_another_layout_is_not_read(index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pair files written before the lists were by first word: their segments answer by positions.
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    texts = ('"crude oil"', '"oil crude"', '"central bank rates"', 'title:"oil prices"')
    with open_index(copy) as index:
        before = {text: page_of(index, text) for text in texts}
    for name in _pair_files(copy):
        path = copy / name
        data = path.read_bytes()
        path.write_bytes(b"SKPAIRS1" + data[8:])
    with open_index(copy) as index:
        searcher = index._s()
        for leaf, _ in searcher.leaf_searchers():
            assert bulk_search._adjacent_pairs(leaf.reader(), searcher.schema, "body", ["crude", "oil"]) is None
        for text in texts:
            assert page_of(index, text) == before[text] == whoosh_page_of(index, monkeypatch, text)


def _pair_files(index_dir: Path) -> list[str]:
    return sorted(path.name for path in index_dir.glob(f"*{pair_lists.EXTENSION}"))


def test_a_merged_segment_keeps_the_pairs_of_its_parts(index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    with open_index(copy) as index:
        before = {text: page_of(index, text) for text in ('"crude oil"', '"central bank rates"', 'title:"oil prices"')}
        segments = len(index._s().reader().leaf_readers())
    assert segments >= 3 and len(_pair_files(copy)) == segments
    ix = open_whoosh(copy)
    writer = _open_writer(ix, IndexOptions(), ix.schema["pairs"].words)
    writer.commit(mergetype=OPTIMIZE)  # every segment merged into one, its deleted documents dropped
    ix.close()
    assert len(_pair_files(copy)) == 1
    with open_index(copy) as index:
        assert len(index._s().reader().leaf_readers()) == 1
        for text, (total, _) in before.items():
            # The same matches; scores move a little, as the merge dropped the deleted documents.
            page = page_of(index, text)
            assert page[0] == total and page == whoosh_page_of(index, monkeypatch, text)


def test_a_segment_written_without_pairs_is_searched_by_positions(index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    texts = ('"crude oil"', '"oil crude"', '"central bank rates"')
    with open_index(copy) as index:
        totals = [index.search(text, fragments=0).total for text in texts]
    ix = open_whoosh(copy)
    writer = _open_writer(ix, IndexOptions(), ix.schema["pairs"].words)
    rng = random.Random(2)
    for number in range(30):
        record = _record(rng, 9000 + number)
        # A document without its pairs (`to_document` not given the index's `WordPairs`).
        writer.add_document(**to_document(Article(id=record["id"], title=record["title"], body=record["text"]), f"/elsewhere/{number}"))
    writer.commit()
    ix.close()
    with open_index(copy) as index:
        readers = [reader for reader, _ in index._s().reader().leaf_readers()]
        assert len(_pair_files(copy)) == len(readers) - 1
        for text, total in zip(texts, totals):
            bulk = page_of(index, text)
            assert bulk == whoosh_page_of(index, monkeypatch, text)
            assert bulk[0] > total  # the new documents' matches are found, by their positions
    # Merged with the others, the segment without pairs leaves the merged one without them.
    ix = open_whoosh(copy)
    _open_writer(ix, IndexOptions(), ix.schema["pairs"].words).commit(mergetype=OPTIMIZE)
    ix.close()
    assert _pair_files(copy) == []
    with open_index(copy) as index:
        assert page_of(index, '"crude oil"') == whoosh_page_of(index, monkeypatch, '"crude oil"')
