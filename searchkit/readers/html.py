"""Reader for saved web pages: one HTML page → one Article.

A news page holds one story wrapped in site chrome: menus, share bars, ads, "related" lists,
comments, a footer. Three moving parts turn it into an Article:

- **Metadata** is read from what the publisher declared for machines, in order of trust:
  Open Graph and `article:*` meta tags, JSON-LD (`NewsArticle` and kin), microdata `itemprop`,
  `<time datetime>`, then the visible `<h1>` / `<title>`. Dates keep their time zone, and
  `date.source` names the tag they came from. When nothing structured names a date, htmldate
  (through trafilatura) guesses one from the page, reported as source "htmldate".
- **Body text** comes from trafilatura in precision mode, which scores the page's blocks and
  drops boilerplate; its readability and jusText fallbacks cover pages its own rules misread.
  Three generic repairs sit around it: a story split into several identical body containers (to
  interleave ads) is joined back before extraction; a precision result that is only a stub while
  the balanced mode finds a real article is replaced by the latter; a first line repeating the
  headline is dropped, since the title is stored apart.
- **Failure** is contained: hostile pages (10,000 nested tags, huge tables) either come out as a
  title-only article or raise `ReadError` with a one-line reason; they never crash the run.

`benchmarks/extraction.py` scores the body text on the Zyte article-extraction benchmark.
"""

from __future__ import annotations

import json
import re
import warnings
from copy import deepcopy
from dataclasses import replace
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from ..dates import parse_date
from ..errors import ReadError
from ..models import ParsedDate, Source
from . import ReadItem, clean_line, make_article

NAME = "html"
SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")

# --- sniffing -------------------------------------------------------------------------------

_PROLOGUE = re.compile(r"\s+|<!--.*?-->|<\?xml[^>]*\?>", re.DOTALL)
_DOCTYPE = re.compile(r"<!doctype\s+([a-z]+)[^>]*>", re.IGNORECASE)
_HTML_START = re.compile(r"<(?:html|head|body)[\s>/]", re.IGNORECASE)


def sniff(head: str) -> bool:
    """Whether `head` starts (after BOM, blanks, comments, XML prologue) with an HTML document."""
    pos = 1 if head.startswith("\ufeff") else 0
    while True:
        match = _PROLOGUE.match(head, pos)
        if not match:
            break
        pos = match.end()
    doctype = _DOCTYPE.match(head, pos)
    if doctype:
        # `<!DOCTYPE html …>` settles it; any other doctype (an SGML DTD) is not ours.
        return doctype.group(1).lower() == "html"
    return bool(_HTML_START.match(head, pos))


# --- reading --------------------------------------------------------------------------------

# Extraction settings chosen on the benchmark (see benchmarks/extraction.py): precision mode
# scored best; reader comments are not part of the story; tables often are (results, figures);
# trafilatura's deduplication also drops a story's own repeated lines.
_EXTRACT_OPTIONS: dict[str, Any] = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "deduplicate": False,
}
# A precision result this short is a stub (a reprint notice, a caption) if the balanced mode
# finds several times more text.
_STUB_CHARS = 500
_STUB_RATIO = 3.0


def read(text: str, source: Source) -> Iterator[ReadItem]:
    """Yield the one article of an HTML page; raise ReadError when the page holds no text at all."""
    try:
        tree = _parse(text)
        meta = _PageMetadata(tree) if tree is not None else None
        body = _main_text(tree) if tree is not None else ""
    except RecursionError:
        raise ReadError(source.path, "HTML nested too deeply to parse") from None
    except Exception as error:  # noqa: BLE001 — heuristic code on untrusted pages: contain it
        # trafilatura and lxml run many heuristics over arbitrary markup; any failure in them
        # means this one page cannot be read, never that the whole run should stop.
        reason = str(error).splitlines()[0][:200] if str(error) else ""
        raise ReadError(source.path, f"HTML extraction failed ({type(error).__name__}: {reason})") from None
    if meta is None:
        raise ReadError(source.path, "no article text found in HTML")
    title = meta.title()
    body = _drop_repeated_title(body, title)
    if not title and not body.strip():
        raise ReadError(source.path, "no article text found in HTML")
    article = make_article(
        source,
        format=NAME,
        title=title,
        body=body,
        date=meta.date(),
        byline=meta.byline(),
        url=meta.url(),
        language=meta.language(),
        keywords=meta.keywords(),
        section=meta.section(),
    )
    # `source=` cannot go through make_article, whose own first parameter is named `source`.
    yield replace(article, source=clean_line(meta.site_name()))


