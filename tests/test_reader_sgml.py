"""The SGML/XML wire reader: Reuters-21578 stories, TREC documents and NewsML-ish XML.

The small inputs here are written for these tests in the shape of the real files; the corpus
itself is only read by the `shared` test at the end.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from searchkit.errors import ReadError
from searchkit.models import Article, Decoded, Source
from searchkit.readers import ReadWarning, reader_for
from searchkit.readers import sgml
from conftest import shared_path


def _source(text: str, path: str = "reut2-000.sgm") -> Source:
    return Source(path=path, decoded=Decoded(text, "cp1252", 1.0, "explicit"))


def _read(text: str, path: str = "reut2-000.sgm") -> tuple[list[Article], list[str]]:
    articles: list[Article] = []
    warnings: list[str] = []
    for item in sgml.read(text, _source(text, path)):
        if isinstance(item, ReadWarning):
            warnings.append(item.message)
        else:
            articles.append(item)
    return articles, warnings


def _story(
    newid: str | None = "7",
    *,
    date: str = "14-MAR-1987 09:30:12.45",
    text: str | None = None,
    topics: str = "<D>tin</D><D>zinc</D>",
    places: str = "<D>bolivia</D>",
    close: bool = True,
) -> str:
    attrs = 'TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="901"'
    if newid is not None:
        attrs += f' NEWID="{newid}"'
    if text is None:
        text = (
            "<TEXT>&#2;\n<TITLE>MINERS VOTE TO END STOPPAGE</TITLE>\n"
            "<DATELINE>    LA PAZ, March 14 - </DATELINE><BODY>Tin miners at two state pits agreed\n"
            "to go back to work on Monday, a union spokesman said.\n"
            "    The stoppage had cut output by a third.\n Reuter\n&#3;</BODY></TEXT>"
        )
    story = (
        f"<REUTERS {attrs}>\n<DATE>{date}</DATE>\n"
        f"<TOPICS>{topics}</TOPICS>\n<PLACES>{places}</PLACES>\n<PEOPLE></PEOPLE>\n"
        "<ORGS><D>itc</D></ORGS>\n<EXCHANGES><D>lme</D></EXCHANGES>\n<COMPANIES></COMPANIES>\n"
        "<UNKNOWN> \n&#5;&#5;&#5;M\n&#22;&#22;&#1;f0101&#31;reute\nu f BC-MINERS   03-14 0042</UNKNOWN>\n"
        f"{text}\n"
    )
    return story + ("</REUTERS>\n" if close else "")


HEADER = '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n'


# --- sniffing ---------------------------------------------------------------------------------


def test_sniff_recognises_reuters_trec_and_declared_xml_stories() -> None:
    assert sgml.sniff(HEADER + _story()[:200])
    assert sgml.sniff("<DOC>\n<DOCNO> AP-0001 </DOCNO>\n<TEXT>x</TEXT></DOC>")
    assert sgml.sniff('<?xml version="1.0"?>\n<stories><story id="a">')


def test_sniff_leaves_html_pages_and_plain_text_alone() -> None:
    assert not sgml.sniff("<!DOCTYPE html><html><body><article><h1>Hi</h1></article>")
    assert not sgml.sniff('<?xml version="1.0"?><html xmlns="x"><body><article>')
    assert not sgml.sniff("Just a story about a <DOC> tag in prose.")
    assert not sgml.sniff('{"title": "json"}')


def test_reader_for_claims_sgm_and_sniffs_an_unsuffixed_file() -> None:
    assert reader_for("archive/reut2-003.sgm", "") is sgml
    assert reader_for("wire/feed.dat", HEADER + _story()) is sgml


# --- Reuters stories --------------------------------------------------------------------------


def test_reuters_story_fields() -> None:
    articles, warnings = _read(HEADER + _story())
    assert warnings == []
    (article,) = articles
    assert article.id == "reut2-000.sgm#7"
    assert article.record_key == "7"
    assert article.title == "MINERS VOTE TO END STOPPAGE"
    assert article.dateline == "LA PAZ, March 14"
    assert article.body.startswith("Tin miners at two state pits agreed")
    assert article.body.endswith("The stoppage had cut output by a third.")
    assert article.keywords == ("tin", "zinc", "bolivia", "itc", "lme")
    assert article.source == "Reuters"
    assert article.language == "en"
    assert article.format == "sgml"
    assert article.path == "reut2-000.sgm"
    assert article.encoding == "cp1252"


def test_reuters_date_is_naive_to_the_hundredth_of_a_second() -> None:
    (article,), _ = _read(_story(date=" 3-MAR-1987 18:04:55.07"))
    assert article.date is not None
    assert article.date.value == datetime(1987, 3, 3, 18, 4, 55, 70000)
    assert article.date.value.tzinfo is None
    assert article.date.precision == "second"
    assert article.date.source == "sgml:DATE"
    assert not article.date.implausible


def test_junk_after_the_date_is_ignored() -> None:
    (article,), _ = _read(_story(date="20-MAR-1987 00:01:02.03&#5;&#5;&#5;XY"))
    assert article.date is not None and article.date.value == datetime(1987, 3, 20, 0, 1, 2, 30000)
    (article,), _ = _read(_story(date="9-APR-1987 00:00:00.00    # guessed by an editor "))
    assert article.date is not None and article.date.value == datetime(1987, 4, 9)


def test_impossible_day_keeps_the_month_and_is_flagged() -> None:
    (article,), _ = _read(_story(date="31-FEB-1987 10:00:00.00"))
    assert article.date is not None
    assert (article.date.value.year, article.date.value.month) == (1987, 2)
    assert article.date.precision == "month"
    assert article.date.implausible


def test_garbled_time_still_gives_the_day() -> None:
    (article,), _ = _read(_story(date="31-MAR-1987 605:12:19.12"))
    assert article.date is not None
    assert article.date.value == datetime(1987, 3, 31)
    assert article.date.precision == "day"


def test_unreadable_date_leaves_the_article_undated() -> None:
    (article,), _ = _read(_story(date="sometime in spring"))
    assert article.date is None
    assert article.title


def test_character_references_are_decoded_and_controls_dropped() -> None:
    text = (
        "<TEXT>&#2;\n<TITLE>&lt;ACME&gt; BUYS PARTS &amp; TOOLS MAKER</TITLE>\n"
        "<BODY>Acme Corp &lt;ACM.N> said it bought\x07 a maker of &#127;tools &#x2014; and parts.\n"
        "Widgets &unknownentity; stay; AT&T stays too.\n REUTER\n&#3;</BODY></TEXT>"
    )
    (article,), _ = _read(_story(text=text))
    assert article.title == "<ACME> BUYS PARTS & TOOLS MAKER"
    assert "Acme Corp <ACM.N> said it bought a maker of tools \u2014 and parts." in article.body
    assert "&unknownentity;" in article.body
    assert "AT&T" in article.body
    assert not any(ch in article.body for ch in "\x02\x03\x07\x7f")


def test_sign_off_variants_are_stripped_but_told_reuters_is_kept() -> None:
    for ending, expected in [
        ("the figures show.\n REUTER\n Reuter\n", "the figures show."),
        ("the figures show.\nREUTER...^M\n", "the figures show."),
        ("total 12.5 (11.0). REUTER\n", "total 12.5 (11.0)."),
        ("an official told\nReuters.\n", "an official told\nReuters."),
    ]:
        text = f"<TEXT><TITLE>T</TITLE><BODY>{ending}&#3;</BODY></TEXT>"
        (article,), _ = _read(_story(text=text))
        assert article.body == expected


def test_author_becomes_the_byline() -> None:
    text = (
        "<TEXT><TITLE>RATES OUTLOOK</TITLE>\n<AUTHOR>    By Jane Q. Writer, Reuters</AUTHOR>\n"
        "<DATELINE>    TOKYO, April 2 - </DATELINE><BODY>Dealers expect calm.\n Reuter\n&#3;</BODY></TEXT>"
    )
    (article,), _ = _read(_story(text=text))
    assert article.byline == "Jane Q. Writer"
    assert article.dateline == "TOKYO, April 2"


def test_brief_story_is_indexed_by_its_title() -> None:
    text = '<TEXT TYPE="BRIEF">&#2;\n******<TITLE>GRAIN STOCKS FELL IN WEEK, TRADE GROUP SAYS\n</TITLE>Blah blah blah.\n&#3;\n</TEXT>'
    (article,), warnings = _read(_story(text=text))
    assert warnings == []
    assert article.title == "GRAIN STOCKS FELL IN WEEK, TRADE GROUP SAYS"
    assert article.body == ""


def test_unproc_story_takes_its_first_line_as_title() -> None:
    text = (
        '<TEXT TYPE="UNPROC">&#2;\nHARBOUR TRAFFIC SUMMARY - MAR 14\n'
        "    Week ended Mar 13\n Ships in.........41 vs.....38\n Ships out........40 vs.....44\n"
        " Reuter\n&#3;\n</TEXT>"
    )
    (article,), _ = _read(_story(text=text))
    assert article.title == "HARBOUR TRAFFIC SUMMARY - MAR 14"
    assert article.body.startswith("Week ended Mar 13")
    assert "Ships out........40 vs.....44" in article.body
    assert "Reuter" not in article.body


def test_unproc_story_starting_with_a_table_row_gets_no_title() -> None:
    text = '<TEXT TYPE="UNPROC">&#2;\n 12.5 13.1 14.0 ..... 15.2\n 16.0 17.5\n&#3;\n</TEXT>'
    (article,), _ = _read(_story(text=text))
    assert article.title == ""
    assert article.body.startswith("12.5 13.1")


def test_story_without_newid_is_keyed_by_its_ordinal() -> None:
    articles, _ = _read(HEADER + _story("40") + _story(None) + _story("42"))
    assert [a.id for a in articles] == ["reut2-000.sgm#40", "reut2-000.sgm#2", "reut2-000.sgm#42"]


def test_empty_story_with_a_date_is_kept_for_its_metadata_with_a_warning() -> None:
    empty = '<TEXT TYPE="UNPROC">&#2;\n&#3;\n\n</TEXT>'
    articles, warnings = _read(_story("1") + _story("2", text=empty) + _story("3"))
    assert [a.record_key for a in articles] == ["1", "2", "3"]
    assert articles[1].title == articles[1].body == "" and articles[1].date is not None
    assert articles[1].keywords  # its topic and place lists survive
    assert warnings == ["story NEWID=2 has no title or text; indexed with its date and metadata only"]


def test_empty_story_without_a_date_is_skipped_with_a_warning() -> None:
    empty = '<TEXT TYPE="UNPROC">&#2;\n&#3;\n\n</TEXT>'
    articles, warnings = _read(_story("1") + _story("2", date="", text=empty) + _story("3"))
    assert [a.record_key for a in articles] == ["1", "3"]
    assert warnings == ["story NEWID=2 has no title or text; skipped"]


def test_duplicate_newid_keeps_the_first() -> None:
    second = "<TEXT><TITLE>SECOND TAKE</TITLE><BODY>Other words.</BODY></TEXT>"
    articles, warnings = _read(_story("5") + _story("5", text=second))
    assert [a.title for a in articles] == ["MINERS VOTE TO END STOPPAGE"]
    assert len(warnings) == 1 and "duplicate" in warnings[0] and "NEWID=5" in warnings[0]


def test_file_cut_mid_story_keeps_complete_stories_and_what_the_last_one_has() -> None:
    whole = HEADER + _story("10") + _story("11")
    cut = whole[: whole.index("The stoppage", whole.index('NEWID="11"'))]
    articles, warnings = _read(cut)
    assert [a.record_key for a in articles] == ["10", "11"]
    assert articles[1].title == "MINERS VOTE TO END STOPPAGE"
    assert articles[1].body == "Tin miners at two state pits agreed\nto go back to work on Monday, a union spokesman said."
    assert warnings == ["story NEWID=11 is cut off at the end of the file; kept what it has"]


def test_file_cut_before_any_text_warns_and_skips_the_stub() -> None:
    whole = _story("10") + _story("11")
    cut = whole[: whole.index("<TOPICS>", whole.index('NEWID="11"')) + 5]
    articles, warnings = _read(cut)
    assert [a.record_key for a in articles] == ["10"]
    assert warnings == ["story NEWID=11 is cut off at the end of the file; skipped"]


def test_story_missing_its_end_tag_mid_file_is_still_read() -> None:
    articles, warnings = _read(_story("1", close=False) + _story("2"))
    assert [a.record_key for a in articles] == ["1", "2"]
    assert warnings == ["story NEWID=1 has no end tag; kept what it has"]


def test_file_with_no_stories_is_a_read_error() -> None:
    with pytest.raises(ReadError) as caught:
        _read('<?xml version="1.0"?>\n<catalog><book>Nothing here</book></catalog>', "books.xml")
    assert caught.value.path == "books.xml"
    assert "no stories found" in str(caught.value)


# --- other dialects ---------------------------------------------------------------------------

TREC = """<DOC>
<DOCNO> NP-880412-0031 </DOCNO>
<HL> Ferry Line Adds &amp; Drops Routes </HL>
<DATE> 04/12/88 </DATE>
<BYLINE> By Sam Porter </BYLINE>
<DATELINE> HARWICH, England - </DATELINE>
<TEXT>
<P> The ferry operator added two summer crossings. </P>
<P> It dropped a winter route &lt;for now&gt;. </P>
</TEXT>
</DOC>
<DOC>
<DOCNO> NP-880412-0032 </DOCNO>
<HEADLINE> Second Item </HEADLINE>
<TEXT>First part.</TEXT>
<TEXT>Second part.</TEXT>
</DOC>
"""


def test_trec_documents_are_keyed_by_docno() -> None:
    articles, warnings = _read(TREC, "trec/np88.txt")
    assert warnings == []
    first, second = articles
    assert first.id == "trec/np88.txt#NP-880412-0031"
    assert first.title == "Ferry Line Adds & Drops Routes"
    assert first.byline == "Sam Porter"
    assert first.dateline == "HARWICH, England"
    assert first.body == "The ferry operator added two summer crossings.\n\nIt dropped a winter route <for now>."
    assert first.date is not None and first.date.value == datetime(1988, 4, 12)
    assert second.title == "Second Item"
    assert second.body == "First part.\n\nSecond part."


XML = """<?xml version="1.0" encoding="utf-8"?>
<stories>
  <story id="harbour-1" xml:lang="en">
    <headline>Harbour Dredging Starts</headline>
    <pubDate>2021-06-01T07:30:00+02:00</pubDate>
    <author>Ola Nordmann</author>
    <body><p>Work began at dawn.</p><p>It will last <em>six</em> weeks.</p></body>
    <keyword>ports</keyword><keyword>works</keyword>
  </story>
  <story>
    <title>Untitled Wire</title>
    <text><![CDATA[<p>Text in a CDATA section & more.</p>]]></text>
  </story>
