"""The JSON reader: JSON Lines, arrays and single objects from scraper exports."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from searchkit.errors import ReadError
from searchkit.models import Article, Decoded, Source
from searchkit.readers import ReadWarning, jsonl, reader_for


def _read(text: str, path: str = "dump.jsonl") -> tuple[list[Article], list[str]]:
    source = Source(path=path, decoded=Decoded(text, "utf-8", 1.0, "explicit"))
    articles: list[Article] = []
    warnings: list[str] = []
    for item in jsonl.read(text, source):
        if isinstance(item, ReadWarning):
            warnings.append(item.message)
        else:
            articles.append(item)
    return articles, warnings


def _lines(*records: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


# --- sniffing ---------------------------------------------------------------------------------


def test_sniff_wants_an_object_or_array_first() -> None:
    assert jsonl.sniff('{"title": "x"}')
    assert jsonl.sniff("\ufeff  \n[{}]")
    assert not jsonl.sniff("<html>")
    assert not jsonl.sniff("Title: {braces} later")
    assert not jsonl.sniff("")


def test_reader_for_claims_every_json_suffix() -> None:
    for name in ("a.jsonl", "a.ndjson", "a.JSON", "a.jsonlines"):
        assert reader_for(name, "") is jsonl


# --- JSON Lines -------------------------------------------------------------------------------


def test_news_please_record() -> None:
    record = {
        "title": "Bridge Reopens After Repairs",
        "title_page": "Bridge Reopens After Repairs | City News",
        "description": "A short teaser.",
        "maintext": "The bridge reopened on Monday.\n\nTraffic was light.",
        "date_publish": "2019-05-06 08:15:00",
        "date_modify": "2019-05-07 09:00:00",
        "authors": ["Kim Lee", "Ravi Patel"],
        "source_domain": "citynews.example",
        "url": "https://citynews.example/bridge",
        "language": "en",
    }
    (article,), warnings = _read(_lines(record), "crawl/news.jsonl")
    assert warnings == []
    assert article.id == "crawl/news.jsonl#1"
    assert article.title == "Bridge Reopens After Repairs"
    assert article.body == "The bridge reopened on Monday.\n\nTraffic was light."
    assert article.byline == "Kim Lee, Ravi Patel"
    assert article.source == "citynews.example"
    assert article.url == "https://citynews.example/bridge"
    assert article.language == "en"
    assert article.format == "json"
    assert article.date is not None
    assert article.date.value == datetime(2019, 5, 6, 8, 15)
    assert article.date.source == "json:date_publish"


def test_record_key_is_the_line_number_or_the_records_id() -> None:
    text = _lines({"title": "a"}, {"id": "x-9", "title": "b"}) + "\n" + _lines(
        {"_id": {"$oid": "65aa"}, "title": "c"}, {"uuid": 17, "title": "d"}, {"title": "e"}
    )
    articles, warnings = _read(text)
    assert warnings == []
    assert [a.id for a in articles] == ["dump.jsonl#1", "dump.jsonl#x-9", "dump.jsonl#65aa", "dump.jsonl#17", "dump.jsonl#6"]


def test_broken_lines_warn_with_their_line_numbers_and_the_rest_is_read() -> None:
    text = _lines(
        {"title": "first", "text": "one"},
        '{"title": "broken", "text": "no close"',
        "42",
        '"just a string"',
        "[1, 2]",
        {"url": "https://example.org/only-a-url"},
        {"title": "  ", "body": ""},
        {"title": "last", "text": "two"},
    ) + '{"title": "cut off at the e'
    articles, warnings = _read(text)
    assert [a.title for a in articles] == ["first", "last"]
    assert [a.record_key for a in articles] == ["1", "8"]
    assert warnings[0].startswith("line 2: not valid JSON")
    assert warnings[1:] == [
        "line 3: expected a JSON object, found a number",
        "line 4: expected a JSON object, found a string",
        "line 5: expected a JSON object, found an array",
        "line 6: no title or body",
        "line 7: no title or body",
        "line 9: cut off at the end of the file",
    ]


def test_first_line_broken_is_a_warning_not_a_failure() -> None:
    articles, warnings = _read('{"title": \n' + _lines({"title": "ok"}))
    assert [a.record_key for a in articles] == ["2"]
    assert len(warnings) == 1 and warnings[0].startswith("line 1:")


def test_duplicate_ids_keep_the_first_record() -> None:
    articles, warnings = _read(_lines({"id": 5, "title": "first"}, {"id": "5", "title": "second"}))
    assert [a.title for a in articles] == ["first"]
    assert warnings == ["line 2: duplicate id '5' (first seen at line 1); skipped"]


def test_crlf_lines_and_a_bom() -> None:
    text = "\ufeff" + json.dumps({"title": "a"}) + "\r\n" + json.dumps({"title": "b"}) + "\r\n"
    articles, warnings = _read(text)
    assert warnings == []
    assert [a.id for a in articles] == ["dump.jsonl#1", "dump.jsonl#2"]


def test_raw_line_separator_inside_a_string_does_not_split_the_record() -> None:
    text = '{"title": "a\u2028b", "text": "c\u0085d"}\n'
    (article,), warnings = _read(text)
    assert warnings == []
    assert article.record_key == "1"


# --- key-name variants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "field", "expected"),
    [
        ({"headline": "H", "articleBody": "B"}, "title", "H"),
        ({"title_page": "T", "text": "B"}, "title", "T"),
        ({"title": "T", "content": "from content"}, "body", "from content"),
        ({"title": "T", "description": "teaser", "text": "full"}, "body", "full"),
        ({"title": "T", "description": "teaser only"}, "body", "teaser only"),
        ({"title": "T", "maintext": None, "description": "fallback"}, "body", "fallback"),
        ({"title": "T", "link": "https://e.org/a"}, "url", "https://e.org/a"),
        ({"title": "T", "source_url": "https://e.org/b"}, "url", "https://e.org/b"),
        ({"title": "T", "author": "Ann Bee"}, "byline", "Ann Bee"),
        ({"title": "T", "byline": "By Cee Dee"}, "byline", "By Cee Dee"),
        ({"title": "T", "author": [{"@type": "Person", "name": "E F"}, {"name": "G H"}]}, "byline", "E F, G H"),
        ({"title": "T", "site_name": "Daily"}, "source", "Daily"),
        ({"title": "T", "publisher": {"name": "Weekly"}}, "source", "Weekly"),
        ({"title": "T", "source": {"id": None, "name": "Wire"}}, "source", "Wire"),
        ({"title": "T", "source": "https://www.paper.example/x/y"}, "source", "www.paper.example"),
        ({"title": "T", "section": "Sport"}, "section", "Sport"),
        ({"title": "T", "category": "Arts"}, "section", "Arts"),
        ({"title": "T", "lang": "de"}, "language", "de"),
        ({"Title": "Capitalised", "Text": "keys"}, "title", "Capitalised"),
    ],
)
def test_key_name_variants(record: dict[str, Any], field: str, expected: str) -> None:
    (article,), warnings = _read(_lines(record))
    assert warnings == []
    assert getattr(article, field) == expected


@pytest.mark.parametrize(
    ("record", "keywords"),
    [
        ({"title": "T", "keywords": ["rail", "strike", "rail"]}, ("rail", "strike")),
        ({"title": "T", "keywords": "rail, strike ,  ports"}, ("rail", "strike", "ports")),
        ({"title": "T", "tags": ["a"], "topics": ["b"]}, ("a",)),
        ({"title": "T", "topics": ["economy"]}, ("economy",)),
    ],
)
def test_keywords_from_lists_or_comma_strings(record: dict[str, Any], keywords: tuple[str, ...]) -> None:
    (article,), _ = _read(_lines(record))
    assert article.keywords == keywords


@pytest.mark.parametrize(
    ("record", "expected", "source"),
    [
        ({"title": "T", "date": "2020-02-03"}, datetime(2020, 2, 3), "json:date"),
        ({"title": "T", "published_at": "2021-07-08T10:00:00Z"}, datetime(2021, 7, 8, 10, tzinfo=timezone.utc), "json:published_at"),
        ({"title": "T", "pubDate": "Tue, 02 Mar 2021 06:00:00 GMT"}, datetime(2021, 3, 2, 6, tzinfo=timezone.utc), "json:pubDate"),
        ({"title": "T", "datePublished": 1600000000}, datetime.fromtimestamp(1600000000, timezone.utc), "json:datePublished"),
        ({"title": "T", "published": "1600000000000"}, datetime.fromtimestamp(1600000000, timezone.utc), "json:published"),
        ({"title": "T", "date_modify": "2018-01-01", "date_publish": "2017-12-31"}, datetime(2017, 12, 31), "json:date_publish"),
        ({"title": "T", "date_publish": "not a date", "date_modify": "2018-01-01"}, datetime(2018, 1, 1), "json:date_modify"),
        ({"title": "T", "date": {"$date": "2022-04-05T00:00:00Z"}}, datetime(2022, 4, 5, tzinfo=timezone.utc), "json:date"),
    ],
)
def test_date_key_variants(record: dict[str, Any], expected: datetime, source: str) -> None:
    (article,), _ = _read(_lines(record))
    assert article.date is not None
    assert article.date.value == expected
    assert article.date.source == source


def test_record_without_a_usable_date_is_undated() -> None:
    (article,), _ = _read(_lines({"title": "T", "date": "someday", "published": True}))
    assert article.date is None


def test_html_in_a_content_field_is_reduced_to_text() -> None:
    (article,), _ = _read(_lines({"title": "T", "content": "<p>One &amp; two.</p><p>Three <b>four</b>.</p>"}))
    assert article.body == "One & two.\n\nThree four."


def test_control_characters_are_dropped() -> None:
    (article,), _ = _read(_lines({"title": "Bell\u0007 and \u202eflip", "text": "a\u0000b"}))
    assert article.title == "Bell and flip"
    assert article.body == "ab"


# --- whole-file JSON --------------------------------------------------------------------------


def test_json_array_is_keyed_by_index() -> None:
    text = json.dumps([{"title": "a"}, {"title": "b", "id": "k"}, {"title": "c"}], indent=2)
    articles, warnings = _read(text, "export.json")
    assert warnings == []
    assert [a.id for a in articles] == ["export.json#1", "export.json#k", "export.json#3"]


def test_json_array_with_bad_items_warns_per_item() -> None:
    articles, warnings = _read(json.dumps([{"title": "a"}, 7, {"nothing": 1}, {"title": "d"}]), "export.json")
    assert [a.record_key for a in articles] == ["1", "4"]
    assert warnings == ["item 2: expected a JSON object, found a number", "item 3: no title or body"]


def test_json_array_cut_off_keeps_the_items_before_the_cut() -> None:
    full = json.dumps([{"title": "a"}, {"title": "b"}, {"title": "c", "text": "long text"}], indent=1)
    articles, warnings = _read(full[: full.index("long")], "export.json")
    assert [a.title for a in articles] == ["a", "b"]
    assert len(warnings) == 1
    assert warnings[0].startswith("item 3 (line ") and "cut off at the end of the file" in warnings[0]


def test_single_object_is_one_article() -> None:
    (article,), _ = _read(json.dumps({"headline": "Only one", "articleBody": "Text."}, indent=2), "one.json")
    assert article.id == "one.json#1"
    assert article.title == "Only one"


def test_wrapper_object_holding_an_array() -> None:
    text = json.dumps({"status": "ok", "totalResults": 2, "articles": [{"title": "a"}, {"title": "b"}]})
    articles, _ = _read(text, "api.json")
    assert [a.id for a in articles] == ["api.json#1", "api.json#2"]


def test_json_file_that_is_really_json_lines() -> None:
    articles, warnings = _read(_lines({"title": "a"}, "{oops", {"title": "c"}), "mislabelled.json")
    assert [a.id for a in articles] == ["mislabelled.json#1", "mislabelled.json#3"]
    assert len(warnings) == 1 and warnings[0].startswith("line 2: not valid JSON")


def test_pretty_printed_object_in_a_jsonl_file() -> None:
    (article,), warnings = _read(json.dumps({"title": "pretty"}, indent=2), "odd.jsonl")
    assert warnings == []
    assert article.title == "pretty"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("this is not json", "notes.json"),
        ('{"title": "half', "half.json"),
        ("[{", "cut.json"),
        ("", "empty.jsonl"),
        ("42", "number.json"),
        ('{"name": "package", "version": "1.0"}', "package.json"),
    ],
)
def test_files_with_no_json_articles_are_read_errors(text: str, path: str) -> None:
    with pytest.raises(ReadError) as caught:
        _read(text, path)
    assert caught.value.path == path
