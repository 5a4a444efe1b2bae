"""The JSON reader: JSON Lines dumps and JSON files of scraped articles → one Article per object.

A file is read in one of three shapes, whatever its suffix says:

- **JSON Lines** — one object per line (`.jsonl`, `.ndjson`, and `.json` files that are really
  JSONL). A broken line — truncated, not an object, or with neither title nor body — becomes a
  `ReadWarning("line N: …")` and the rest of the file is read.
- **an array** of objects — read element by element with `raw_decode`, so an array cut off at the
  end of the file still gives up every element before the cut.
- **a single object** — one article, or a wrapper such as `{"articles": [...]}` holding the array.

Scrapers disagree on key names (news-please `maintext`/`date_publish`, newspaper `text`/
`publish_date`, trafilatura `raw_text`/`sitename`, schema.org `headline`/`articleBody`,
NewsAPI `source: {"name": …}`), so each field is looked up through an ordered list of names, the
first non-empty value winning. The record key is the object's `id` (`_id`, `uuid`, `guid`) when it
has one, else its ordinal: the 1-based line number in JSONL, the 1-based index in an array.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Iterator
from urllib.parse import urlsplit

from ..dates import parse_date
from ..errors import ReadError
from ..models import ParsedDate, Source
from . import ReadItem, ReadWarning, clean_line, make_article

NAME = "json"
SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonlines")
_LINE_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")


def sniff(head: str) -> bool:
    """JSON or JSON Lines: the text opens (after a BOM and whitespace) with `{` or `[`."""
    return head.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


# --- field names, in order of preference ---------------------------------------------------------

_TITLE_KEYS = ("title", "headline", "title_page", "title_rss", "name")
# Publication first; a modification date only when nothing says when the story came out.
_DATE_KEYS = (
    "date_publish", "datepublished", "published", "published_at", "publishedat", "publish_date",
    "pubdate", "published_date", "date", "created_at", "date_modify", "datemodified", "modified",
    "updated", "updated_at",
)
# Full text before summaries: a description is a teaser, not the story.
_BODY_KEYS = (
    "maintext", "articlebody", "body", "text", "content", "raw_text", "fulltext", "full_text",
    "description", "summary", "excerpt", "abstract",
)
_URL_KEYS = ("url", "link", "source_url", "canonical_url", "uri")
_AUTHOR_KEYS = ("authors", "author", "byline", "creator", "by")
_SOURCE_KEYS = ("source", "source_domain", "site", "site_name", "sitename", "publisher", "source_name", "hostname")
_SECTION_KEYS = ("section", "category", "categories", "articlesection", "section_name")
_LANGUAGE_KEYS = ("language", "lang", "inlanguage", "meta_lang")
_KEYWORD_KEYS = ("keywords", "tags", "topics", "meta_keywords", "news_keywords")
_DATELINE_KEYS = ("dateline",)
_ID_KEYS = ("id", "_id", "uuid", "guid")
# Keys under which a wrapper object holds the real array of articles.
_WRAPPER_KEYS = ("articles", "items", "data", "results", "records", "stories", "posts", "documents", "docs")

_TAGS = re.compile(r"<[^<>]*>")
_BLOCK_TAGS = re.compile(r"</?(?:p|br|div|li|h[1-6]|blockquote)\b[^<>]*>", re.IGNORECASE)
_LOOKS_HTML = re.compile(r"</?(?:p|br|div|span|a|em|strong|li)\b[^<>]*>", re.IGNORECASE)


def _text(value: Any) -> str:
    """A field's value as text: names pulled out of schema.org/NewsAPI objects, lists joined."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        for key in ("name", "@value", "value", "text", "$oid", "#text"):
            if key in value:
                return _text(value[key])
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(t for t in (clean_line(_text(v)) for v in value) if t)
    return ""


def _pick(record: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any]:
    """The first of `keys` with a non-empty value, as (key as written in the record, value)."""
    for key in keys:
        written = record.get(key)
        if written is None:
            continue
        value = record[written]
        if value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, str) and not value.strip():
            continue
        return written, value
    return "", None


def _body_text(value: Any) -> str:
    text = "\n\n".join(_text(v) for v in value) if isinstance(value, list) else _text(value)
    # Some scrapers keep the page's HTML in `content`; markup would pollute the index and snippets.
    if "<" in text and _LOOKS_HTML.search(text):
        import html

        text = html.unescape(_TAGS.sub("", _BLOCK_TAGS.sub("\n\n", text)))
    return text


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [k for k in (clean_line(part) for part in re.split(r"[,;]", value)) if k]
    if isinstance(value, list):
        return [k for k in (clean_line(_text(v)) for v in value) if k]
    text = clean_line(_text(value))
    return [text] if text else []


def _source_name(value: Any) -> str:
    text = clean_line(_text(value))
    # trafilatura's `source` is the page's URL: its host names the source better.
    if re.match(r"https?://", text):
        return urlsplit(text).hostname or text
    return text


def _date(record: dict[str, Any]) -> ParsedDate | None:
    for key in _DATE_KEYS:
        written = record.get(key)
        if written is None:
            continue
        value = record[written]
        if isinstance(value, dict):
            value = _text(value)  # {"$date": …} exports are handled below
            if not value:
                raw = record[written]
                value = raw.get("$date") if isinstance(raw, dict) else None
                if isinstance(value, dict):
                    value = value.get("$numberLong")
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()) and len(value.strip()) < 9:
            continue  # a bare small number is no date
        parsed = parse_date(value, f"json:{written}") if isinstance(value, (str, int, float)) else None
        if parsed is not None:
            return parsed
    return None


def _record_key(record: dict[str, Any]) -> str:
    _, value = _pick(record, _ID_KEYS)
    return clean_line(_text(value)) if value is not None else ""


# --- records ----------------------------------------------------------------------------------


class _Skip(Exception):
    """A record that cannot become an article; the message is the reason."""


def _article_fields(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _Skip(f"expected a JSON object, found {_kind(obj)}")
    # Scrapers differ in case (`datePublished`, `Title`): look keys up lowered, keep them as written.
    record = {str(k).lower(): k for k in obj}
    lowered = {"__record__": obj}
    _, title = _pick(record_with(obj, record), _TITLE_KEYS)
    _, body = _pick(record_with(obj, record), _BODY_KEYS)
    del lowered
    title_text = clean_line(_text(title))
    body_text = _body_text(body)
    if not title_text and not body_text.strip():
        raise _Skip("no title or body")
    view = record_with(obj, record)
    _, keywords = _pick(view, _KEYWORD_KEYS)
    _, source = _pick(view, _SOURCE_KEYS)
    return {
        "title": title_text,
        "body": body_text,
        "date": _date(view),
        "url": _text(_pick(view, _URL_KEYS)[1]),
        "byline": _text(_pick(view, _AUTHOR_KEYS)[1]),
        "source": _source_name(source) if source is not None else "",
        "section": _text(_pick(view, _SECTION_KEYS)[1]),
        "language": _text(_pick(view, _LANGUAGE_KEYS)[1]),
        "dateline": _text(_pick(view, _DATELINE_KEYS)[1]),
        "keywords": _keywords(keywords) if keywords is not None else [],
        "key": _record_key(view),
    }
