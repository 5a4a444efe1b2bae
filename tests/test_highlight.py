"""Highlighting returns spans, never markup: stems, phrases, CJK, long articles, fragments."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from searchkit.analysis import terms
from searchkit.highlight import (
    ELLIPSIS,
    MatchSpec,
    find_matches,
    highlight_spans,
    lead_snippet,
    match_spec,
    sentence_bounds,
    snippets,
    wrapped_line_breaks,
)
from conftest import shared_path


def spec(words: str = "", *phrases: str, slop: int = 1) -> MatchSpec:
    return MatchSpec(frozenset(terms(words)), tuple((tuple(terms(p)), slop) for p in phrases))


def marked(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_every_form_of_a_stemmed_word_is_highlighted() -> None:
    text = "They talked on Monday. The talks went well. Talking helps."
    found = highlight_spans(text, spec("talks"))
    assert marked(text, found) == ["talked", "talks", "Talking"]


def test_phrase_words_are_highlighted_only_where_the_whole_phrase_occurs() -> None:
    text = "A joint venture opened. Its headquarters moved. The joint headquarters opened."
    found = highlight_spans(text, spec("", "joint headquarters"))
    assert marked(text, found) == ["joint headquarters"]


def test_phrase_with_stop_words_inside_is_one_span() -> None:
    text = "The Minister of Defence spoke."
    assert marked(text, highlight_spans(text, spec("", "minister of defence"))) == ["Minister of Defence"]


def test_sloppy_phrase_highlights_its_words() -> None:
    text = "joint force headquarters"
    assert marked(text, highlight_spans(text, spec("", "joint headquarters", slop=2))) == ["joint", "headquarters"]


def test_cjk_bigram_matches_merge_into_one_span() -> None:
    text = "私は日本語を勉強します。"
    assert marked(text, highlight_spans(text, spec("", "日本語"))) == ["日本語"]
    assert marked(text, highlight_spans(text, spec("日本語"))) == ["日本語"]  # as separate bigram terms too


def test_a_match_deep_in_a_long_article_is_found() -> None:
    body = "Routine harbour business was discussed at length. " * 2000 + "Divers found a sunken treasure chest. " + "More routine. " * 50
    assert len(body) > 100_000
    (snippet,) = snippets(body, spec("treasure"), top=3)
    assert snippet.text == "Divers found a sunken treasure chest."
    assert marked(snippet.text, snippet.highlights) == ["treasure"]


def test_fragments_are_sentences_best_first() -> None:
    text = (
        "The committee met on Monday. Members talked about the budget. "
        "Later the joint committee approved the headquarters budget. Nothing else happened."
    )
    result = snippets(text, spec("joint headquarters budget"), top=3)
    assert [s.text for s in result] == [
        "Later the joint committee approved the headquarters budget.",
        "Members talked about the budget.",
    ]


def test_spans_point_into_each_snippets_own_text() -> None:
    text = "First sentence here. Second one mentions talks and more talks. Third talked."
    for snippet in snippets(text, spec("talks"), top=3):
        assert all(snippet.text[a:b].lower().startswith("talk") for a, b in snippet.highlights)


def test_abbreviations_do_not_end_sentences() -> None:
    text = "U.S. Forces Japan met Gen. Nakatani in Tokyo. The talks ended."
    assert [text[a:b] for a, b in sentence_bounds(text)] == ["U.S. Forces Japan met Gen. Nakatani in Tokyo.", "The talks ended."]


def test_cjk_sentences_end_at_the_full_stop() -> None:
    text = "日本語を勉強します。毎日です。"
    assert [text[a:b] for a, b in sentence_bounds(text)] == ["日本語を勉強します。", "毎日です。"]


def test_a_long_sentence_is_cut_to_a_window_around_its_match() -> None:
    text = "word " * 400 + "needle " + "word " * 400
    (snippet,) = snippets(text, spec("needle"), top=1, maxchars=120)
    assert snippet.text.startswith(ELLIPSIS) and snippet.text.endswith(ELLIPSIS)
    assert len(snippet.text) <= 122
    assert marked(snippet.text, snippet.highlights) == ["needle"]


def test_far_apart_matches_in_one_long_sentence_give_separate_windows() -> None:
    text = "alpha " + "filler " * 200 + "omega " + "filler " * 200
    result = snippets(text, spec("alpha omega"), top=3, maxchars=100)
    assert sorted(marked(s.text, s.highlights)[0] for s in result) == ["alpha", "omega"]


def test_without_a_match_the_lead_is_the_snippet() -> None:
    text = "The opening sentence sets the scene. The second adds detail."
    (snippet,) = snippets(text, spec("volcano"))
    assert snippet.text == "The opening sentence sets the scene."
    assert snippet.highlights == ()
    assert lead_snippet("word " * 200, 50).text.endswith(ELLIPSIS)
    assert snippets("", spec("x")) == ()
    assert snippets(text, spec("scene"), top=0) == ()


def test_markup_in_text_is_data_not_styling() -> None:
    text = "The Indo-Pacific [region] and [bold red]alarm[/bold red] stay as written."
    (snippet,) = snippets(text, spec("alarm region"))
    assert snippet.text == text
    assert marked(text, snippet.highlights) == ["region", "alarm"]


def test_match_spec_reads_terms_and_phrases_but_not_excluded_words() -> None:
    q = wq.AndNot(
        wq.Or([wq.Term("body", "joint"), wq.Phrase("body", ["forc", "headquart"]), wq.Term("title", "joint")]),
        wq.Term("body", "academi"),
    )
    body = match_spec(q, "body")
    assert body.terms == {"joint"}
    assert body.phrases == ((("forc", "headquart"), 1),)
    assert match_spec(q, "title").terms == {"joint"}
    assert not match_spec(wq.Not(wq.Term("body", "joint")), "body")
    assert not match_spec(wq.Every(), "body")


def test_matches_are_sorted_and_merged() -> None:
    text = "joint joint headquarters"
    found = find_matches(text, spec("joint", "joint headquarters"))
    assert [(m.start, m.end) for m in found] == [(0, 5), (6, 24)]


words = st.sampled_from(["talk", "talks", "Talked", "joint", "headquarters", "日本語", "を", "U.S.", "the", "a", "[b]", "\x1b[31m", "。", ".", "\n"])


@settings(max_examples=200, deadline=None)
@given(st.lists(words, max_size=60), st.lists(words, min_size=1, max_size=3))
def test_spans_are_always_ordered_disjoint_and_inside_the_text(text_words: list[str], query_words: list[str]) -> None:
    text = " ".join(text_words)
    query = " ".join(query_words)
    for s in (spec(query), spec("", query)):
        found = highlight_spans(text, s)
        assert all(0 <= a < b <= len(text) for a, b in found)
        assert all(b1 < a2 for (_, b1), (a2, _) in zip(found, found[1:]))
        for snippet in snippets(text, s, top=3, maxchars=40):
            assert all(0 <= a < b <= len(snippet.text) for a, b in snippet.highlights)


# Wire copy as archives keep it: paragraphs hard-wrapped near 65 columns, sentences running across
# line breaks, a results table whose short rows each mean a line.
WRAPPED = (
    "The harbour board said on Tuesday that the new container terminal\n"
    "would open in March, two months later than planned, because of\n"
    "delays in dredging the outer channel. Shipping lines had expected\n"
    "Berths for the largest vessels by the end of the year.\n"
    "Cargo volume\n"
    "Containers 12,400 vs 11,900\n"
    "Bulk tonnes 88,000 vs 91,500"
)


def test_a_hard_wrapped_sentence_is_one_sentence_and_its_snippet_one_line() -> None:
    sentences = [WRAPPED[a:b] for a, b in sentence_bounds(WRAPPED)]
    assert sentences[0].replace("\n", " ") == (
        "The harbour board said on Tuesday that the new container terminal would open in March, "
        "two months later than planned, because of delays in dredging the outer channel."
    )
    # A wrap before a capital, where the next word would not have fitted, is still a wrap.
    assert sentences[1].replace("\n", " ") == "Shipping lines had expected Berths for the largest vessels by the end of the year."
    # Short rows before capitals were broken on purpose.
    assert sentences[2:] == ["Cargo volume", "Containers 12,400 vs 11,900", "Bulk tonnes 88,000 vs 91,500"]
    (snippet,) = snippets(WRAPPED, spec("dredging"), top=1)
    assert "\n" not in snippet.text
    assert snippet.text.startswith("The harbour board said") and snippet.text.endswith("outer channel.")
    assert marked(snippet.text, snippet.highlights) == ["dredging"]
    assert "\n" not in lead_snippet(WRAPPED).text


def test_lines_of_text_that_is_not_hard_wrapped_are_paragraphs() -> None:
    # One paragraph per line (HTML, JSON dumps): every line break ends a sentence.
    paragraphs = "A heading without a stop\n" + "a first paragraph that runs on for a good while " * 4 + "\nA last line"
    assert wrapped_line_breaks(paragraphs) == set()
    assert len(sentence_bounds(paragraphs)) == 3
    assert wrapped_line_breaks("one line only") == set()


def test_reuters_snippets_are_whole_sentences() -> None:
    # Real wire copy: no sentence stops at a line break after which it goes on in lower case.
    from searchkit.decode import decode
    from searchkit.models import Article, Source
    from searchkit.readers import sgml

    path = shared_path("corpora", "reuters21578", "reut2-000.sgm")
    decoded = decode(path.read_bytes())
    bodies = [item.body for item in sgml.read(decoded.text, Source(path.name, decoded)) if isinstance(item, Article) and item.body]
    wrapped = [body for body in bodies if wrapped_line_breaks(body)]
    assert len(wrapped) > len(bodies) // 2
    for body in wrapped:
        for a, b in sentence_bounds(body):
            rest = body[b:].lstrip(" ")
            assert not (rest.startswith("\n") and rest[1:2].islower()), body[a:b]
