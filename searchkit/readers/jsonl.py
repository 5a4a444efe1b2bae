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
from dataclasses import dataclass, replace
from html import unescape
from typing import Any, Iterator
from urllib.parse import urlsplit

from ..dates import parse_date
from ..errors import ReadError
from ..models import Article, ParsedDate, Source
from . import ReadItem, ReadWarning, clean_line, make_article

NAME = "json"
SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonlines")
_LINE_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")


def sniff(head: str) -> bool:
    """JSON or JSON Lines: the text opens (after a BOM and whitespace) with `{` or `[`."""
    return head.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


# --- field names, in order of preference ---------------------------------------------------------

_TITLE_KEYS = ("title", "headline", "title_page", "title_rss")
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
_WHITESPACE = re.compile(r"[ \t\r\n]*")


def _kind(value: Any) -> str:
    """How a JSON value is named in warnings."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or (isinstance(value, str) and not value.strip())


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
    if isinstance(value, list):
        return ", ".join(t for t in (clean_line(_text(v)) for v in value) if t)
    return ""


class _Record:
    """One JSON object, its keys looked up case-insensitively (`datePublished`, `Title`)."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self.names: dict[str, str] = {}
        for name in obj:
            self.names.setdefault(str(name).lower(), name)

    def pick(self, keys: tuple[str, ...]) -> tuple[str, Any]:
        """The first of `keys` with a non-empty value, as (key as written, value); ("", None) if none."""
        for key in keys:
            name = self.names.get(key)
            if name is not None and not _empty(self.obj[name]):
                return str(name), self.obj[name]
        return "", None

    def text(self, keys: tuple[str, ...]) -> str:
        return _text(self.pick(keys)[1])

    def date(self) -> ParsedDate | None:
        """The first date among `_DATE_KEYS` that parses: a broken `date_publish` falls through."""
        for key in _DATE_KEYS:
            name = self.names.get(key)
            if name is None:
                continue
            value = self.obj[name]
            if isinstance(value, dict):
                # MongoDB exports: {"$date": "…"} or {"$date": {"$numberLong": "…"}}.
                value = value.get("$date", _text(value))
                if isinstance(value, dict):
                    value = value.get("$numberLong")
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                parsed = parse_date(value, f"json:{name}")
                if parsed is not None:
                    return parsed
        return None


def _body_text(value: Any) -> str:
    text = "\n\n".join(_text(v) for v in value) if isinstance(value, list) else _text(value)
    # Some scrapers keep the page's HTML in `content`; markup would pollute the index and snippets.
    if "<" in text and _LOOKS_HTML.search(text):
        text = unescape(_TAGS.sub("", _BLOCK_TAGS.sub("\n\n", text)))
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


class _Skip(Exception):
    """A record that cannot become an article; the message is the reason."""


def _article(obj: Any, ordinal: int, source: Source) -> tuple[str, Article]:
    """(record key, article) for one decoded JSON value, or `_Skip` with the reason."""
    if not isinstance(obj, dict):
        raise _Skip(f"expected a JSON object, found {_kind(obj)}")
    record = _Record(obj)
    title = record.text(_TITLE_KEYS)
    body = _body_text(record.pick(_BODY_KEYS)[1])
    if not clean_line(title) and not body.strip():
        raise _Skip("no title or body")
    key = clean_line(record.text(_ID_KEYS)) or str(ordinal)
    _, keywords = record.pick(_KEYWORD_KEYS)
    _, publisher = record.pick(_SOURCE_KEYS)
    article = make_article(
        source,
        record_key=key,
        title=title,
        body=body,
        date=record.date(),
        format=NAME,
        url=record.text(_URL_KEYS),
        byline=record.text(_AUTHOR_KEYS),
        section=record.text(_SECTION_KEYS),
        language=record.text(_LANGUAGE_KEYS),
        dateline=record.text(_DATELINE_KEYS),
        keywords=_keywords(keywords) if keywords is not None else [],
    )
    # `source=` cannot go through make_article, whose own first parameter is named `source`.
    name = _source_name(publisher) if publisher is not None else ""
    return key, replace(article, source=name) if name else article


# --- file shapes ------------------------------------------------------------------------------



@dataclass(frozen=True)
class _Broken:
    """A part of the file that could not be decoded, in place of its value."""

    reason: str


# One record in file order: (ordinal, label for warnings, decoded value or _Broken).
_Value = tuple[int, str, Any]

# Broken lines before the first good one after which a .jsonl file is taken not to be JSON Lines.
_MAX_LEADING_BROKEN = 100


def _error_reason(error: json.JSONDecodeError) -> str:
    return f"not valid JSON: {error.msg} (column {error.colno})"


def _truncated(error: json.JSONDecodeError, size: int) -> bool:
    """Whether decoding ran out of text rather than into a wrong character.

    An unterminated string always ends at the end of the text: strict JSON allows no raw newline
    in a string, so the decoder only gives up on one there.
    """
    return error.pos >= size or error.msg.startswith("Unterminated string")


