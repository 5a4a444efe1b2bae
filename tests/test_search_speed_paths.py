"""The fast paths of `searcher` give exactly what Whoosh's own paths gave.

Date ranges and newest/oldest sorts are answered from the cached `date` column, short queries rank
the documents holding every word first with an AND that skips ahead, and totals are counted with
sets. Each is compared here with the Whoosh path it replaces (a `DateRange` filter, a `TranslateFacet`
sort, the full tiering, `docs_for_query`), on an index of several segments with deleted documents,
undated articles and many articles sharing one instant.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from query_fixtures import build_index
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh import sorting

from searchkit import searcher as searcher_module
from searchkit.models import Article, ParsedDate
from searchkit.schema import to_document
from searchkit.searcher import SearchIndex, open_index
from searchkit.storage import WHOOSH_INDEX_NAME

WORDS = "oil prices trade deficit bank rates wheat exports gold mine talks strike".split()
FILLER = "report said market week company group".split()


def _article(rng: random.Random, number: int) -> Article:
    words = rng.sample(WORDS, rng.randint(1, 4)) + rng.choices(FILLER, k=rng.randint(3, 30))
    rng.shuffle(words)
    title_words = rng.sample(WORDS + FILLER, 2)
    if number % 9 == 0:
        date = None  # undated
    elif number % 4 == 0:
        date = ParsedDate(datetime(2025, 3, 5, 12, 0, tzinfo=timezone.utc), "minute", "test")  # a crowded instant
    elif number % 13 == 0:
        date = ParsedDate(datetime(2024, 6, 1, tzinfo=timezone.utc), "day", "test")  # the first instant of a day
    else:
        day = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp() + rng.randrange(0, 600 * 86400)
        date = ParsedDate(datetime.fromtimestamp(day, timezone.utc).replace(second=0, microsecond=0), "minute", "test")
    return Article(id=f"a{number:04d}.txt", title=" ".join(title_words), body=" ".join(words) + ".", date=date)


def _add_segment(index_dir: Path, articles: list[Article], delete: list[str] = ()) -> None:
    ix = whoosh_index.open_dir(str(index_dir), indexname=WHOOSH_INDEX_NAME)
    writer = ix.writer()
    for article in articles:
        writer.add_document(**to_document(article, f"/archive/{article.id}"))
    for article_id in delete:
        writer.delete_by_term("id", article_id)
    writer.commit(merge=False)
    ix.close()


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four segments (each commit keeps its own), with deletions in the first two."""
    rng = random.Random(4)
    articles = [_article(rng, n) for n in range(480)]
    index_dir = build_index(tmp_path_factory.mktemp("segmented") / "ix", articles[:150])
    _add_segment(index_dir, articles[150:300])
    _add_segment(index_dir, articles[300:400], delete=[a.id for a in articles[:300:7]])
    _add_segment(index_dir, articles[400:])
    return index_dir


@pytest.fixture
def ix(segmented: Path):
    with open_index(segmented) as index:
        yield index


def _page(results: Any) -> tuple[int, list[tuple[str, float]]]:
    return results.total, [(hit.id, hit.score) for hit in results.hits]


def _whoosh_page(
    index: SearchIndex, text: str, *, since: str | None = None, until: str | None = None,
    sort: str = "relevance", limit: int = 10, page: int = 1,
) -> tuple[int, list[tuple[str, float]]]:
    """The page as searcher.py computed it before: Whoosh's DateRange filter, facet sort and count."""
    searcher = index._s()
    q = index._builder.parse(text, searcher.reader()).q
    filter_q = index._filter(since=since, until=until, source=None, section=None, lang=None)
    kwargs: dict[str, Any] = {"limit": page * limit, "filter": filter_q}
    if sort == "newest":
        kwargs["sortedby"] = sorting.TranslateFacet(searcher_module._undated_lowest, sorting.FieldFacet("date"))
        kwargs["reverse"] = True
    elif sort == "oldest":
        kwargs["sortedby"] = sorting.TranslateFacet(searcher_module._undated_highest, sorting.FieldFacet("date"))
    results = searcher.search(q, **kwargs)
    window = results[(page - 1) * limit : page * limit]
    return len(results), [(hit["id"], float(hit.score or 0.0)) for hit in window]