</stories>
"""


def test_newsml_ish_xml_stories() -> None:
    articles, warnings = _read(XML, "feeds/harbour.xml")
    assert warnings == []
    first, second = articles
    assert first.id == "feeds/harbour.xml#harbour-1"
    assert first.title == "Harbour Dredging Starts"
    assert first.body == "Work began at dawn.\n\nIt will last six weeks."
    assert first.byline == "Ola Nordmann"
    assert first.language == "en"
    assert first.keywords == ("ports", "works")
    assert first.date is not None and first.date.source == "xml:pubDate"
    assert first.date.value.utcoffset() is not None
    assert second.id == "feeds/harbour.xml#2"
    assert second.body == "Text in a CDATA section & more."


# --- the real corpus --------------------------------------------------------------------------


@pytest.mark.shared
def test_all_of_reuters_21578() -> None:
    folder = shared_path("corpora", "reuters21578")
    files = sorted(folder.glob("reut2-*.sgm"))
    assert len(files) == 22
    articles: list[Article] = []
    warnings: list[str] = []
    for path in files:
        text = path.read_bytes().decode("cp1252", errors="replace")
        found, warned = _read(text, path.name)
        articles += found
        warnings += warned

    # NEWID 12793 is an UNPROC story whose text is empty: kept for its date, with a warning.
    assert warnings == ["story NEWID=12793 has no title or text; indexed with its date and metadata only"]
    assert len(articles) == 21_578
    assert len({a.id for a in articles}) == len(articles)
    assert sorted(int(a.record_key) for a in articles) == list(range(1, 21_579))
    assert [a.record_key for a in articles if not (a.title or a.body)] == ["12793"]
    # Every DATE in the corpus is usable; the one with a garbled time (NEWID 17192) keeps its day.
    undated = [a.id for a in articles if a.date is None]
    assert undated == []
    assert all(a.date is not None and a.date.value.year == 1987 and not a.date.implausible for a in articles)
    assert [a.record_key for a in articles if a.date is not None and a.date.precision != "second"] == ["17192"]
    assert not any(a.body.rstrip().endswith(("Reuter", "REUTER", "&#3;")) for a in articles)


def test_prose_that_mentions_wire_markup_is_not_sniffed_as_sgml() -> None:
    from searchkit.readers import sgml

    assert not sgml.sniff("# Notes\nEach story is a <REUTERS NEWID=...> element with <DATE> and <TITLE>.\n")
    assert sgml.sniff('<!DOCTYPE lewis SYSTEM "lewis.dtd">\n<REUTERS TOPICS="YES" NEWID="1">')
