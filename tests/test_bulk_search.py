"""The bulk ranking path (`bulk_search`) gives exactly the pages Whoosh's collector gives.

Every query here is run twice on the same open index: with the bulk path, and with it switched off
(`searcher.BULK_RANKING = False`, every page from Whoosh's collector). Totals, hit ids, their order
and their scores must be equal to the last bit. The index is built by the indexer in several
segments, then a file is changed and re-indexed, so a segment has deleted documents; stories are
repeated word for word in other files, so equal scores are common and their order (lower docnum
first) is tested too.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from query_fixtures import page_of, whoosh_page_of, write_jsonl
from whoosh import query as wq

from searchkit import bulk_search
from searchkit import searcher as searcher_module
from searchkit.indexer import IndexOptions, index_paths
from searchkit.searcher import SearchIndex, open_index

WORDS = "oil prices trade deficit bank rates wheat exports gold mine talks strike crude output".split()
FILLER = "report said market week company group year shares".split()
TITLE_ONLY = "bulletin"  # a word that only ever appears in titles


def _record(rng: random.Random, number: int) -> dict[str, Any]:
    body = rng.sample(WORDS, rng.randint(1, 5)) + rng.choices(FILLER, k=rng.randint(2, 60))
    rng.shuffle(body)
    title = rng.sample(WORDS + FILLER, rng.randint(1, 4))
    if number % 11 == 0:
        title.append(TITLE_ONLY)
    record: dict[str, Any] = {"id": f"s{number}", "title": " ".join(title), "text": " ".join(body) + "."}
    if number % 9:
        record["date"] = f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}T{number % 24:02d}:00:00Z"
    return record


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bulk")
    archive = root / "archive"
    archive.mkdir()
    rng = random.Random(11)
    stories = [_record(rng, n) for n in range(600)]
    for part in range(6):
        records = stories[part * 100 : (part + 1) * 100]
        # Every file repeats a few stories of the first one word for word (other ids): equal scores.
        records += [dict(story, id=f"copy{part}-{story['id']}") for story in stories[:12]]
        write_jsonl(archive, f"part{part}.jsonl", records)
    ix = root / "ix"
    options = IndexOptions(batch_articles=150, jobs=1)
    index_paths([str(archive)], ix, options)
    # A changed file: its old articles are deleted from their segment, the new ones written anew.
    changed = [dict(_record(rng, 1000 + n), id=f"changed{n}") for n in range(80)]
    write_jsonl(archive, "part2.jsonl", changed)
    index_paths([str(archive)], ix, options)
    return ix


@pytest.fixture
def ix(index_dir: Path) -> Iterator[SearchIndex]:
    with open_index(index_dir) as index:
        yield index


class _Spy:
    """Records whether `bulk_search.ranked_page` answered (True) or handed over to Whoosh (False)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: list[bool] = []
        original = bulk_search.ranked_page

        def spy(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            self.answers.append(result is not None)
            return result

        monkeypatch.setattr(bulk_search, "ranked_page", spy)


def _both(index: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str, **kwargs: Any) -> tuple[Any, Any, list[bool]]:
    spy = _Spy(monkeypatch)
    bulk = page_of(index, text, **kwargs)
    return bulk, whoosh_page_of(index, monkeypatch, text, **kwargs), spy.answers


def test_the_fixture_index_has_segments_deletions_and_ties(ix: SearchIndex) -> None:
    reader = ix._s().reader()
    segments = [segment for segment, _ in reader.leaf_readers()]
    assert len(segments) >= 3
    assert any(segment.has_deletions() for segment in segments)
    scores = [score for _, score in page_of(ix, "oil", limit=200)[1]]
    assert len(scores) != len(set(scores))


@pytest.mark.parametrize(
    "text",
    [
        "oil", "gold", "said", "market", TITLE_ONLY, "nothingmatchesthis",
        "oil prices", "trade deficit", "gold mine talks", "crude oil output", "strike wheat",
        "oil oil", "oil nothingmatchesthis", "nothingmatches nothingelse", f"{TITLE_ONLY} oil",
        "oil -prices", "gold -mine -talks", "oil prices -strike",
    ],
)
@pytest.mark.parametrize(("limit", "page"), [(10, 1), (10, 3), (3, 7), (25, 2), (10, 400)])
def test_word_queries_give_whoosh_pages(ix: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str, limit: int, page: int) -> None:
    bulk, whoosh, answers = _both(ix, monkeypatch, text, limit=limit, page=page)
    assert bulk == whoosh
    if bulk[0]:
        assert answers and all(answers), "the bulk path did not answer"


@pytest.mark.parametrize(
    ("text", "since", "until"),
    [
        ("oil", "2024-03-01", "2024-03-31"),
        ("oil prices", "2024-04", None),
        ("gold mine talks", None, "2024-06-30"),
        ("said", "2024-02-02", "2024-02-02"),
        ("trade deficit -bank", "2024-01", "2024-09"),
        ("wheat", "2030", None),  # nothing in range
    ],
)
@pytest.mark.parametrize("page", [1, 2, 6])
def test_date_filters_give_whoosh_pages(
    ix: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str, since: str | None, until: str | None, page: int
) -> None:
    bulk, whoosh, answers = _both(ix, monkeypatch, text, since=since, until=until, page=page)
    assert bulk == whoosh
    assert answers and all(answers)


@pytest.mark.parametrize("text", ["oil prices", "bank", "gold OR mine"])
def test_field_filters_and_clauses_give_whoosh_pages(ix: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    for kwargs in ({"lang": "en"}, {"source": "nothing"}, {"since": "2024-05", "lang": "en"}):
        bulk, whoosh, _ = _both(ix, monkeypatch, text, **kwargs)
        assert bulk == whoosh
    bulk, whoosh, _ = _both(ix, monkeypatch, f"{text} date:2024-03")
    assert bulk == whoosh


@pytest.mark.parametrize(
    "text",
    [
        '"oil prices"', '"crude oil output"', '"oil oil"', '"prices oil"', '"gold mine" talks', f'"{TITLE_ONLY} oil"',
        '"oil prices" -strike', "oil AND prices", "gold AND mine AND talks", "title:oil",
        "oil-prices",
    ],
)
@pytest.mark.parametrize("page", [1, 3])
def test_phrases_and_ands_give_whoosh_pages(ix: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str, page: int) -> None:
    bulk, whoosh, answers = _both(ix, monkeypatch, text, page=page)
    assert bulk == whoosh
    if bulk[0]:
        assert answers and all(answers), "the bulk path did not answer"
    bulk, whoosh, _ = _both(ix, monkeypatch, text, page=page, since="2024-03", until="2024-10")
    assert bulk == whoosh


@pytest.mark.parametrize("text", ["pri*", "oil~", "*", "+oil prices", "oil OR date:2024-03"])
def test_other_shapes_give_whoosh_pages(ix: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    # Wildcards and fuzzy words are handled when they expand into a tree of unions; an OR of many
    # words on a small index, every article (*), +required words and a date alternative are not.
    for page in (1, 3):
        bulk, whoosh, answers = _both(ix, monkeypatch, text, page=page)
        assert bulk == whoosh
        if text in ("*", "+oil prices", "oil OR date:2024-03"):
            assert not any(answers)


@pytest.mark.parametrize(
    "text", ["oil prices gold wheat", "what did the talks on crude oil output and exports say", "(oil OR gold) AND mine"]
)
def test_long_ors_give_whoosh_pages(ix: SearchIndex, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    # On an index this small Whoosh preloads a long OR into an array (not handled here); on a large
    # one it builds the tree of unions this module reproduces. Ask for the tree in both paths.
    monkeypatch.setattr(wq.Or, "matcher_type", wq.Or.DEFAULT_MATCHER)
    for page in (1, 4):
        bulk, whoosh, answers = _both(ix, monkeypatch, text, page=page)
        assert bulk == whoosh
        assert answers and all(answers)


@pytest.mark.parametrize("text", ["oil", "oil prices", "gold mine talks", "bank -rates", '"oil prices"', "gold AND mine"])
def test_every_match_is_scored_and_ordered_as_whoosh_does(ix: SearchIndex, text: str) -> None:
    searcher = ix._s()
    q = ix._restricted(ix._builder.parse(text, searcher.reader()).q, None)
    ranked = bulk_search.ranked_page(
        searcher, q, searcher.doc_count_all(), ix._lengths, searcher_module._segment_matches, searcher_module._CoordMatcher
    )
    assert ranked is not None
    total, best = ranked
    results = searcher.search(q, limit=None)
    assert total == len(results) == len(best) > 0
    assert best == [(hit.score, hit.docnum) for hit in results]
    # A page deep in the ranking (ranks first to wanted - 1) is that slice of the whole ranking,
    # however its band of scores falls among ties.
    for first, wanted in ((0, 7), (5, 15), (total // 3, total // 3 + 10), (total // 2, total // 2 + 1), (total - 4, total + 6)):
        window = bulk_search.ranked_page(
            searcher, q, wanted, ix._lengths, searcher_module._segment_matches, searcher_module._CoordMatcher, first=first
        )
        assert window == (total, best[first:wanted])


@pytest.mark.parametrize(
    "q",
    [
        wq.Term("body", "oil"),
        wq.Term("body", "absentword"),
        wq.Term("title", TITLE_ONLY),
        wq.Phrase("body", ["oil", "price"]),  # index terms: stems
        wq.Phrase("body", ["crude", "absentword", "oil"]),
        wq.Phrase("title", ["gold", "mine"]),
    ],
    ids=repr,
)
def test_the_bulk_copies_of_terms_and_phrases_size_each_segment_as_whoosh_does(ix: SearchIndex, q: Any) -> None:
    # An And or Or orders its matchers by their queries' sizes in each segment, and the order is
    # the order of the floating-point sums: the copies answer from their matchers' look-ups.
    copied = bulk_search._bulk_query(q)
    assert type(copied) is not type(q)
    searcher = ix._s()
    sizes = []
    for leaf_searcher, _ in searcher.leaf_searchers():
        reader = leaf_searcher.reader()
        copied.matcher(leaf_searcher, leaf_searcher.context())
        sizes.append(copied.estimate_size(reader))
        assert copied.estimate_size(reader) == q.estimate_size(reader)
    assert len(sizes) > 1
    if "absentword" not in repr(q):
        assert any(sizes)


def test_an_open_index_sees_later_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    rng = random.Random(5)
    write_jsonl(archive, "a.jsonl", [_record(rng, n) for n in range(60)])
    index_dir = tmp_path / "ix"
    index_paths([str(archive)], index_dir, IndexOptions(jobs=1))
    with open_index(index_dir) as index:
        before = _both(index, monkeypatch, "oil prices")
        assert before[0] == before[1]
        write_jsonl(archive, "a.jsonl", [_record(rng, n) for n in range(40)])  # changed: 60 articles out, 40 in
        write_jsonl(archive, "b.jsonl", [_record(rng, 100 + n) for n in range(50)])
        index_paths([str(archive)], index_dir, IndexOptions(jobs=1))
        after = _both(index, monkeypatch, "oil prices")
        assert after[0] == after[1] != before[0]
        assert after[2] and all(after[2])


def test_an_optional_word_is_scored_where_its_required_word_skips_to() -> None:
    # Whoosh's AndMaybeMatcher left its optional side at the target of a skip, behind the required
    # side, so the optional score went missing there; the collector narrows a title-or-body union
    # to one, and a filter's intersection then skips it (searcher patches this).
    from whoosh.matching import ListMatcher
    from whoosh.matching.binary import AndMaybeMatcher

    matcher = AndMaybeMatcher(ListMatcher([1, 10], all_weights=2.0), ListMatcher([1, 5, 10], all_weights=3.0))
    matcher.skip_to(3)
    assert (matcher.id(), matcher.b.id(), matcher.score()) == (10, 10, 5.0)


@pytest.mark.parametrize("distinct", [7, 1000, None], ids=["heavy-ties", "some-ties", "no-ties"])
def test_a_page_of_many_scores_is_that_slice_of_their_full_order(distinct: int | None) -> None:
    # Past 4,096 scores the page's floor is guessed from a sample (and checked): whatever the
    # guess, every window equals the brute-force order (score descending, then docnum).
    rng = random.Random(distinct or 0)
    parts = []
    offset = 0
    for size in (20_000, 7, 31_000, 0, 9_000):
        docnums = rng.sample(range(size * 2), size)  # a segment's documents in any order
        scores = [float(rng.randrange(distinct)) if distinct else rng.random() for _ in range(size)]
        parts.append((offset, docnums, scores))
        offset += size * 2
    everything = sorted((-score, offset + d) for offset, docnums, scores in parts for d, score in zip(docnums, scores))
    expected = [(-negated, docnum) for negated, docnum in everything]
    for first, wanted in ((0, 10), (0, 300), (990, 1000), (4_990, 5_000), (30_000, 30_010), (59_990, 60_000), (59_995, 60_010)):
        assert bulk_search._best(parts, wanted, first) == expected[first:wanted]


def test_an_or_with_whooshs_coordination_scale_ranks_as_whoosh_does(ix: SearchIndex) -> None:
    # An `Or` with `scale` (Whoosh's coordination bonus) must keep it on the way to the bulk path,
    # which then hands it to Whoosh's collector: the same page either way.
    searcher = ix._s()
    q = wq.Or([wq.Term("body", "oil"), wq.Term("title", "gold")], scale=0.9)
    assert ix._ranked(searcher, q, 10, 2) == ix._collected(searcher, q, 10, 2)
    assert bulk_search._bulk_query(q).scale == 0.9


@pytest.mark.skipif(os.name != "posix", reason="an open index maps its files on POSIX systems only")
def test_an_open_index_reads_mapped_files_and_a_merge_deleting_them_breaks_nothing(tmp_path: Path) -> None:
    import mmap

    from searchkit.analysis import word_term

    archive = tmp_path / "archive"
    archive.mkdir()
    rng = random.Random(8)
    for part in range(5):
        write_jsonl(archive, f"p{part}.jsonl", [_record(rng, part * 100 + n) for n in range(10)])
    index_dir = tmp_path / "ix"
    options = IndexOptions(jobs=1, batch_articles=10)  # a segment a file
    index_paths([str(archive)], index_dir, options)
    with open_index(index_dir) as index:
        old_reader = index._s().reader()
        segments = [segment for segment, _ in old_reader.leaf_readers()]
        assert all(isinstance(segment._terms._postfile.file, mmap.mmap) for segment in segments)
        before = page_of(index, "oil prices", limit=50)
        old_files = {name for name in os.listdir(index_dir) if name.endswith(".pst")}
        # Six more one-segment files: ten segments of a size tier are merged into one, and the
        # merged segments' files are deleted while this index still has them mapped.
        for part in range(5, 11):
            write_jsonl(archive, f"p{part}.jsonl", [_record(rng, part * 100 + n) for n in range(10)])
        index_paths([str(archive)], index_dir, options)
        assert old_files - set(os.listdir(index_dir)), "no merge deleted a mapped segment file"
        # The old reader still reads its (deleted) files, and the index answers from the new ones.
        postings = [list(segment.postings("body", word_term("oil")).all_ids()) for segment in segments]
        assert sum(map(len, postings)) > 0
        after = page_of(index, "oil prices", limit=50)
        assert after[0] > before[0]
    with open_index(index_dir) as fresh:
        assert page_of(fresh, "oil prices", limit=50) == after
