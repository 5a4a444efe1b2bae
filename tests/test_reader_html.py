"""The HTML reader: metadata from meta tags / JSON-LD / <time>, body without chrome, failures contained."""

from __future__ import annotations

import gzip
import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest

from searchkit.errors import ReadError
from searchkit.models import Article, Decoded, Source
from searchkit.readers import html, reader_for

from tests.conftest import shared_path

STORY = [
    "The harbour authority approved a plan on Tuesday to dredge the northern channel, ending a dispute "
    "that had kept larger ferries away from the old town for almost three years.",
    "Engineers expect the work to take eleven weeks. Fishing boats will be moved to a temporary mooring "
    "beside the grain terminal, and the evening ferry will run from the south pier until spring.",
    "Residents who opposed the first proposal said the revised version answered their concerns about "
    "silt drifting onto the beaches, because the spoil will now be carried out to sea by barge.",
    "The council will publish a timetable for the closures next month, after talks with the ferry "
    "operators and the sailing club about the regatta weekend in early June.",
]

CHROME = """
<header><nav class="main-nav"><ul>
  <li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
  <li><a href="/weather">Weather forecast for the whole region</a></li></ul></nav></header>
<div class="ad-container ad-leaderboard"><p>ADVERT Buy discount garden furniture today only</p></div>
"""

RELATED = """
<aside class="related-stories"><h3>Related stories</h3><ul>
  <li><a href="/a">Lighthouse keeper retires after forty years of service</a></li>
  <li><a href="/b">New cycle lane opens along the promenade next week</a></li></ul></aside>
<footer class="site-footer"><p>Copyright Harbour Gazette. All rights reserved. Contact us.</p></footer>
"""


def page(head: str = "", body_top: str = "", paragraphs: list[str] | None = None, *, lang: str = "en") -> str:
    text = "".join(f"<p>{p}</p>" for p in (STORY if paragraphs is None else paragraphs))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>{CHROME}'
        f'<main><article><h1>Harbour channel to be dredged</h1>{body_top}'
        f'<div class="article-body">{text}</div></article></main>{RELATED}</body></html>'
    )


def read_one(text: str, path: str = "site/story.html") -> Article:
    items = list(html.read(text, Source(path=path, decoded=Decoded(text, "utf-8", 1.0, "explicit"))))
    assert len(items) == 1 and isinstance(items[0], Article)
    return items[0]


# --- body ------------------------------------------------------------------------------------


def test_body_keeps_the_story_as_one_paragraph_per_line() -> None:
    article = read_one(page())
    assert article.body.split("\n") == STORY
    assert article.format == "html"
    assert article.id == "site/story.html" and article.record_key == ""


def test_body_drops_navigation_ads_related_links_and_footer() -> None:
    body = read_one(page()).body
    chrome = ("Weather forecast", "ADVERT", "garden furniture", "Related stories", "Lighthouse keeper", "Copyright")
    for text in chrome:
        assert text not in body


def test_headline_is_not_repeated_as_the_first_body_line() -> None:
    # The headline sits inside the body container, so the extractor keeps it as a first line.
    headline = "<b>Harbour channel to be dredged</b>"
    text = page("<title>Harbour channel to be dredged</title>", paragraphs=[headline, *STORY])
    article = read_one(text.replace("<h1>Harbour channel to be dredged</h1>", ""))
    assert article.title == "Harbour channel to be dredged"
    assert article.body.split("\n") == STORY


def test_story_split_over_identical_containers_around_an_ad_is_read_whole() -> None:
    first, second = STORY[:2], STORY[2:]
    text = (
        "<!DOCTYPE html><html><head><title>Split story</title></head><body><main><article>"
        '<div class="row"><div class="article__body">' + "".join(f"<p>{p}</p>" for p in first) + "</div></div>"
        '<div class="row"><div class="ad-slot">Advertisement</div></div>'
        '<div class="row"><div class="article__body">' + "".join(f"<p>{p}</p>" for p in second) + "</div></div>"
        "</article></main></body></html>"
    )
    assert read_one(text).body.split("\n") == STORY