def _parse(text: str) -> HtmlElement | None:
    # trafilatura's loader copes with encoding declarations in str input and common breakage;
    # it rejects what looks like a fragment, which lxml can still read as a document.
    # trafilatura is imported when a page is read (~0.3 s): every reader module is loaded to pick
    # a file's reader, and a worker indexing SGML or JSON should not pay for it.
    from trafilatura.utils import load_html

    tree = load_html(text)
    if tree is None and text.strip():
        try:
            tree = lxml.html.document_fromstring(text)
        except (lxml.etree.ParserError, ValueError):
            return None
    return tree


def _main_text(tree: HtmlElement) -> str:
    """The story's text, paragraphs one per line, without the page's chrome."""
    # trafilatura copies a tree it is given, so the same tree serves both modes.
    import trafilatura

    joined = _join_split_bodies(tree)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        body = trafilatura.extract(joined, **_EXTRACT_OPTIONS) or ""
        if len(body) < _STUB_CHARS:
            balanced = trafilatura.extract(joined, **{**_EXTRACT_OPTIONS, "favor_precision": False}) or ""
            if len(balanced) >= _STUB_RATIO * max(len(body), 1):
                body = balanced
    return body


# Class names that mark a story's body container (the same vocabulary trafilatura's own body
# rules use); comments and widgets are left out on purpose.
_BODY_CLASS = re.compile(
    r"article[-_]*(?:body|content|text)|articlebody|story[-_]*(?:body|content)|"
    r"post[-_]*(?:body|content)|entry[-_]*content",
    re.IGNORECASE,
)
_MIN_PART_CHARS = 200


def _join_split_bodies(tree: HtmlElement) -> HtmlElement:
    """`tree`, or a copy of it where a story split over several body containers sits in the first.

    Sites cut long stories into containers with identical classes to interleave ads; trafilatura
    takes the first match of its body rules and loses the rest. Each part must hold real
    paragraphs, so a teaser that happens to share the class is not pulled in; and nothing but
    chrome may sit between the parts, or joining them would reorder the story.
    """
    groups: dict[str, list[HtmlElement]] = {}
    for element in tree.iter("div", "section", "article"):
        classes = element.get("class")
        if classes and _BODY_CLASS.search(classes):
            groups.setdefault(" ".join(classes.split()), []).append(element)
    if not any(len(parts) >= 2 for parts in groups.values()):
        return tree
    position = {element: i for i, element in enumerate(tree.iter())}
    splits: list[list[HtmlElement]] = []
    for parts in groups.values():
        if len(parts) < 2:
            continue
        members = set(parts)
        outermost = [p for p in parts if not any(a in members for a in p.iterancestors())]
        substantial = [p for p in outermost if _paragraph_chars(p) >= _MIN_PART_CHARS]
        if len(substantial) >= 2 and not _story_between(tree, substantial, position):
            splits.append(substantial)
    if not splits:
        return tree
    joined = deepcopy(tree)
    # A deep copy walks in the same document order, which maps each part to its copy.
    copies = list(joined.iter())
    for parts in splits:
        first, *rest = (copies[position[p]] for p in parts)
        for part in rest:
            first.extend(list(part))
            parent = part.getparent()
            if parent is not None:
                parent.remove(part)
    return joined


def _story_between(tree: HtmlElement, parts: list[HtmlElement], position: dict[HtmlElement, int]) -> bool:
    """Whether paragraphs outside `parts` sit between them (a quote box, a second story)."""
    spans = [(position[p], position[p] + sum(1 for _ in p.iterdescendants())) for p in parts]
    gaps = list(zip((end for _, end in spans), (start for start, _ in spans[1:])))
    between = 0
    for paragraph in tree.iter("p"):
        at = position[paragraph]
        if any(end < at < start for end, start in gaps):
            between += len(paragraph.text_content())
    return between >= _MIN_PART_CHARS // 2