def _lines(text: str) -> Iterator[_Value]:
    """Each non-blank line of a JSON Lines text, decoded; found by `find` so no list of lines is built.

    Only "\n" ends a line: U+2028 and friends, which `splitlines` also splits on, may sit raw
    inside JSON strings.
    """
    pos, number, size = 0, 0, len(text)
    while pos < size:
        end = text.find("\n", pos)
        if end == -1:
            end = size
        number += 1
        line = text[pos:end].strip()
        pos = end + 1
        if not line:
            continue
        try:
            yield number, f"line {number}", json.loads(line)
        except json.JSONDecodeError as error:
            reason = _error_reason(error)
            if end >= size - 1 and _truncated(error, len(line)):
                reason = "cut off at the end of the file"
            yield number, f"line {number}", _Broken(reason)
        except RecursionError:
            yield number, f"line {number}", _Broken("nested too deeply")


def _array_items(text: str, start: int) -> Iterator[_Value]:
    """The elements of a JSON array from `start` (just past its `[`), decoded one at a time.

    Used when the file as a whole is not valid JSON: the elements before a cut or a broken
    element are kept, and the one warning says where reading stopped.
    """
    decoder = json.JSONDecoder()
    pos, index, size = start, 0, len(text)
    line, counted = 1, 0

    def line_at(offset: int) -> int:
        # Counted forward from the last element, so a long array costs one pass, not one per item.
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    while True:
        pos = _skip_space(text, pos)
        if pos < size and text[pos] == "]" and index == 0:
            return
        index += 1
        label = f"item {index} (line {line_at(pos)})"
        if pos >= size:
            yield index, label, _Broken("the array is cut off at the end of the file")
            return
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as error:
            if _truncated(error, size) or _skip_space(text, error.pos) >= size:
                reason = "cut off at the end of the file"
            else:
                reason = f"{_error_reason(error)}; the rest of the array is unreadable"
            yield index, label, _Broken(reason)
            return
        yield index, label, value
        pos = _skip_space(text, pos)
        if pos >= size:
            yield index, f"after item {index}", _Broken("the array is cut off at the end of the file")
            return
        if text[pos] == "]":
            return
        if text[pos] != ",":
            yield index, f"after item {index} (line {line_at(pos)})", _Broken(
                f"expected ',' or ']' but found {text[pos]!r}; the rest of the array is unreadable"
            )
            return
        pos += 1


def _skip_space(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _document_values(doc: Any, path: str) -> Iterator[_Value]:
    """The records of a whole-file JSON document: an array, a wrapper object, or one article."""
    if isinstance(doc, dict):
        record = _Record(doc)
        if record.pick(_TITLE_KEYS)[1] is None and record.pick(_BODY_KEYS)[1] is None:
            for key in _WRAPPER_KEYS:
                name = record.names.get(key)
                if name is not None and isinstance(doc[name], list):
                    doc = doc[name]
                    break
            else:
                raise ReadError(path, "a JSON object with no title or body, and no array of articles inside it")
        else:
            yield 1, "the object", doc
            return
    if not isinstance(doc, list):
        raise ReadError(path, f"the JSON holds {_kind(doc)}, not articles")
    for index, value in enumerate(doc, start=1):
        yield index, f"item {index}", value


def _values(text: str, path: str) -> Iterator[_Value]:
    """Decide the file's shape and decode its records, raising ReadError when it holds no JSON at all."""
    stripped = text.strip()
    if not stripped:
        raise ReadError(path, "the file is empty")
    if not path.lower().endswith(_LINE_SUFFIXES):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError as error:
            # "Extra data" after one complete value is what JSON Lines looks like to json.loads.
            if stripped.startswith("[") and error.msg != "Extra data":
                first = True
                for item in _array_items(text, text.index("[") + 1):
                    if first and isinstance(item[2], _Broken):
                        raise ReadError(path, f"not valid JSON: {item[1]}: {item[2].reason}") from None
                    first = False
                    yield item
                return
        except RecursionError:
            raise ReadError(path, "the JSON is nested too deeply") from None
        else:
            yield from _document_values(doc, path)
            return

    # JSON Lines. Until one line decodes, this may not be JSON Lines at all (a pretty-printed
    # object in a .jsonl file, or not JSON): hold the warnings back until that is known.
    held: list[_Value] = []
    decoded_any = False
    for item in _lines(text):
        if decoded_any:
            yield item
        elif isinstance(item[2], _Broken):
            held.append(item)
            if len(held) >= _MAX_LEADING_BROKEN:
                break
        else:
            decoded_any = True
            yield from held
            held.clear()
            yield item
    if not decoded_any:
        try:
            doc = json.loads(stripped)
        except (json.JSONDecodeError, RecursionError):
            reason = held[0][2].reason if held else "no JSON found"
            raise ReadError(path, f"neither JSON nor JSON Lines: {held[0][1] if held else 'line 1'}: {reason}") from None
        yield from _document_values(doc, path)


def read(text: str, source: Source) -> Iterator[ReadItem]:
    """One Article per JSON object in file order, and a warning for each record that is skipped."""
    text = text.lstrip("\ufeff")
    first_seen: dict[str, str] = {}
    for ordinal, label, value in _values(text, source.path):
        if isinstance(value, _Broken):
            yield ReadWarning(f"{label}: {value.reason}")
            continue
        try:
            key, article = _article(value, ordinal, source)
        except _Skip as skip:
            yield ReadWarning(f"{label}: {skip}")
            continue
        if key in first_seen:
            yield ReadWarning(f"{label}: duplicate id {key!r} (first seen at {first_seen[key]}); skipped")
            continue
        first_seen[key] = label
        yield article


__all__ = ["NAME", "SUFFIXES", "read", "sniff"]
