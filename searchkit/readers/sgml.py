"""The SGML/XML wire-archive reader: one file of many stories → one Article per story.

Three dialects share the machinery, picked by the first record element found in the file:

- **Reuters-21578** — `<REUTERS … NEWID="n">` stories holding `<DATE>`, the `<TOPICS>`, `<PLACES>`,
  `<PEOPLE>`, `<ORGS>`, `<EXCHANGES>` and `<COMPANIES>` lists of `<D>` items, and a `<TEXT>` with
  `<TITLE>`, `<AUTHOR>`, `<DATELINE>` and `<BODY>` (or, for `TYPE="UNPROC"`, bare text; for
  `TYPE="BRIEF"`, a title alone). The record key is `NEWID`.
- **TREC** — `<DOC>` records keyed by `<DOCNO>`, with `<HEADLINE>`/`<HL>`, `<DATE>`, `<BYLINE>`,
  `<DATELINE>` and one or more `<TEXT>` blocks.
- **NewsML-ish XML** — `<article>`, `<story>`, `<NewsItem>` or `<nitf>` records with
  title/headline, date/pubDate, byline/author and body/text/content children.

The Reuters files are SGML, not well-formed XML (a DOCTYPE naming a DTD that is not there,
control characters as `&#2;`/`&#3;` references, no root element), so nothing here uses an XML
parser: records are cut at their start tags with a regex, each child element is found by its
start and end tags inside its record, and character references are decoded only after the markup
has been taken apart, so a decoded `&lt;` can never be mistaken for a tag. A record missing its
end tag (a file cut short) is still read for whatever it holds, with a warning naming it.
"""

from __future__ import annotations

import html.entities
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterator

from ..dates import is_implausible, parse_date
from ..errors import ReadError
from ..models import ParsedDate, Source
from . import ReadItem, ReadWarning, clean_line, make_article, strip_controls

NAME = "sgml"
SUFFIXES = (".sgm", ".sgml", ".xml")

# --- sniffing ---------------------------------------------------------------------------------

_REUTERS_HINT = re.compile(r"<REUTERS\b|<!DOCTYPE\s+lewis\b", re.IGNORECASE)
_TREC_HINT = re.compile(r"<DOC>\s*<DOCNO>", re.IGNORECASE)
_XML_DECL = re.compile(r"\A\ufeff?\s*<\?xml\b")
_XML_RECORD_HINT = re.compile(r"<(?:article|story|NewsItem|nitf)(?=[\s/>])", re.IGNORECASE)
_HTML_HINT = re.compile(r"<html(?=[\s>])", re.IGNORECASE)


# Optional BOM, whitespace, comments and declarations, then a tag.
_MARKUP_START = re.compile(r"\ufeff?\s*(?:(?:<!--.*?-->|<![^>]*>|<\?[^>]*\?>)\s*)*<[A-Za-z]", re.DOTALL)


def sniff(head: str) -> bool:
    """Reuters or TREC markup anywhere in the head; NewsML-ish records only in a declared XML file.

    `<article>` alone is not enough: every HTML5 page has one, and the HTML reader owns those.
    """
    if not _MARKUP_START.match(head):
        # Markup files open with a tag; a README that merely mentions `<REUTERS>` is not one.
        return False
    if _REUTERS_HINT.search(head) or _TREC_HINT.search(head):
        return True
    return bool(_XML_DECL.match(head) and _XML_RECORD_HINT.search(head) and not _HTML_HINT.search(head))


# --- markup helpers ---------------------------------------------------------------------------

