"""The analyzer: one chain for index, query and highlight time."""

from __future__ import annotations

from searchkit.analysis import NewsTokenizer, terms


def test_stems_fold_case_and_accents() -> None:
    assert terms("Talks TALKED talking") == ["talk", "talk", "talk"]
    assert terms("Café CAFE café") == ["cafe", "cafe", "cafe"]


def test_nfkc_full_width_letters_meet_ascii() -> None:
    assert terms("ＴＯＫＹＯ") == terms("Tokyo")


def test_stop_words_are_dropped_without_a_position_gap() -> None:
    tokens = [(t.text, t.pos) for t in NewsTokenizer()("the joint and the headquarters", positions=True)]
    assert tokens == [("joint", 0), ("headquart", 1)]


def test_cjk_runs_become_overlapping_bigrams() -> None:
    assert terms("日本語") == ["日本", "本語"]
    assert {"日本", "本語"} <= set(terms("私は日本語を勉強します"))
    assert terms("防") == ["防"]


def test_offsets_point_into_the_original_text() -> None:
    text = "Ｔｏｋｙｏ talks 日本語"
    for token in NewsTokenizer()(text, chars=True):
        span = text[token.startchar : token.endchar]
        assert span  # every token maps back to a non-empty slice of the original
    spans = [text[t.startchar : t.endchar] for t in NewsTokenizer()(text, chars=True)]
    assert spans == ["Ｔｏｋｙｏ", "talks", "日本", "本語"]


def test_wildcard_text_is_folded_but_not_stemmed() -> None:
    tokens = [t.text for t in NewsTokenizer()("Headquarters", tokenize=False)]
    assert tokens == ["headquarters"]