def _paragraph_chars(element: HtmlElement) -> int:
    return sum(len(p.text_content()) for p in element.iter("p"))


def _drop_repeated_title(body: str, title: str) -> str:
    # Extractors often keep the headline as the body's first line; the title field has it already.
    if not _normalized(title) or not body:
        return body
    first, _, rest = body.partition("\n")
    if _normalized(first) == _normalized(title):
        return rest
    return body


def _normalized(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


# --- metadata -------------------------------------------------------------------------------

# Meta tags that name the publication time, most specific first.
_DATE_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "og:published_time",
    "publish-date",
    "publish_date",
    "publishdate",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "article.published",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dcterms.created",
    "date",
)
_ARTICLE_TYPES = re.compile(r"article|posting|report", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/)\s+")
_MAX_JSON_LD_CHARS = 1_000_000


class _PageMetadata:
    """What a page declares about itself, read once from the parsed tree."""

    def __init__(self, tree: HtmlElement) -> None:
        self._tree = tree
        self._meta: dict[str, list[str]] = {}
        for element in tree.iter("meta"):
            key = next((element.get(a) for a in ("property", "name", "itemprop", "http-equiv") if element.get(a)), None)
            content = element.get("content")
            if key and content and content.strip():
                self._meta.setdefault(key.strip().lower(), []).append(content.strip())
        self._json_ld = list(_json_ld_objects(tree))
        self._articles = [obj for obj in self._json_ld if _ARTICLE_TYPES.search(_type_of(obj))]
        # htmldate's guess and the cleaned author come from trafilatura's metadata pass.
        from trafilatura.metadata import extract_metadata
        from trafilatura.settings import set_date_params

        self._fallback = extract_metadata(tree, date_config=set_date_params(False), extensive=False)

    # -- single values

    def _first_meta(self, *keys: str) -> str:
        for key in keys:
            for value in self._meta.get(key, ()):
                if clean_line(value):
                    return clean_line(value)
        return ""

    def _json_ld_value(self, key: str) -> Any:
        for obj in self._articles + [o for o in self._json_ld if o not in self._articles]:
            value = obj.get(key)
            if value:
                return value
        return None

    def title(self) -> str:
        candidates = [
            self._first_meta("og:title", "twitter:title"),
            _as_text(self._json_ld_value("headline")),
            _first_text(self._tree.iter("h1")),
            _first_text(self._tree.iter("title")),
        ]
        site_names = self._site_names()
        for candidate in candidates:
            trimmed = _trim_site_name(candidate, site_names)
            # A title that is only the site's name says nothing about the story.
            if trimmed and _normalized(trimmed) not in {_normalized(s) for s in site_names}:
                return trimmed
        return ""

    def date(self) -> ParsedDate | None:
        return _first_date(self._date_candidates())

    def _date_candidates(self) -> Iterator[tuple[str, str]]:
        for key in _DATE_META[:1]:
            for value in self._meta.get(key, ()):
                yield value, f"meta:{key}"
        published = self._json_ld_value("datePublished")
        if isinstance(published, str):
            yield published, "json-ld:datePublished"
        for key in _DATE_META[1:]:
            for value in self._meta.get(key, ()):
                yield value, f"meta:{key}"
        for element in self._tree.xpath('//*[@itemprop="datePublished"]'):
            value = element.get("content") or element.get("datetime") or element.text_content()
            yield value, "itemprop:datePublished"
        for element in self._time_elements():
            yield element.get("datetime", ""), "time-element"
        if self._fallback.date:
            yield self._fallback.date, "htmldate"

    def _time_elements(self) -> list[HtmlElement]:
        # The story's own <time> sits in its <article>; a page header's clock shows today.
        dated = self._tree.xpath("//time[@datetime]")
        marked = [t for t in dated if t.get("pubdate") is not None]
        in_article = [t for t in dated if any(a.tag in ("article", "main") for a in t.iterancestors())]
        return list(dict.fromkeys(marked + in_article + dated))

    def byline(self) -> str:
        if self._fallback.author:
            return self._fallback.author
        author = self._json_ld_value("author")
        names = [_as_text(a.get("name") if isinstance(a, dict) else a) for a in _as_list(author)]
        return "; ".join(n for n in names if n and not n.startswith("http"))

    def site_name(self) -> str:
        names = self._site_names()
        return names[0] if names else ""

    def _site_names(self) -> list[str]:
        publisher = self._json_ld_value("publisher")
        names = [
            self._first_meta("og:site_name", "application-name"),
            _as_text(publisher.get("name")) if isinstance(publisher, dict) else "",
            self._fallback.sitename or "",
        ]
        host = urlsplit(self.url()).hostname or ""
        if host:
            names.append(host.removeprefix("www."))
        return list(dict.fromkeys(n for n in (clean_line(n) for n in names) if n))

    def url(self) -> str:
        canonical = [link.get("href", "") for link in self._tree.xpath('//link[@rel="canonical"]')]
        for candidate in canonical + self._meta.get("og:url", []) + [self._fallback.url or ""]:
            candidate = candidate.strip()
            if candidate.startswith(("http://", "https://")):
                return candidate
        return ""

    def language(self) -> str:
        root = self._tree.getroottree().getroot()
        declared = (
            root.get("lang")
            or root.get("xml:lang")  # the HTML parser keeps XHTML's prefix as part of the name
            or root.get("{http://www.w3.org/XML/1998/namespace}lang")
            or self._first_meta("content-language", "og:locale", "language")
        )
        # Keep the primary subtag ("en-GB" → "en"), the form every reader reports.
        primary = re.split(r"[-_,;\s]", declared.strip(), maxsplit=1)[0].lower() if declared else ""
        return primary if re.fullmatch(r"[a-z]{2,3}", primary) else ""

    def keywords(self) -> tuple[str, ...]:
        words: list[str] = []
        for key in ("keywords", "news_keywords"):
            for value in self._meta.get(key, ()):
                words.extend(value.split(","))
        words.extend(self._meta.get("article:tag", ()))
        return tuple(w.strip() for w in words if w.strip())

    def section(self) -> str:
        return self._first_meta("article:section") or _as_text(self._json_ld_value("articleSection"))