class _FullTiering:
    """While active, short queries are ranked by the full tiering alone (no AND of all words)."""

    def __enter__(self) -> None:
        self._saved = searcher_module._all_words_query
        searcher_module._all_words_query = lambda q: None

    def __exit__(self, *exc: object) -> None:
        searcher_module._all_words_query = self._saved


@pytest.fixture
def whoosh_tiering() -> _FullTiering:
    return _FullTiering()


def test_the_fixture_index_has_several_segments_deletions_ties_and_undated_articles(ix: SearchIndex) -> None:
    reader = ix._s().reader()
    segments = [segment for segment, _ in reader.leaf_readers()]
    assert len(segments) >= 3
    assert any(segment.has_deletions() for segment in segments)
    assert ix.search("*", limit=1).total == reader.doc_count()
    undated = ix.search("*", sort="oldest", limit=500)
    assert undated.hits[-1].date is None


@pytest.mark.parametrize(
    ("text", "since", "until"),
    [
        ("oil", "2024-03-01", "2024-09-30"),
        ("*", "2024-06-01", "2024-06-01"),  # starts exactly at the midnight articles
        ("*", None, "2024-05-31"),  # ends just before them
        ("oil prices", "2024-06", None),
        ("trade deficit", None, "2024-12-31"),
        ("bank", "2025-03-05", "2025-03-05"),  # the crowded instant only
        ("gold mine talks", "2024", "2025"),
        ('"oil prices"', "2024-02", "2025-02"),
        ("*", "2025-01", None),
        ("wheat -strike", "2024-05-01", "2025-04-30"),
    ],
)
def test_date_filters_give_whoosh_date_range_pages(ix: SearchIndex, whoosh_tiering: Any, text: str, since: str | None, until: str | None) -> None:
    for page in (1, 2, 4):
        got = _page(ix.search(text, since=since, until=until, page=page, fragments=0, suggest=False))
        with whoosh_tiering:
            expected = _whoosh_page(ix, text, since=since, until=until, page=page)
        assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "oil date:2024-06",
        "oil prices date:[2024-03-01 TO 2024-10-31]",
        "bank date:2025-03-05",
        "talks date:[2025-01 TO]",
        "strike date:[TO 2024-04]",
        "date:2024",
        "oil OR date:2025-03-05",
    ],
)
def test_date_clauses_in_the_query_match_what_whoosh_matched(ix: SearchIndex, whoosh_tiering: Any, text: str) -> None:
    got = _page(ix.search(text, limit=15, fragments=0, suggest=False))
    with whoosh_tiering:
        expected = _whoosh_page(ix, text, limit=15)
    assert got == expected
    assert got[0] > 0


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize(("text", "since", "until"), [("bank", None, None), ("*", None, None), ("oil prices", "2024-06", "2025-03")])
def test_newest_and_oldest_pages_equal_whoosh_sort_with_ties_and_undated_last(
    ix: SearchIndex, text: str, since: str | None, until: str | None, sort: str
) -> None:
    total = None
    for page in (1, 2, 3, 8):
        got = _page(ix.search(text, since=since, until=until, sort=sort, page=page, fragments=0, suggest=False))
        assert got == _whoosh_page(ix, text, since=since, until=until, sort=sort, page=page)
        total = got[0]
    assert total and total > 30