def test_containers_with_story_text_between_them_are_not_reordered() -> None:
    # A pull quote between two body sections is part of the story and must stay in place.
    quote = "A quoted resident said the new plan listens to the people who actually live along the beach."
    text = (
        "<!DOCTYPE html><html><head><title>Quoted story</title></head><body><main><article>"
        '<section class="article__content">' + "".join(f"<p>{p}</p>" for p in STORY[:2]) + "</section>"
        f'<section class="article__quote"><blockquote><p>{quote}</p><p>{quote}</p></blockquote></section>'
        '<section class="article__content">' + "".join(f"<p>{p}</p>" for p in STORY[2:]) + "</section>"
        "</article></main></body></html>"
    )
    body = read_one(text).body
    assert body.index(STORY[1]) < body.index(quote) < body.index(STORY[2])


# --- title -----------------------------------------------------------------------------------


def test_title_prefers_og_title_and_trims_the_site_name() -> None:
    head = (
        '<meta property="og:site_name" content="Harbour Gazette">'
        '<meta property="og:title" content="Channel dredging approved | Harbour Gazette">'
        "<title>Harbour channel to be dredged - News - Harbour Gazette</title>"
    )
    article = read_one(page(head))
    assert article.title == "Channel dredging approved"
    assert article.source == "Harbour Gazette"


def test_title_trims_a_site_name_known_only_from_the_canonical_host() -> None:
    head = (
        '<link rel="canonical" href="https://www.harbourgazette.com/news/1">'
        "<title>Dredging plan | HarbourGazette.com</title>"
    )
    text = page(head).replace("<h1>Harbour channel to be dredged</h1>", "")
    assert read_one(text).title == "Dredging plan"


def test_title_keeps_separators_that_are_part_of_the_headline() -> None:
    head = (
        '<meta property="og:site_name" content="Harbour Gazette">'
        '<meta property="og:title" content="Ferries - and fishing boats - must move">'
    )
    assert read_one(page(head)).title == "Ferries - and fishing boats - must move"


def test_title_falls_back_to_json_ld_headline_then_h1() -> None:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Dredging plan wins approval"}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    assert read_one(page(head)).title == "Dredging plan wins approval"
    assert read_one(page()).title == "Harbour channel to be dredged"


# --- date ------------------------------------------------------------------------------------


def test_date_from_article_published_time_keeps_its_offset() -> None:
    head = '<meta property="article:published_time" content="2024-03-05T14:30:00+09:00">'
    date = read_one(page(head)).date
    assert date is not None
    assert date.isoformat() == "2024-03-05T14:30:00+09:00"
    assert date.source == "meta:article:published_time"


def test_date_from_json_ld_date_published_in_a_graph() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Harbour Gazette"},
            {"@type": "NewsArticle", "datePublished": "2023-11-19T08:05:00-05:00", "author": {"name": "Ann Reed"}},
        ],
    }
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    article = read_one(page(head))
    assert article.date is not None and article.date.isoformat() == "2023-11-19T08:05:00-05:00"
    assert article.date.source == "json-ld:datePublished"


def test_broken_json_ld_is_ignored() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
    assert read_one(page(head)).title == "Harbour channel to be dredged"


def test_date_from_time_element() -> None:
    top = '<time datetime="2022-07-01T06:00:00+01:00">1 July 2022</time>'
    date = read_one(page(body_top=top)).date
    assert date is not None and date.isoformat() == "2022-07-01T06:00:00+01:00"
    assert date.source == "time-element"


def test_date_from_itemprop_date_published() -> None:
    top = '<span itemprop="datePublished" content="2021-02-03T10:00:00Z">3 Feb</span>'
    date = read_one(page(body_top=top)).date
    assert date is not None and date.value.utcoffset() is not None and date.value.utcoffset().total_seconds() == 0
    assert date.source == "itemprop:datePublished"


def test_meta_date_wins_over_a_time_element() -> None:
    head = '<meta property="article:published_time" content="2024-03-05T14:30:00+09:00">'
    top = '<time datetime="2020-01-01T00:00:00Z">old</time>'
    assert read_one(page(head, top)).date.source == "meta:article:published_time"  # type: ignore[union-attr]


# --- other metadata --------------------------------------------------------------------------