def _json_ld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD blocks, @graph members included."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        raw = script.text or ""
        if not raw.strip() or len(raw) > _MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue  # publishers ship broken JSON-LD often; the other sources still count
        stack: list[Any] = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])


def _type_of(obj: dict[str, Any]) -> str:
    kind = obj.get("@type", "")
    return " ".join(str(k) for k in kind) if isinstance(kind, list) else str(kind)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return clean_line(value) if isinstance(value, str) else ""


def _first_text(elements: Iterable[HtmlElement]) -> str:
    for element in elements:
        text = clean_line(element.text_content())
        if text:
            return text
    return ""


def _trim_site_name(title: str, site_names: list[str]) -> str:
    """`title` without a leading or trailing segment that names the site ("Story | Site")."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    known = {_normalized(name) for name in site_names}
    known |= {_normalized(name.rsplit(".", 1)[0]) for name in site_names if "." in name}

    def names_site(segment: str) -> bool:
        # "NYTimes.com" names the site nytimes.com; a bare "News" does not name newsnation.in.
        key = _normalized(segment)
        return bool(key) and any(key == k or (len(k) >= 4 and k in key) for k in known)

    # Cut from the end first ("Story - Section | Site"), then a leading site name ("Site: Story").
    separators = _TITLE_SEPARATORS.findall(title)
    while len(parts) > 1 and names_site(parts[-1]):
        parts.pop()
        separators.pop()
    while len(parts) > 1 and names_site(parts[0]):
        parts.pop(0)
        separators.pop(0)
    rebuilt = parts[0]
    for separator, part in zip(separators, parts[1:]):
        rebuilt += separator + part
    return rebuilt.strip()


def _first_date(candidates: Iterable[tuple[str, str]]) -> ParsedDate | None:
    """The first candidate that parses to a plausible date, else the first that parses at all."""
    fallback: ParsedDate | None = None
    for value, where in candidates:
        parsed = parse_date(value, where)
        if parsed is None:
            continue
        if not parsed.implausible:
            return parsed
        fallback = fallback or parsed
    return fallback


__all__ = ["NAME", "SUFFIXES", "read", "sniff"]
