"""The search library as a script calls it: `open_index(...).search/get/similar/stats/timeline`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from query_fixtures import ARTICLES, build_index, standard_index, when

import searchkit
from searchkit import searcher as searcher_module
from searchkit.errors import ArticleNotFoundError, IndexNotFoundError, QuerySyntaxError
from searchkit.models import Article, Results
from searchkit.searcher import SearchIndex, date_bound, open_index

SAMPLE_DOCS = Path(__file__).resolve().parents[1] / "sample_docs"


@pytest.fixture
def ix(tmp_path: Path):
    with open_index(standard_index(tmp_path)) as index:
        yield index


def ids(results: Results) -> list[str]:
    return [hit.id for hit in results.hits]


# --- ranking --------------------------------------------------------------------------------------


def test_both_words_rank_first_and_one_word_documents_still_follow(ix: SearchIndex) -> None:
    results = ix.search("joint headquarters")
    assert ids(results)[0] == "politics/joint-hq.txt"
    assert set(ids(results)) == {"politics/joint-hq.txt", "politics/headquarters-move.txt", "sport/joint-venture.txt"}
    assert results.total == 3
    assert [h.rank for h in results.hits] == [1, 2, 3]
    assert results.hits[0].score > results.hits[1].score


def test_a_document_repeating_one_word_does_not_beat_one_holding_both(tmp_path: Path) -> None:
    articles = [
        Article(id="one-word.txt", title="Headquarters headquarters", body="Headquarters. " * 30),
        Article(id="both.txt", title="Annual review", body="A long report. " * 40 + "The joint staff met at the headquarters."),
        Article(id="other.txt", title="Weather", body="Rain is expected."),
    ]
    with open_index(build_index(tmp_path / "ix", articles)) as index:
        assert ids(index.search("joint headquarters"))[:2] == ["both.txt", "one-word.txt"]


def test_long_natural_language_queries_are_a_ranked_or_not_an_and(ix: SearchIndex) -> None:
    # No article holds all these words; an AND would find nothing.
    results = ix.search("what did the defence ministers decide about a joint headquarters for the forces in Tokyo")
    assert results.total >= 2
    assert ids(results)[0] == "politics/joint-hq.txt"


def test_results_match_the_documented_json_shape(ix: SearchIndex) -> None:
    data = ix.search("joint headquarters").to_dict()
    assert list(data) == ["query", "total", "page", "hits", "suggestion"]
    hit = data["hits"][0]
    assert list(hit) == ["id", "rank", "score", "title", "date", "source", "section", "url", "path", "snippets"]
    assert hit["date"] == "2025-03-30T08:00:00+09:00"  # as the source gave it, with its offset
    assert hit["path"] == "/archive/politics/joint-hq.txt"
    assert all(set(s) == {"text", "highlights"} for s in hit["snippets"])


# --- query syntax -----------------------------------------------------------------------------------


def test_exact_phrase_matches_only_where_the_whole_phrase_occurs(ix: SearchIndex) -> None:
    assert ids(ix.search('"joint headquarters"')) == ["politics/joint-hq.txt"]
    assert ids(ix.search('"headquarters joint"')) == []


@pytest.mark.parametrize("query", ["joint -academy", "joint NOT academy", "joint AND NOT academy"])
def test_excluded_words_remove_documents(ix: SearchIndex, query: str) -> None:
    assert ids(ix.search(query)) == ["politics/joint-hq.txt"]


def test_and_or_operators(ix: SearchIndex) -> None:
    assert ids(ix.search("joint AND academy")) == ["sport/joint-venture.txt"]
    assert set(ids(ix.search("academy OR insurer"))) == {"sport/joint-venture.txt", "politics/headquarters-move.txt"}
    assert set(ids(ix.search("+headquarters joint"))) == {"politics/joint-hq.txt", "politics/headquarters-move.txt"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("section:politics", {"politics/joint-hq.txt", "feeds/wire.jsonl#7"}),
        ("title:talks", {"world/talks.txt"}),
        ('source:"daily ledger"', {"politics/joint-hq.txt", "politics/headquarters-move.txt"}),
        ("byline:mori", {"politics/joint-hq.txt"}),
        ("keywords:defence", {"politics/joint-hq.txt"}),
        ("lang:ja", {"world/japanese.txt"}),
    ],
)
def test_field_clauses(ix: SearchIndex, query: str, expected: set[str]) -> None:
    assert set(ids(ix.search(query))) == expected


def test_a_field_clause_beside_words_restricts_rather_than_widens(ix: SearchIndex) -> None:
    assert ids(ix.search("joint section:sport")) == ["sport/joint-venture.txt"]
    assert ids(ix.search("joint date:2025")) == ["politics/joint-hq.txt"]
    # An explicit OR keeps its meaning.
    assert set(ids(ix.search("title:academy OR date:2023"))) == {"sport/joint-venture.txt", "world/talks.txt"}


def test_fields_outside_the_query_language_are_plain_words(ix: SearchIndex) -> None:
    results = ix.search("provenance:utf-8")  # a stored-only field: never a Whoosh error
    assert isinstance(results, Results)


@pytest.mark.parametrize("query", ["headquarters*", "hea*", "headqu*", "headquaters~", "headquaters~2"])
def test_wildcards_and_fuzzy_terms_reach_stemmed_index_words(ix: SearchIndex, query: str) -> None:
    assert {"politics/joint-hq.txt", "politics/headquarters-move.txt"} <= set(ids(ix.search(query)))


def test_a_wildcard_expanding_to_too_many_words_is_capped_with_a_note(ix: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(searcher_module, "MAX_EXPANSIONS", 2)
    results = ix.search("t*")
    assert results.total >= 1
    assert any("most common" in note for note in results.notes)


def test_a_lone_star_matches_every_article(ix: SearchIndex) -> None:
    assert ix.search("*").total == len(ARTICLES)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date:2025-03", {"politics/joint-hq.txt", "feeds/wire.jsonl#7"}),
        ("date:2025-3", {"politics/joint-hq.txt", "feeds/wire.jsonl#7"}),
        ("date:2025-03-02", {"feeds/wire.jsonl#7"}),
        ("date:[2025-02-01 TO 2025-02-28]", {"politics/headquarters-move.txt"}),
        ("date:[2025-01-16 TO]", {"politics/joint-hq.txt", "feeds/wire.jsonl#7", "politics/headquarters-move.txt"}),
        ("date:[TO 2022]", {"long/deep.txt", "tricky/markup.txt"}),
    ],
)
def test_date_clauses_in_utc(ix: SearchIndex, query: str, expected: set[str]) -> None:
    # The joint-hq article is dated 08:00 JST on 30 March, i.e. 23:00 UTC on the 29th.
    assert set(ids(ix.search(query))) == expected


@pytest.mark.parametrize("query", ["date:2025-13", "date:[2025-99 TO x]", "joint date:", "date:2025-02-30", "date:[2025 TO 2024]"])
def test_a_date_clause_that_is_no_date_is_a_syntax_error_pointing_at_it(ix: SearchIndex, query: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        ix.search(query)
    assert "date:" in str(caught.value)
    position = caught.value.position  # type: ignore[attr-defined]
    assert query[position:].startswith("date:")


@pytest.mark.parametrize("query", ['"unclosed joint', "(joint", "joint)", "joint AND", "OR joint", "[joint", "joint^", "joint~9"])
def test_malformed_syntax_still_searches(ix: SearchIndex, query: str) -> None:
    results = ix.search(query)
    assert "politics/joint-hq.txt" in ids(results)


@pytest.mark.parametrize("query", ["NOT AND joint", "} NOT OR joint", "(+)joint"])
def test_syntax_that_fails_falls_back_to_plain_words_with_a_note(ix: SearchIndex, query: str) -> None:
    # Whoosh raises (IndexError, NotImplementedError) or returns nothing for these.
    results = ix.search(query)
    assert "politics/joint-hq.txt" in ids(results)
    assert any("plain words" in note for note in results.notes)


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_is_an_error(ix: SearchIndex, query: str) -> None:
    with pytest.raises(QuerySyntaxError):
        ix.search(query)


@pytest.mark.parametrize("query", ["AND", "(((", "the", "^", "~", '"', "-", "+", ":", "date", "*:*", "\\", "NOT"])
def test_odd_queries_return_results_not_exceptions(ix: SearchIndex, query: str) -> None:
    assert isinstance(ix.search(query), Results)


def test_cjk_words_are_found_inside_unsegmented_text(ix: SearchIndex) -> None:
    results = ix.search("日本語")
    assert ids(results) == ["world/japanese.txt"]
    snippet = results.hits[0].snippets[0]
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["日本語"]


def test_deep_matches_in_long_articles_are_found_and_highlighted(ix: SearchIndex) -> None:
    results = ix.search("treasure")
    assert ids(results) == ["long/deep.txt"]
    snippet = results.hits[0].snippets[0]
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["treasure"]


def test_hits_carry_title_highlights_and_stemmed_snippet_highlights(ix: SearchIndex) -> None:
    hit = ix.search("talks").hits[0]
    assert hit.id == "world/talks.txt"
    assert [hit.title[a:b] for a, b in hit.title_highlights] == ["talks"]
    words = {s.text[a:b].lower() for s in hit.snippets for a, b in s.highlights}
    assert words == {"talked", "talks", "talking"}


def test_fragments_limit_and_zero(ix: SearchIndex) -> None:
    assert len(ix.search("talks", fragments=1).hits[0].snippets) == 1
    assert ix.search("talks", fragments=0).hits[0].snippets == ()


# --- filters, sorting, paging ---------------------------------------------------------------------------


def test_since_and_until_cover_whole_periods(ix: SearchIndex) -> None:
    assert set(ids(ix.search("*", since="2025", until="2025-02"))) == {"politics/headquarters-move.txt", "world/japanese.txt"}
    assert set(ids(ix.search("*", since="2025-03-02", until="2025-03-02"))) == {"feeds/wire.jsonl#7"}


def test_relative_since(ix: SearchIndex) -> None:
    # Every dated fixture is less than a century old and more than a day old.
    dated = {a.id for a in ARTICLES if a.date}
    assert set(ids(ix.search("*", since="100y", limit=50))) == dated
    assert ids(ix.search("*", since="1d")) == []


def test_date_bound_forms() -> None:
    now = datetime(2025, 3, 31, 12, 0)
    assert date_bound("2025", end=False) == datetime(2025, 1, 1)
    assert date_bound("2025", end=True) == datetime(2025, 12, 31, 23, 59, 59, 999999)
    assert date_bound("2024-02", end=True) == datetime(2024, 2, 29, 23, 59, 59, 999999)
    assert date_bound("30d", end=False, now=now) == now - timedelta(days=30)
    assert date_bound("2w", end=False, now=now) == now - timedelta(weeks=2)
    assert date_bound("1m", end=False, now=now) == datetime(2025, 2, 28, 12, 0)
    assert date_bound("2y", end=False, now=now) == datetime(2023, 3, 31, 12, 0)
    aware = datetime(2025, 3, 30, 8, 0, tzinfo=timezone(timedelta(hours=9)))
    assert date_bound(aware, end=False) == datetime(2025, 3, 29, 23, 0)
    assert date_bound(None, end=True) is None


@pytest.mark.parametrize("value", ["yesterday", "2025-13", "2025-02-30", "25", "30x"])
def test_unreadable_date_filters_are_errors(ix: SearchIndex, value: str) -> None:
    with pytest.raises(QuerySyntaxError):
        ix.search("joint", since=value)


def test_since_after_until_is_an_error(ix: SearchIndex) -> None:
    with pytest.raises(QuerySyntaxError):
        ix.search("joint", since="2025", until="2024")


def test_source_section_and_language_filters(ix: SearchIndex) -> None:
    assert set(ids(ix.search("*", source="daily ledger"))) == {"politics/joint-hq.txt", "politics/headquarters-move.txt"}
    assert set(ids(ix.search("*", section="Politics"))) == {"politics/joint-hq.txt", "feeds/wire.jsonl#7"}
    assert ids(ix.search("*", lang="JA")) == ["world/japanese.txt"]
    assert ids(ix.search("joint", section="sport")) == ["sport/joint-venture.txt"]


def test_sort_newest_and_oldest_put_undated_articles_last(ix: SearchIndex) -> None:
    newest = ids(ix.search("*", sort="newest", limit=20))
    oldest = ids(ix.search("*", sort="oldest", limit=20))
    assert newest[0] == "politics/joint-hq.txt"
    assert oldest[0] == "long/deep.txt"
    assert newest[-1] == oldest[-1] == "undated/note.txt"
    assert newest[:-1] == list(reversed(oldest[:-1]))


def test_paging_continues_the_ranking(ix: SearchIndex) -> None:
    everything = ids(ix.search("*", sort="oldest", limit=20))
    page1 = ix.search("*", sort="oldest", limit=4, page=1)
    page3 = ix.search("*", sort="oldest", limit=4, page=3)
    assert ids(page1) == everything[:4]
    assert ids(page3) == everything[8:12]
    assert [h.rank for h in page3.hits] == list(range(9, 9 + len(page3.hits)))
    assert page3.total == len(everything)
    beyond = ix.search("*", limit=4, page=99)
    assert beyond.hits == () and beyond.total == len(everything) and beyond.page == 99


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"page": 0}, {"sort": "random"}, {"fragments": -1}])
def test_bad_arguments_raise_value_error(ix: SearchIndex, kwargs: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        ix.search("joint", **kwargs)


# --- did you mean ------------------------------------------------------------------------------------------


def test_suggestion_corrects_misspelt_words_from_the_index_vocabulary(ix: SearchIndex) -> None:
    results = ix.search("hedquarters")
    assert results.total == 0
    assert results.suggestion == "headquarters"
    assert ix.search("jont hedquarters").suggestion == "joint headquarters"
    assert ix.search("Parliment").suggestion == "Parliament"


def test_no_suggestion_when_the_query_finds_enough(ix: SearchIndex) -> None:
    assert ix.search("joint headquarters").suggestion is None
    assert ix.search("zzqxv").suggestion is None  # nothing near it in the index


def test_suggest_leaves_syntax_alone(ix: SearchIndex) -> None:
    assert ix.suggest('section:politics "jont hedquarters" -academy') == 'section:politics "joint headquarters" -academy'


# --- articles, similar, stats, timeline -------------------------------------------------------------------------


def test_get_rebuilds_the_article(ix: SearchIndex) -> None:
    article = ix.get("feeds/wire.jsonl#7")
    original = next(a for a in ARTICLES if a.id == "feeds/wire.jsonl#7")
    assert article == replace(original, path="feeds/wire.jsonl")
    with pytest.raises(ArticleNotFoundError):
        ix.get("no/such.txt")


def test_similar_finds_related_articles_but_not_itself(ix: SearchIndex) -> None:
    results = ix.similar("politics/joint-hq.txt")
    assert results.total >= 1
    assert "politics/joint-hq.txt" not in ids(results)
    assert results.hits[0].rank == 1
    with pytest.raises(ArticleNotFoundError):
        ix.similar("no/such.txt")


def test_stats(ix: SearchIndex) -> None:
    stats = ix.stats()
    assert stats.documents == len(ARTICLES)
    assert stats.earliest == "2021-12-31T12:00:00+00:00"
    assert stats.latest == "2025-03-29T23:00:00+00:00"
    assert stats.undated == 1
    assert stats.sources["Wire"] == 3
    assert stats.languages == {"en": 8, "ja": 1}
    assert stats.encodings["utf-8"] == 1
    assert stats.size_bytes > 0
    assert stats.schema_version == searcher_module.SCHEMA_VERSION
    assert stats.to_dict()["documents"] == len(ARTICLES)
    assert stats.phrase_pairs == 0 and not stats.phrase_pairs_advised  # a small archive: none, none advised


def test_timeline_counts_dated_matches_per_period_with_gaps_filled(ix: SearchIndex) -> None:
    assert ix.timeline("*", by="year") == [("2021", 1), ("2022", 1), ("2023", 1), ("2024", 1), ("2025", 4)]
    months = ix.timeline("joint OR insurer", by="month")
    assert months[0] == ("2024-09", 1) and months[-1] == ("2025-03", 1)
    assert ("2024-12", 0) in months and len(months) == 7
    assert ix.timeline("budget", by="day") == [("2025-03-02", 1)]
    assert ix.timeline("volcanoes", by="year") == [("2022", 1)]  # the undated one is not counted
    assert ix.timeline("zzqxv") == []
    with pytest.raises(ValueError):
        ix.timeline("*", by="week")


# --- the index itself -------------------------------------------------------------------------------------------


def test_open_index_without_an_index_raises(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError):
        open_index(tmp_path / "nothing-here")


def test_open_index_uses_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = standard_index(tmp_path)
    monkeypatch.setenv("SEARCHKIT_INDEX", str(folder))
    with searchkit.open_index() as index:
        assert index.search("joint").total == 2


def test_an_open_index_sees_later_commits(tmp_path: Path) -> None:
    from whoosh import index as whoosh_index

    from searchkit.schema import to_document

    folder = standard_index(tmp_path)
    with open_index(folder) as index:
        assert index.search("lighthouse").total == 0
        ix = whoosh_index.open_dir(str(folder), indexname="MAIN")
        with ix.writer() as writer:
            writer.add_document(**to_document(Article(id="new.txt", title="Lighthouse", body="A new lighthouse.", date=when(2025, 4, 1)), "/archive/new.txt"))
        assert ids(index.search("lighthouse")) == ["new.txt"]


def test_public_api_is_exported_lazily() -> None:
    for name in ("open_index", "SearchIndex", "Results", "Hit", "Snippet", "Article", "IndexStats", "QuerySyntaxError", "index_paths"):
        assert name in searchkit.__all__
        assert getattr(searchkit, name) is not None
    with pytest.raises(AttributeError):
        searchkit.no_such_thing  # noqa: B018


@pytest.mark.skipif(not SAMPLE_DOCS.is_dir(), reason="needs sample_docs/")
def test_sample_docs_joint_headquarters_article_comes_first(tmp_path: Path) -> None:
    from searchkit import index_paths

    index_paths([str(SAMPLE_DOCS)], tmp_path / "index")
    with open_index(tmp_path / "index") as index:
        hit = index.search("joint headquarters").hits[0]
    assert "joint-headquarters" in hit.id
    words = {s.text[a:b].lower() for s in hit.snippets for a, b in s.highlights}
    assert {"joint", "headquarters"} <= words