def test_byline_url_language_keywords_and_section() -> None:
    head = (
        '<meta name="author" content="Ann Reed">'
        '<link rel="canonical" href="https://gazette.example/news/dredging">'
        '<meta name="keywords" content="harbour, ferries, dredging">'
        '<meta property="article:tag" content="council">'
        '<meta property="article:section" content="Local news">'
    )
    article = read_one(page(head, lang="en-GB"))
    assert article.byline == "Ann Reed"
    assert article.url == "https://gazette.example/news/dredging"
    assert article.language == "en"
    assert article.keywords == ("harbour", "ferries", "dredging", "council")
    assert article.section == "Local news"


def test_byline_from_json_ld_author() -> None:
    ld = {"@type": "NewsArticle", "author": [{"@type": "Person", "name": "Ann Reed"}]}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    assert "Ann Reed" in read_one(page(head)).byline


# --- sniffing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        "<!DOCTYPE html><html><head>",
        "\ufeff  \n<html lang='en'>",
        "<!-- saved from url=(0042)https://example.org/ -->\n<!doctype HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">",
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">',
        "<!-- a comment --><head><title>x</title></head>",
    ],
)
def test_sniff_accepts_html_documents(head: str) -> None:
    assert html.sniff(head)


@pytest.mark.parametrize(
    "head",
    [
        "",
        "Plain text that mentions <html> later on",
        '{"title": "json"}',
        "<!DOCTYPE lewis SYSTEM \"lewis.dtd\">",
        '<?xml version="1.0"?><rss version="2.0">',
        "<REUTERS TOPICS=\"YES\">",
    ],
)
def test_sniff_rejects_other_formats(head: str) -> None:
    assert not html.sniff(head)


def test_registry_picks_the_html_reader_by_suffix() -> None:
    assert reader_for("a/b/page.HTM", "") is html


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n", "<html><head></head><body></body></html>"])
def test_page_without_title_or_text_raises_read_error(text: str) -> None:
    with pytest.raises(ReadError, match="no article text found in HTML"):
        read_one(text)


def test_page_with_only_a_title_still_yields_an_article() -> None:
    article = read_one("<html><head><title>Notice of closure</title></head><body></body></html>")
    assert article.title == "Notice of closure" and article.body == ""


def test_ten_thousand_levels_of_nesting_do_not_crash() -> None:
    nested = "<div>" * 10_000 + "<p>buried text</p>" + "</div>" * 10_000
    with pytest.raises(ReadError):
        read_one(f"<html><body>{nested}</body></html>")
    # With a title the page still counts, whatever the parser kept of the nesting.
    assert read_one(f"<html><head><title>Deep</title></head><body>{nested}</body></html>").title == "Deep"


def test_large_table_is_read() -> None:
    rows = "".join(f"<tr><td>row {i}</td><td>{i * 7}</td><td>stop {i % 13}</td></tr>" for i in range(2000))
    text = f"<html><head><title>Timetable</title></head><body><h1>Timetable</h1><table>{rows}</table></body></html>"
    article = read_one(text)
    assert article.title == "Timetable"
    assert "row 1999" in article.body


@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth exceeded"), ValueError("bad\nmultiline")])
def test_library_failures_become_one_line_read_errors(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def explode(*args: object, **kwargs: object) -> str:
        raise error

    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", explode)
    with pytest.raises(ReadError) as caught:
        read_one(page(), path="bad.html")
    assert caught.value.path == "bad.html"
    assert "\n" not in str(caught.value)


# --- the real benchmark, a handful of pages ----------------------------------------------------


def _benchmark_module():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "extraction.py"
    spec = importlib.util.spec_from_file_location("extraction_benchmark", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.mark.shared
def test_mean_f1_on_ten_benchmark_pages() -> None:
    corpus = shared_path("corpora", "article-extraction-benchmark")
    bench = _benchmark_module()
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    scores = []
    for key in sorted(truth)[::18][:10]:
        with gzip.open(corpus / "html" / f"{key}.html.gz", "rt", encoding="utf-8") as handle:
            text = handle.read()
        article = read_one(text, path=f"html/{key}.html.gz")
        scores.append(bench.page_f1(truth[key]["articleBody"], article.body))
    assert len(scores) == 10
    assert statistics.mean(scores) >= 0.9
