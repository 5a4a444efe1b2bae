"""The fast indexing path writes exactly the postings Whoosh's own TEXT field would."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.fields import TEXT

from searchkit.analysis import NewsTokenizer, news_analyzer, term_positions, term_spans, terms, word_spans
from searchkit.models import Article
from searchkit.postings_format import CompactPositions
from searchkit.schema import TEXT_FIELDS, PreAnalyzed, build_schema, pre_analyze, to_document

SAMPLES = [
    "",
    "   ",
    "The talks talked about talking: U.S. and US officials met in Tokyo's café.",
    "oil OIL Oil oil, prices of oil; the oil of the oils",
    "a " * 10 + "x" * 70 + " the end",  # an over-long run is dropped, stop words do not advance
    "私は日本語を勉強します and Tokyo 東京",  # CJK bigrams beside words
    "ﾃｽﾄ half-width カタカナ",
    "Straße ÉCOLE naïve ﬁnance ２０２５",
    "3.5 percent of 1,000 shares, v1.2.3 and e.g. i.e.",
    "word_with_underscore co-operate Indo-Pacific [region]",
]


def plain_postings(text: str, boost: float = 1.0) -> list[tuple[bytes, int, float, bytes]]:
    # Whoosh's TEXT field analysing token by token, its positions encoded as searchkit's are.
    field = TEXT(analyzer=news_analyzer(), field_boost=boost)
    field.format = CompactPositions(field_boost=boost)
    return sorted(field.index(text))


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("field", ["title", "body"])
def test_news_text_postings_equal_whoosh_text(text: str, field: str) -> None:
    fieldobj = build_schema()[field]
    expected = plain_postings(text, fieldobj.format.field_boost)
    assert sorted(fieldobj.index(text)) == expected
    assert sorted(fieldobj.index(pre_analyze(text))) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_term_positions_equal_the_tokenizer(text: str) -> None:
    expected: dict[str, list[int]] = {}
    for token in NewsTokenizer()(text, positions=True):
        expected.setdefault(token.text, []).append(token.pos)
    assert term_positions(text) == expected


def _tokenizer_spans(text: str) -> list[tuple[str, int, int, int]]:
    return [(t.text, t.pos, t.startchar, t.endchar) for t in NewsTokenizer()(text, positions=True, chars=True)]


@pytest.mark.parametrize("text", SAMPLES)
def test_word_spans_equal_the_tokenizer(text: str) -> None:
    # Highlighting's fast path: the same terms at the same positions and offsets, or None for CJK.
    spans = word_spans(text)
    if spans is None:
        assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uff66" <= ch <= "\uff9f" for ch in text)
    else:
        assert [(term, pos, start, end) for pos, (term, start, end) in enumerate(spans)] == _tokenizer_spans(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_word_spans_equal_the_tokenizer_on_any_text(text: str) -> None:
    spans = word_spans(text)
    if spans is not None:
        assert [(term, pos, start, end) for pos, (term, start, end) in enumerate(spans)] == _tokenizer_spans(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("aAbB19._ \n-éß"), max_size=60) | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.data(),
)
def test_term_spans_are_the_word_spans_of_the_wanted_terms(text: str, data: st.DataObject) -> None:
    spans = word_spans(text)
    if spans is None:
        assert term_spans(text, {"a"}) is None
        return
    present = sorted({term for term, _, _ in spans})
    wanted = set(data.draw(st.lists(st.sampled_from(present), unique=True) if present else st.just([])))
    wanted |= {"zzz"}  # a term the text does not hold changes nothing
    assert term_spans(text, wanted) == [span for span in spans if span[0] in wanted]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("U.S. and US and u.s.a and x.us and us.x", {"us"}),  # a dotted run is one word
        ("oil, Oil; OIL oils boil oilfield oil.x x.oil oil_field oil..x", {"oil"}),
        ("the talks talked about talking", {"talk"}),
        ("Straße naïve café CAFÉ cafés", {"cafe", "strass"}),
    ],
)
def test_term_spans_on_word_boundaries(text: str, wanted: set[str]) -> None:
    assert term_spans(text, wanted) == [span for span in word_spans(text) or () if span[0] in wanted]
    assert term_spans(text, wanted)  # every example has matches


def test_term_spans_of_many_wanted_forms_are_the_same_spans() -> None:
    # A wildcard's expansions can make dozens of wanted forms: found word by word instead.
    text = " ".join(f"alpha{i} beta{i}" for i in range(40))
    wanted = set(terms(text))
    assert term_spans(text, wanted) == word_spans(text) and len(wanted) == 80


def test_lone_surrogate_splits_words_as_its_replacement_does() -> None:
    # The indexer replaces lone surrogates in the stored text with U+FFFD; the terms are the same.
    text = "broken\udcfftext"
    assert sorted(build_schema()["body"].index(pre_analyze(text))) == plain_postings("broken\ufffdtext")


def test_document_stores_plain_text_and_carries_postings() -> None:
    article = Article(id="a.txt", title="Oil prices", body="Oil prices rose.", source="Reuters")
    doc = to_document(article, "/archive/a.txt")
    for name in TEXT_FIELDS:
        if getattr(article, name):
            assert isinstance(doc[name], PreAnalyzed)
            assert isinstance(doc["_stored_" + name], str)
        else:
            assert doc[name] == "" and "_stored_" + name not in doc
    assert doc["_stored_body"] == "Oil prices rose."
    # It crosses a process boundary as a PreAnalyzed, not as a bare tuple.
    assert isinstance(pickle.loads(pickle.dumps(doc))["body"], PreAnalyzed)


def test_index_written_from_pre_analysed_documents_reads_back(tmp_path) -> None:
    from whoosh import index
    from whoosh.qparser import QueryParser

    ix = index.create_in(str(tmp_path), build_schema())
    with ix.writer() as writer:
        writer.add_document(**to_document(Article(id="a.txt", title="Oil talks", body="Ministers talked about crude oil prices."), "/a.txt"))
    with ix.searcher() as searcher:
        hits = searcher.search(QueryParser("body", ix.schema).parse('"crude oil"'))
        assert [hit["body"] for hit in hits] == ["Ministers talked about crude oil prices."]
        assert hits[0]["title"] == "Oil talks"
        assert searcher.doc_field_length(hits[0].docnum, "body") == len(terms(hits[0]["body"]))