_REF = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{0,31}));")
_TAG = re.compile(r"<[^<>]*>")
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|para|block|hl2|pre|li|tr)\b[^<>]*>", re.IGNORECASE)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PARTIAL_TAG = re.compile(r"<[^<>]*\Z")
_ATTR = re.compile(r"""([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _ref(match: re.Match[str]) -> str:
    number, hexa, name = match.groups()
    if name is not None:
        # An unknown entity is left as written rather than guessed at.
        return html.entities.html5.get(name + ";", match.group(0))
    code = int(number) if number is not None else int(hexa, 16)
    if 0x80 <= code <= 0x9F:
        # Legacy SGML and HTML dumps mean the cp1252 character by these, as browsers do.
        return bytes([code]).decode("cp1252", errors="ignore")
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return ""
    return chr(code)


def decode_refs(text: str) -> str:
    """Decode SGML/HTML character references (`&lt;`, `&amp;`, `&#3;`, `&#x2014;`) and drop controls.

    Unlike `html.unescape`, a reference needs its `;`, so "AT&T" or "&notes" stay as written.
    """
    if "&" in text:
        text = _REF.sub(_ref, text)
    return strip_controls(text)


def _markup_to_text(raw: str) -> str:
    """An element's raw content as plain text: CDATA unwrapped, block tags as paragraph breaks, tags gone."""
    if "<" in raw:
        # CDATA in news XML nearly always wraps HTML (RSS content:encoded): markup to strip like the rest.
        raw = _CDATA.sub(lambda m: m.group(1), raw)
        raw = _COMMENT.sub("", raw)
        raw = _BLOCK_TAG.sub("\n\n", raw)
        raw = _TAG.sub("", raw)
        raw = _PARTIAL_TAG.sub("", raw)
    return decode_refs(raw)


_OPEN_CACHE: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {}


def _patterns(tag: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The start- and end-tag patterns of an element, compiled once per tag name."""
    pair = _OPEN_CACHE.get(tag)
    if pair is None:
        name = re.escape(tag)
        pair = (
            re.compile(rf"<{name}(?=[\s/>])([^<>]*)>", re.IGNORECASE),
            re.compile(rf"</{name}\s*>", re.IGNORECASE),
        )
        _OPEN_CACHE[tag] = pair
    return pair


def _elements(raw: str, tag: str) -> Iterator[tuple[str, str]]:
    """(attributes, raw content) of each `tag` element in `raw`, in order.

    Start and end tags are searched for separately rather than with one lazy `(.*?)</TAG>`, which
    retries the end tag at every character of a long body. An element with no end tag runs to the
    end of `raw`, so a record cut off mid-element still gives up what it has.
    """
    start, end = _patterns(tag)
    pos = 0
    while True:
        opened = start.search(raw, pos)
        if opened is None:
            return
        closed = end.search(raw, opened.end())
        stop = closed.start() if closed else len(raw)
        yield opened.group(1), raw[opened.end() : stop]
        if closed is None:
            return
        pos = closed.end()


def _first(raw: str, *tags: str) -> str | None:
    """The raw content of the first of `tags` present in `raw` (earlier tags win), else None."""
    for tag in tags:
        for _attrs, content in _elements(raw, tag):
            return content
    return None


def _all(raw: str, tag: str) -> list[str]:
    return [content for _attrs, content in _elements(raw, tag)]


def _without(raw: str, *tags: str) -> str:
    """`raw` with every `tags` element, content and all, cut out."""
    for tag in tags:
        start, end = _patterns(tag)
        parts: list[str] = []
        pos = 0
        while (opened := start.search(raw, pos)) is not None:
            parts.append(raw[pos : opened.start()])
            closed = end.search(raw, opened.end())
            pos = closed.end() if closed else len(raw)
        parts.append(raw[pos:])
        raw = "".join(parts)
    return raw


def _attributes(start_tag: str) -> dict[str, str]:
    return {
        m.group(1).upper(): next(v for v in m.group(2, 3, 4) if v is not None) for m in _ATTR.finditer(start_tag)
    }


# --- dates ------------------------------------------------------------------------------------

_WIRE_DATE = re.compile(
    r"(\d{1,2})-([A-Za-z]{3})-(\d{4})\s+(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,6}))?"
)
_WIRE_DAY = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}


def _parse_sgml_date(raw: str, source: str) -> ParsedDate | None:
    """A story's date. The wire form `26-FEB-1987 15:01:01.79` is read directly, because dateutil
    costs ~100 µs a call and Reuters alone has 21,578 of them; anything else goes to `parse_date`.

    Reuters dates carry junk after them (`…59.13&#5;&#5;RM`, `# date added by …`), so the wire form
    is searched for rather than matched whole; a garbled time (`31-MAR-1987 605:12:19.12`) still
    leaves the day.
    """
    text = clean_line(decode_refs(raw))
    match = _WIRE_DATE.search(text)
    if match:
        day, month_name, year, hour, minute, second, fraction = match.groups()
        month = _MONTHS.get(month_name.upper())
        if month is not None:
            try:
                value = datetime(
                    int(year), month, int(day), int(hour), int(minute), int(second),
                    int((fraction or "0").ljust(6, "0")),
                )
            except ValueError:
                # 31-FEB and friends: parse_date keeps the month and flags it.
                return parse_date(match.group(0), source)
            return ParsedDate(value, "second", source, is_implausible(value))
    day_match = _WIRE_DAY.search(text)
    if day_match:
        month = _MONTHS.get(day_match.group(2).upper())
        if month is not None:
            try:
                value = datetime(int(day_match.group(3)), month, int(day_match.group(1)))
            except ValueError:
                return parse_date(day_match.group(0), source)
            return ParsedDate(value, "day", source, is_implausible(value))
    return parse_date(text, source)


# --- records ----------------------------------------------------------------------------------


@dataclass
class _Story:
    """What one record held, before cleaning; `label` names it in warnings."""

    key: str
    label: str
    title: str = ""
    body: str = ""
    date_raw: str | None = None
    date_tag: str = "DATE"
    byline: str = ""
    dateline: str = ""
    section: str = ""
    url: str = ""
    source: str = ""
    language: str = ""
    keywords: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Dialect:
    name: str
    record_tag: str


_REUTERS_LISTS = ("TOPICS", "PLACES", "PEOPLE", "ORGS", "EXCHANGES", "COMPANIES")
# The wire's "Reuter" sign-off: on its own line or after a sentence, sometimes "REUTER..." or with
# a literal "^M" left by an editor; in capitals, also straight after a table's last figure.
# "told Reuters." is a sentence, not a sign-off, so the plural only counts without a full stop.
_SIGN_OFF = re.compile(
    r"(?:(?:\A|\n|(?<=[.?!])[ \t])[ \t]*(?i:reuter(?:\.{3})?|reuters)|[ \t]+REUTER(?:\.{3})?)"
    r"[ \t]*(?:\^M)?\s*\Z"
)
_SIGN_OFF_WINDOW = 40
_BY = re.compile(r"\A\s*by\s+", re.IGNORECASE)
_BY_REUTERS = re.compile(r",?\s*reuters?\s*\Z", re.IGNORECASE)
_UNPROC_TITLE_MAX = 150


def _strip_sign_off(body: str) -> str:
    body = body.rstrip()
    # Some stories were signed off twice ("REUTER" then "Reuter"). Only the tail is searched: the
    # pattern anchors at the end, and trying it from every character of a long body is slow.
    for _ in range(3):
        match = _SIGN_OFF.search(body, max(0, len(body) - _SIGN_OFF_WINDOW))
        if match is None:
            break
        body = body[: match.start()].rstrip()
    return body


def _reuters_story(attrs: dict[str, str], raw: str, ordinal: int) -> _Story:
    newid = clean_line(attrs.get("NEWID", ""))
    key = newid or str(ordinal)
    story = _Story(key=key, label=f"story NEWID={newid}" if newid else f"story {ordinal}")
    story.source = "Reuters"
    story.language = "en"
    story.date_raw = _first(raw, "DATE")
    for tag in _REUTERS_LISTS:
        lst = _first(raw, tag)
        if lst:
            story.keywords.extend(decode_refs(d) for d in _all(lst, "D"))

    text_element = next(_elements(raw, "TEXT"), None)
    if text_element is None:
        return story
    text_attrs = _attributes(text_element[0])
    text = text_element[1]
    kind = text_attrs.get("TYPE", "NORM").upper()

    title = _first(text, "TITLE")
    story.title = _markup_to_text(title) if title is not None else ""
    author = _first(text, "AUTHOR")
    if author:
        story.byline = _BY_REUTERS.sub("", _BY.sub("", clean_line(_markup_to_text(author))))
    dateline = _first(text, "DATELINE")
    if dateline:
        story.dateline = clean_line(_markup_to_text(dateline)).rstrip(" -")
    body = _first(text, "BODY")
    if body is not None:
        story.body = _strip_sign_off(_markup_to_text(body))
    elif kind != "BRIEF":
        # UNPROC (and any story missing its BODY): the text itself, minus the parts already taken.
        rest = _strip_sign_off(_markup_to_text(_without(text, "TITLE", "AUTHOR", "DATELINE"))).strip("\n")
        if not story.title:
            first, _, remainder = rest.lstrip().partition("\n")
            first = clean_line(first)
            # Only a short line with words in it reads as a headline; a table row does not.
            if first and len(first) <= _UNPROC_TITLE_MAX and re.search(r"[A-Za-z]{3}", first):
                story.title, rest = first, remainder
        story.body = rest
    # BRIEF stories carry a "Blah blah blah." placeholder after the title: not a body.
    return story


_TREC_TITLE_TAGS = ("HEADLINE", "HL", "TITLE", "HEAD")
_TREC_DATE_TAGS = ("DATE", "DATE_TIME", "PUBDATE")
_XML_TITLE_TAGS = ("headline", "title", "hl1", "hedline")
_XML_DATE_TAGS = ("pubDate", "datePublished", "published", "firstCreated", "date", "versionCreated")
_XML_BODY_TAGS = ("body.content", "body", "text", "content", "articleBody", "description")


def _generic_story(dialect: _Dialect, attrs: dict[str, str], raw: str, ordinal: int) -> _Story:
    if dialect.name == "trec":
        key_raw = _first(raw, "DOCNO")
        title_tags, date_tags, body_tags = _TREC_TITLE_TAGS, _TREC_DATE_TAGS, ("TEXT",)
    else:
        key_raw = attrs.get("ID") or attrs.get("GUID") or _first(raw, "id", "guid", "docno")
        title_tags, date_tags, body_tags = _XML_TITLE_TAGS, _XML_DATE_TAGS, _XML_BODY_TAGS
    key = clean_line(_markup_to_text(key_raw)) if key_raw else ""
    story = _Story(key=key or str(ordinal), label=f"{dialect.record_tag} {key}" if key else f"{dialect.record_tag} {ordinal}")

    title = _first(raw, *title_tags)
    story.title = _markup_to_text(title) if title is not None else ""
    for tag in date_tags:
        value = _first(raw, tag)
        if value and value.strip():
            story.date_raw, story.date_tag = value, tag
            break
    if dialect.name == "trec":
        # Some TREC collections split a document's text over several TEXT elements.
        story.body = "\n\n".join(_markup_to_text(part) for part in _all(raw, "TEXT"))
    else:
        body = _first(raw, *body_tags)
        story.body = _markup_to_text(body) if body is not None else ""
    story.byline = _BY.sub("", clean_line(_markup_to_text(_first(raw, "BYLINE", "author", "creator") or "")))
    dateline = _first(raw, "DATELINE")
    if dateline and dialect.name == "trec":
        story.dateline = clean_line(_markup_to_text(dateline)).rstrip(" -")
    story.section = _markup_to_text(_first(raw, "SECTION", "category") or "")
    story.source = _markup_to_text(_first(raw, "SOURCE", "publisher") or "")
    story.url = _markup_to_text(_first(raw, "url", "link") or "")
    story.language = _markup_to_text(_first(raw, "language", "lang") or attrs.get("XML:LANG") or attrs.get("LANG") or "")
    story.keywords = [_markup_to_text(k) for tag in ("keyword", "tag", "subject") for k in _all(raw, tag)]
    return story


_DIALECT_STARTS = (
    (_Dialect("reuters", "REUTERS"), re.compile(r"<REUTERS(?=[\s>])(?P<attrs>[^<>]*)>", re.IGNORECASE)),
    (_Dialect("trec", "DOC"), re.compile(r"<DOC(?=[\s>])(?P<attrs>[^<>]*)>", re.IGNORECASE)),
)
_XML_START = re.compile(r"<(article|story|NewsItem|nitf)(?=[\s/>])", re.IGNORECASE)


def _find_records(text: str) -> tuple[_Dialect, list[re.Match[str]]] | None:
    for dialect, start in _DIALECT_STARTS:
        starts = list(start.finditer(text))
        if starts:
            return dialect, starts
    first = _XML_START.search(text)
    if first is None:
        return None
    tag = first.group(1)
    start = re.compile(rf"<{re.escape(tag)}(?=[\s/>])(?P<attrs>[^<>]*)>", re.IGNORECASE)
    return _Dialect("xml", tag), list(start.finditer(text))


def read(text: str, source: Source) -> Iterator[ReadItem]:
    """Every story in the file, in file order, plus a warning for each damaged or empty one."""
    found = _find_records(text)
    if found is None:
        raise ReadError(source.path, "no stories found")
    dialect, starts = found
    end_tag = re.compile(rf"</{re.escape(dialect.record_tag)}\s*>", re.IGNORECASE)
    seen: dict[str, str] = {}

    for ordinal, start in enumerate(starts, start=1):
        limit = starts[ordinal].start() if ordinal < len(starts) else len(text)
        end = end_tag.search(text, start.end(), limit)
        raw = text[start.end() : end.start() if end else limit]
        attrs = _attributes(start.group("attrs"))
        if end is None:
            raw = _PARTIAL_TAG.sub("", raw)
        if dialect.name == "reuters":
            story = _reuters_story(attrs, raw, ordinal)
        else:
            story = _generic_story(dialect, attrs, raw, ordinal)

        has_content = bool(story.title.strip() or story.body.strip())
        if end is None:
            where = "is cut off at the end of the file" if ordinal == len(starts) else "has no end tag"
            kept = "; kept what it has" if has_content else "; skipped"
            yield ReadWarning(f"{story.label} {where}{kept}")
        if not has_content:
            if end is None or not story.date_raw:
                if end is not None:
                    yield ReadWarning(f"{story.label} has no title or text; skipped")
                continue
            # A complete record with a date but no text is still a story the wire sent: kept, so
            # the archive's count and its date and metadata stay whole.
            yield ReadWarning(f"{story.label} has no title or text; indexed with its date and metadata only")
        if story.key in seen:
            yield ReadWarning(f"{story.label}: duplicate record key {story.key!r} (first used by {seen[story.key]}); skipped")
            continue
        seen[story.key] = story.label

        date_source = f"{'xml' if dialect.name == 'xml' else 'sgml'}:{story.date_tag}"
        date = _parse_sgml_date(story.date_raw, date_source) if story.date_raw else None
        article = make_article(
            source,
            record_key=story.key,
            title=story.title,
            body=story.body,
            date=date,
            format=NAME,
            byline=story.byline,
            dateline=story.dateline,
            section=story.section,
            url=story.url,
            language=story.language,
            keywords=story.keywords,
        )
        # `source=` cannot go through make_article, whose own first parameter is named `source`.
        yield replace(article, source=clean_line(story.source)) if story.source else article


__all__ = ["NAME", "SUFFIXES", "decode_refs", "read", "sniff"]