@pytest.mark.parametrize("text", ["oil prices", "trade deficit bank", "gold mine", "talks strike wheat", "rates report"])
def test_all_words_first_gives_the_full_tiering_order_scores_and_totals(
    ix: SearchIndex, whoosh_tiering: Any, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # Whoosh's own path, where the AND of all words leads (`bulk_search` ranks these pages otherwise;
    # tests/test_bulk_search.py compares the two).
    monkeypatch.setattr(searcher_module, "BULK_RANKING", False)
    led: list[int] = []
    original = searcher_module._CoordMatcher.replace

    def spy(self: Any, minquality: float = 0) -> Any:
        replaced = original(self, minquality)
        if getattr(replaced, "_driver", None) is not None and self._driver is None:
            led.append(1)
        return replaced

    monkeypatch.setattr(searcher_module._CoordMatcher, "replace", spy)
    for limit, page in ((10, 1), (5, 3), (20, 2), (3, 1)):
        got = _page(ix.search(text, limit=limit, page=page, fragments=0, suggest=False))
        with whoosh_tiering:
            expected = _whoosh_page(ix, text, limit=limit, page=page)
        assert got == expected
    assert led, "the AND of all words never took over, so nothing was compared"


@pytest.mark.parametrize(
    "text",
    [
        "oil", "oil prices", "talks strike wheat", '"oil prices"', "oil -prices", "+bank rates",
        "title:oil", "gold AND mine", "oil OR date:2025-03-05", "pri*", "strik~", "*",
        "bank date:[2024-03 TO 2024-09]", "nothingmatchesthis",
    ],
)
def test_counts_equal_whoosh_documents_for_the_query(ix: SearchIndex, text: str) -> None:
    searcher = ix._s()
    q = ix._builder.parse(text, searcher.reader()).q
    expected = len(list(searcher.docs_for_query(q)))
    assert searcher_module._count_matches(searcher, searcher_module._with_date_columns(q, ix._dates)) == expected
    assert ix.search(text, fragments=0, suggest=False).total == expected


def test_a_refreshed_searcher_sees_the_dates_of_new_segments(tmp_path: Path) -> None:
    rng = random.Random(7)
    articles = [_article(rng, n) for n in range(60)]
    index_dir = build_index(tmp_path / "ix", articles[:40])
    with open_index(index_dir) as index:
        before = index.search("*", since="2024-01-01", limit=200, fragments=0)
        newest_before = index.search("*", sort="newest", limit=1, fragments=0)
        late = Article(id="late.txt", title="oil", body="oil prices", date=ParsedDate(datetime(2026, 1, 2, tzinfo=timezone.utc), "day", "test"))
        _add_segment(index_dir, [*articles[40:], late])
        after = index.search("*", since="2024-01-01", limit=200, fragments=0)
        assert after.total == sum(1 for a in [*articles, late] if a.date is not None) != before.total
        assert index.search("*", sort="newest", limit=1, fragments=0).hits[0].id == "late.txt" != newest_before.hits[0].id
        assert index.search("oil", since="2026-01", fragments=0).total == 1
    _add_segment(index_dir, [], delete=[late.id])
    with open_index(index_dir) as index:
        assert index.search("oil", since="2026-01", fragments=0).total == 0
        assert index.search("*", sort="newest", limit=1, fragments=0).hits[0].id != "late.txt"


def test_a_segments_dates_in_a_range_as_a_set_narrow_or_wide() -> None:
    # A wide range is built as every document less those outside it: the same set either way.
    from array import array

    rng = random.Random(5)
    values = array("Q", [rng.choice([0, 2**64 - 1]) if rng.random() < 0.1 else rng.randrange(1000, 2000) for _ in range(3000)])
    dates = searcher_module._SegmentDates(values)
    for low, high in [(0, 2**63), (1000, 1999), (1200, 1800), (1500, 1500), (1990, 5000), (3000, 4000), (0, 999)]:
        expected = {d for d, v in enumerate(values) if low <= v <= high}
        assert dates.set_between(low, high) == set(dates.between(low, high)) == expected, (low, high)
