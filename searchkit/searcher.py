"""Searching: query text → Whoosh query → ranked, highlighted `Hit`s.

The stages, in order:

1. **Parse** (`QueryBuilder.parse`). A Whoosh `MultifieldParser` over `title` and `body` with the
   syntax people expect: `"exact phrases"`, `AND`/`OR`/`NOT`, `-word`/`+word`, `field:value` for
   the fields in `schema.QUERYABLE_FIELDS`, `word*`, `word~` (fuzzy), and date clauses
   (`date:2025`, `date:2025-03`, `date:[2025-03-01 TO 2025-03-31]`, open ends allowed), read by
   our own plugin so that `date:2025-3` is understood and `date:2025-13` is an error that points
   at itself. Dates are UTC, as the `date` field is.

2. **Rank**. Plain words are a *ranked OR*: every document holding any query word is found and
   BM25F orders them (title boosted at index time, see `schema.TITLE_BOOST`). A long
   natural-language question is never turned into an AND that nothing satisfies (on the TIME
   collection an AND scores MAP 0.045, this ranked OR 0.669). Short queries — two or three
   distinct words, like `joint headquarters` — are usually meant together, so there documents
   are tiered by how many of the words they hold (BM25 orders each tier): the documents with both
   words come first, however often another repeats just one, and those with one still follow —
   an AND with its fallback in one ranking. Longer queries are left to BM25, because on TIME every
   coordination bonus we tried lowered MAP (Whoosh's SQR 0.9: 0.667; score x share^0.5: 0.625).

3. **Repair**. Whoosh reads `a NOT b` inside an OR group as "a, or anything without b"; we rewrite
   it to "a and not b". Wildcards, prefixes, fuzzy terms and term ranges are expanded here into
   at most `MAX_EXPANSIONS` index terms (the most frequent ones), with a note when some were left
   out, so `a*` on a million articles stays fast and the highlighter sees the expanded words.
   A bare `*` matches every document without walking the whole vocabulary.

4. **Fall back**. Whoosh's parser is lenient: unbalanced quotes or brackets still parse. When a
   query's syntax leaves nothing to search (`foo^`, a lone operator) or the parser fails, the
   query is searched as plain words and `Results.notes` says so. Only a date clause that cannot be
   a date raises `QuerySyntaxError`, because silently searching `2025 13` as words would mislead.

5. **Filter, sort, page**. `since`/`until` (YYYY, YYYY-MM, YYYY-MM-DD or relative `30d`, `6w`,
   `12m`, `2y`), `source`, `section` and `lang` restrict the query; `newest`/`oldest` sort on
   the `date` column, undated articles last either way. Pages are exact slices of the ranking.
   Date ranges (filters and `date:` clauses) and date sorts are answered from the `date` column,
   read once per segment, rather than from Whoosh's numeric terms and per-document sort calls;
   totals are counted with sets of docnums (see "the date column" and "counting" below).
   A page by relevance of words, phrases, ANDs and exclusions (with any filter) is computed by
   `bulk_search` from Whoosh's own matchers a block of postings at a time: the same total, hits,
   order and scores as Whoosh's collector, which still answers every other query.

6. **Present**. Each hit becomes our own `Hit` with `Snippet`s from `highlight`; "did you mean"
   corrects each query word against the index's own vocabulary when a query finds little.

Whoosh types never leave this module (and `highlight`).
"""

from __future__ import annotations

import heapq
import re
import sys
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import math

from whoosh import query as wq
from whoosh import scoring, sorting
from whoosh.searching import Searcher
from whoosh.columns import NumericColumn
from whoosh.filedb.filetables import HashReader
from whoosh.matching import ListMatcher, NullMatcher, ReadTooFar
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.binary import AndMaybeMatcher, AndNotMatcher
from whoosh.matching.combo import ArrayUnionMatcher
from whoosh.matching.wrappers import FilterMatcher, RequireMatcher, WrappingMatcher
from whoosh.qparser import FieldsPlugin, FuzzyTermPlugin, MultifieldParser, OrGroup, PlusMinusPlugin
from whoosh.qparser import syntax as wsyntax
from whoosh.qparser.plugins import TaggingPlugin
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.util.times import long_to_datetime

from . import bulk_search, highlight
from .analysis import fold, has_cjk, terms, token_pattern, word_term
from .errors import ArticleNotFoundError, QuerySyntaxError, SearchkitError
from .models import Article, Hit, ParsedDate, Results
from .schema import QUERYABLE_FIELDS, SCHEMA_VERSION
from .storage import open_whoosh, resolve_index_dir
from .whoosh_readers import deleted_docnums as _deleted
from .whoosh_readers import segment_key as _segment_key



def _require_skip_to_quality(self: Any, minquality: float) -> int:
    # Whoosh 2.7's RequireMatcher realigns its two sides after a quality skip even when they
    # already sit on the same document, which trips an assertion in IntersectionMatcher
    # (`title:strike date:[2025-03-01 TO 2025-03-31]` did). Realign only when they differ.
    skipped = self.a.skip_to_quality(minquality)
    if self.a.is_active() and self.b.is_active() and self.a.id() != self.b.id():
        self.child._find_next()
    return int(skipped)


RequireMatcher.skip_to_quality = _require_skip_to_quality


def _and_not_find_first(self: Any) -> None:
    # Whoosh 2.7's AndNotMatcher checks the excluded side only when it already sits on the first
    # candidate, so `japan NOT said` kept its first hit even when that article says "said" (found
    # by comparing with the cluster backend). `_find_next` skips the excluded side there first.
    if self.a.is_active() and self.b.is_active():
        self._find_next()


AndNotMatcher._find_first = _and_not_find_first


def _and_maybe_skip_to(self: Any, id: int) -> bool:
    # Whoosh 2.7's AndMaybeMatcher moves its optional side to `id`, not to where its required side
    # lands, so the optional side could lag behind and its score go missing from that document.
    # The collector turns a word's title-or-body union into one when the body alone can no longer
    # make the page; under a filter (`bank`, since 2024-05, lang en) a document holding the word in
    # both fields then scored its title alone and fell off the page (found by comparing with
    # `bulk_search`, which sums every field).
    if not self.a.is_active():
        raise ReadTooFar
    moved = self.a.skip_to(id)
    if self.a.is_active() and self.b.is_active():
        moved = self.b.skip_to(self.a.id()) or moved
    return bool(moved)


_whoosh_and_maybe_skip_to_quality = AndMaybeMatcher.skip_to_quality


def _and_maybe_skip_to_quality(self: Any, minquality: float) -> int:
    # The same lag after skipping blocks: the optional side is brought up to the required side.
    skipped = _whoosh_and_maybe_skip_to_quality(self, minquality)
    if self.a.is_active() and self.b.is_active() and self.b.id() < self.a.id():
        self.b.skip_to(self.a.id())
    return int(skipped)


AndMaybeMatcher.skip_to = _and_maybe_skip_to
AndMaybeMatcher.skip_to_quality = _and_maybe_skip_to_quality


def _array_union_max_quality(self: Any) -> float:
    # Whoosh 2.7's ArrayUnionMatcher (its OR of many words on a small index) answers the largest of
    # its parts' bounds instead of their sum, and 0 once it has read its parts into its buffer.
    # Under a Require (a filter, RM3's re-ranking of the typed words' matches) the collector then
    # dropped the whole query as soon as the page had a score: RM3 pages came out in index order.
    # Bound what is left: the best buffered score still ahead, and the sum of the parts' own bounds
    # for the documents not yet buffered.
    buffered = self._a[self._docnum - self._offset :] if self._offset <= self._docnum < self._limit else ()
    unread = sum(m.max_quality() for m in self._submatchers if m.is_active()) * self._boost
    return max(max(buffered, default=0.0), unread)


ArrayUnionMatcher.max_quality = _array_union_max_quality

_whoosh_ranges_for_key = HashReader.ranges_for_key
_KEY_MEMO_LIMIT = 4096  # keys remembered per hash file, forgotten all at once past this


def _memoized_ranges_for_key(self: Any, key: bytes) -> Iterator[tuple[int, int]]:
    # Building a query's matchers looks each word up in each segment's term table about eight
    # times (is it there, its statistics for the scorer and for the tree's weights, its postings),
    # every time hashing the key and reading the table's slots from the file: on Reuters ×5 a
    # tenth of a two-word query. A segment's files never change, so where a key's data lies is
    # remembered on the reader of the file.
    memo = self.__dict__.get("_searchkit_ranges")
    if memo is None:
        memo = self.__dict__["_searchkit_ranges"] = {}
    found = memo.get(key)
    if found is None:
        if len(memo) >= _KEY_MEMO_LIMIT:
            memo.clear()
        found = memo[key] = tuple(_whoosh_ranges_for_key(self, key))
    return iter(found)


HashReader.ranges_for_key = _memoized_ranges_for_key

# Ranked pages of plain-word queries are computed a posting block at a time (`bulk_search`), with the
# same totals, pages and scores as Whoosh's collector; False asks Whoosh for every page (the tests
# compare the two).
BULK_RANKING = True

# Ranking. Queries of 2..COORD_MAX_WORDS distinct words rank documents holding more of them first
# (see _CoordMatcher); longer ones are plain BM25. COORD_SCALE is Whoosh's own additive "SQR"
# bonus on the group of words (None = off); it measured slightly below plain BM25 on TIME.
COORD_MAX_WORDS = 3
COORD_SCALE: float | None = None
DEFAULT_FIELDS = ("title", "body")

# Pseudo-relevance feedback (RM3) for long natural-language queries: the top FEEDBACK_DOCS hits'
# most characteristic FEEDBACK_TERMS terms join the query, which keeps FEEDBACK_ORIGINAL_WEIGHT
# of the weight. Standard RM3 settings, not tuned to any collection; only the documents that
# match the words typed are re-ranked, so the hit count and every highlight stay the user's.
FEEDBACK_MIN_WORDS = 4
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 20
FEEDBACK_ORIGINAL_WEIGHT = 0.6
# Terms in more than this share of documents say nothing about a topic.
FEEDBACK_MAX_DOC_SHARE = 0.5


class NewsBM25F(scoring.BM25F):  # type: ignore[misc]
    """BM25F with the Robertson–Spärck Jones idf (as Lucene computes it): log(1 + (N - n + .5) / (n + .5)).

    Whoosh's own idf, log(N / (n + 1)) + 1, never falls below 1, so the common words of a long
    question ("number", "states", "new") weigh nearly as much as its rare ones. On TIME this idf
    alone lifts MAP from 0.665 to 0.683.
    """

    def idf(self, searcher: Any, fieldname: str, text: Any) -> float:
        parent = searcher.get_parent()
        n = parent.doc_frequency(fieldname, text)
        total = parent.doc_count_all()
        return math.log(1 + (total - n + 0.5) / (n + 0.5))

# Expansion caps for wildcard, prefix, fuzzy and range terms.
MAX_EXPANSIONS = 256
MAX_EXPANSION_SCAN = 100_000
MAX_FUZZY_DISTANCE = 2

# "Did you mean" is offered when a query finds fewer than this many articles.
SUGGEST_BELOW = 3

SORTS = ("relevance", "newest", "oldest")
PERIODS = ("year", "month", "day")
SNIPPET_MAXCHARS = highlight.DEFAULT_MAXCHARS

_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"}
_EXPLICIT_OR = re.compile(r"(?<!\S)OR(?!\S)")
# Wildcards and fuzzy terms expand into many words the user never typed: no feedback on top.
_PATTERN_CHARS = re.compile(r"[*~]")
# Fields whose terms are stems of the news analyzer.
_ANALYSED_FIELDS = ("title", "body", "section", "source", "byline")


# --- dates ----------------------------------------------------------------------------------------

_DATE_VALUE = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?|(\d{4})(\d{2})(\d{2})?")
_RELATIVE = re.compile(r"(\d{1,5})\s*([dwmy])", re.IGNORECASE)


def _calendar_period(text: str) -> tuple[datetime, datetime]:
    """The first and last instant (naive UTC) of YYYY, YYYY-MM or YYYY-MM-DD; ValueError otherwise."""
    match = _DATE_VALUE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a date")
    groups = match.groups()
    year_s, month_s, day_s = (groups[0], groups[1], groups[2]) if groups[0] else (groups[3], groups[4], groups[5])
    year = int(year_s)
    if year < 1:
        raise ValueError(f"year {year} does not exist")
    if month_s is None:
        return datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59, 999999)
    month = int(month_s)
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} does not exist")
    next_month = datetime(year + (month == 12), month % 12 + 1, 1) if year < 9999 or month < 12 else datetime.max
    if day_s is None:
        return datetime(year, month, 1), next_month - timedelta(microseconds=1)
    day = int(day_s)
    try:
        start = datetime(year, month, day)
    except ValueError:
        raise ValueError(f"{year:04d}-{month:02d} has no day {day}") from None
    return start, start + timedelta(days=1) - timedelta(microseconds=1)


def _relative_point(text: str, now: datetime) -> datetime | None:
    match = _RELATIVE.fullmatch(text.strip())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit == "d":
        return now - timedelta(days=amount)
    if unit == "w":
        return now - timedelta(weeks=amount)
    months = amount * (12 if unit == "y" else 1)
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    if year < 1:
        raise ValueError(f"{text!r} reaches back before the year 1")
    month += 1
    day = min(now.day, _days_in_month(year, month))
    return now.replace(year=year, month=month, day=day)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + (month == 12), month % 12 + 1, 1) if year < 9999 or month < 12 else date(9999, 12, 31)
    return (following - date(year, month, 1)).days if following.month != month else 31


def _utc_naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo is not None else value


def date_bound(value: str | date | datetime | None, *, end: bool, now: datetime | None = None) -> datetime | None:
    """A `since` (end=False) or `until` (end=True) value as a naive UTC instant.

    Calendar values cover their whole period: `until="2025-03"` runs to the last instant of March.
    Relative values (`30d`, `6w`, `12m`, `2y`) count back from now. Raises ValueError when unreadable.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _utc_naive(value)
    if isinstance(value, date):
        start = datetime(value.year, value.month, value.day)
        return start + timedelta(days=1) - timedelta(microseconds=1) if end else start
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    point = _relative_point(value, now)
    if point is not None:
        return point
    first, last = _calendar_period(value)
    return last if end else first


# --- parsing ---------------------------------------------------------------------------------------


class _DateNode(wsyntax.SyntaxNode):  # type: ignore[misc]
    """A `date:` clause; becomes a DateRange over the UTC `date` field."""

    def __init__(self, value: str) -> None:
        self.value = value

    def r(self) -> str:
        return f"DateNode {self.value!r}"

    def query(self, parser: Any) -> Any:
        clause = "date:" + self.value
        value = self.value.strip()
        try:
            if value.startswith(("[", "{")):
                if not value.endswith(("]", "}")):
                    raise ValueError("the range has no closing bracket")
                inner = value[1:-1].strip()
                parts = re.split(r"\s+TO\s+|^TO\s+|\s+TO$|^TO$", inner, maxsplit=1)
                if len(parts) != 2:
                    raise ValueError("write a range as [START TO END]")
                low, high = parts[0].strip(), parts[1].strip()
                start = _calendar_period(low)[0] if low else None
                stop = _calendar_period(high)[1] if high else None
                if start is None and stop is None:
                    return wq.Every("date")
                if start is not None and stop is not None and start > stop:
                    raise ValueError("the range ends before it starts")
                return wq.DateRange("date", start, stop)
            if not value:
                raise ValueError("it has no value")
            start, stop = _calendar_period(value)
            return wq.DateRange("date", start, stop)
        except ValueError as error:
            exc = QuerySyntaxError(
                f"cannot read the date clause `{clause}` (at character {self.startchar + 1}): {error}; "
                "write date:2025, date:2025-03, date:2025-03-30 or date:[2025-03-01 TO 2025-03-31]"
            )
            exc.position = self.startchar  # type: ignore[attr-defined]
            exc.length = self.endchar - self.startchar  # type: ignore[attr-defined]
            raise exc from None


class _PlusMinusPlugin(PlusMinusPlugin):  # type: ignore[misc]
    """`+word` / `-word`, keeping the parser's own group for the optional words.

    Whoosh's version rebuilds that group as a plain `OrGroup`, which silently drops the
    coordination bonus of `OrGroup.factory(scale)`.
    """

    def do_plusminus(self, parser: Any, group: Any) -> Any:
        required = wsyntax.AndGroup()
        optional = wsyntax.AndGroup() if isinstance(group, wsyntax.AndGroup) else group.empty_copy()
        banned = wsyntax.OrGroup()
        target = optional
        for node in group:
            if isinstance(node, self.Plus):
                target = required
            elif isinstance(node, self.Minus):
                target = banned
            else:
                target.append(node)
                target = optional
        result = optional
        if required:
            result = wsyntax.AndMaybeGroup([required, result])
        if banned:
            result = wsyntax.AndNotGroup([result, banned])
        return result


class _DatePlugin(TaggingPlugin):  # type: ignore[misc]
    # Before the field-name tagger, so `date:` is ours; quoted text is tagged earlier still.
    priority = -10
    expr = r"(?<![\w.])date:(?P<value>\[[^\]]*\]?|\{[^}]*\}?|[^\s()\[\]{}]*)"
    nodetype = _DateNode


def _field_pattern() -> str:
    names = "|".join(re.escape(n) for n in QUERYABLE_FIELDS if n != "date")
    return rf"(?<![\w.])(?P<text>{names}):(?=\S)"


def _plain_words(text: str) -> str:
    """The query as plain words: syntax characters and operators dropped."""
    words = [m.group() for m in token_pattern().finditer(text)]
    return " ".join(w.lower() if w in _OPERATORS else w for w in words)


@dataclass
class ParsedQuery:
    """A Whoosh query ready to run, and what was done to the text on the way."""

    q: Any
    notes: list[str] = field(default_factory=list)
    plain: bool = False  # searched as plain words after the syntax failed
    expanded: bool = False  # holds wildcard/fuzzy/range expansions (alternatives, not words)


class QueryBuilder:
    """Query text → Whoosh query for one index (see the module docstring, stages 1, 3 and 4)."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.parser = self._make_parser(schema, syntax=True)
        self.plain_parser = self._make_parser(schema, syntax=False)

    @staticmethod
    def _make_parser(schema: Any, *, syntax: bool) -> Any:
        parser = MultifieldParser(list(DEFAULT_FIELDS), schema, group=OrGroup.factory(COORD_SCALE) if COORD_SCALE else OrGroup)
        parser.remove_plugin_class(FieldsPlugin)
        if syntax:
            # Only our queryable fields may be named; `provenance:x` or `http://…` stay plain text.
            parser.add_plugin(FieldsPlugin(expr=_field_pattern()))
            parser.add_plugin(_DatePlugin())
            parser.add_plugin(FuzzyTermPlugin())
            # `-word` excludes and `+word` requires, but only at the start of a word: Indo-Pacific
            # and Japan-U.S. stay words.
            parser.add_plugin(_PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+(?=[^\s+])", minusexpr=r"(?<![^\s(])-(?=[^\s-])"))
        return parser

    def parse(self, text: str, reader: Any) -> ParsedQuery:
        if not text.strip():
            raise QuerySyntaxError("the query is empty; give at least one word, or * for every article")
        parsed = ParsedQuery(wq.NullQuery)
        try:
            q = self.parser.parse(text)
        except QuerySyntaxError:
            raise
        except Exception as error:  # Whoosh's parser has many ways to fail on odd input
            parsed.notes.append(
                f"the query did not parse ({error.__class__.__name__}); searched as plain words"
            )
            q = None
        if q is not None:
            parsed.expanded = any(isinstance(leaf, wq.MultiTerm) for leaf in q.leaves())
            q = self._repair(q, reader, parsed.notes)
            # An explicit OR is the user's word; only the implicit grouping of words is ours to read.
            if not _EXPLICIT_OR.search(text):
                q = _restrict(q)
            if COORD_MAX_WORDS >= 2 and not parsed.expanded:
                q = _coordinate(q)
        if q is None or _is_null(q):
            plain = _plain_words(text)
            fallback = self._repair(self.plain_parser.parse(plain), reader, parsed.notes) if plain else wq.NullQuery
            if not _is_null(fallback) and q is not None:
                parsed.notes.append("the query's syntax left nothing to search; searched as plain words")
            q = fallback
            parsed.plain = True
        parsed.q = q
        return parsed

    def _repair(self, q: Any, reader: Any, notes: list[str]) -> Any:
        return self._rewrite(q, reader, notes).normalize()

    def _rewrite(self, q: Any, reader: Any, notes: list[str]) -> Any:
        if isinstance(q, wq.Every):
            return wq.Every() if q.fieldname in (None, *DEFAULT_FIELDS) else q
        if isinstance(q, wq.FuzzyTerm) and q.maxdist > MAX_FUZZY_DISTANCE:
            notes.append(f"fuzzy distance of {q.text}~{q.maxdist} lowered to {MAX_FUZZY_DISTANCE}")
            q = wq.FuzzyTerm(q.fieldname, q.text, boost=q.boost, maxdist=MAX_FUZZY_DISTANCE, prefixlength=q.prefixlength)
        if isinstance(q, wq.MultiTerm):
            return self._expand(q, reader, notes)
        if isinstance(q, wq.Or) and any(isinstance(s, wq.Not) for s in q.subqueries):
            # Whoosh would match "a OR (not b)", i.e. nearly everything; people mean "a AND NOT b".
            positive = [self._rewrite(s, reader, notes) for s in q.subqueries if not isinstance(s, wq.Not)]
            negative = [self._rewrite(s.query, reader, notes) for s in q.subqueries if isinstance(s, wq.Not)]
            base = wq.Or(positive, boost=q.boost, scale=q.scale) if positive else wq.Every()
            return wq.AndNot(base, wq.Or(negative))
        if q.is_leaf():
            return q
        rewritten = q.apply(lambda child: self._rewrite(child, reader, notes))
        if isinstance(q, wq.Or) and isinstance(rewritten, wq.Or):
            rewritten.scale = q.scale  # Query.apply forgets the coordination bonus
        return rewritten

    def _expand(self, q: Any, reader: Any, notes: list[str]) -> Any:
        """A wildcard/prefix/fuzzy/range term as an OR of its most frequent index terms.

        Index terms are stems, but the parser hands wildcard and fuzzy text over unstemmed: a fuzzy
        term is stemmed first (`headquaters~` looks near `headquat`, one edit from `headquart`),
        and a prefix is tried both as typed and stemmed (`headquarters*` must reach `headquart`).
        """
        fieldname = q.field()
        if fieldname not in reader.schema or not reader.schema[fieldname].indexed:
            return wq.NullQuery
        fieldobj = reader.schema[fieldname]
        sources = [q]
        if isinstance(q, (wq.FuzzyTerm, wq.Prefix)) and fieldname in _ANALYSED_FIELDS and isinstance(q.text, str):
            stem = word_term(q.text)
            if stem and stem != q.text:
                if isinstance(q, wq.FuzzyTerm):
                    sources = [wq.FuzzyTerm(fieldname, stem, boost=q.boost, maxdist=q.maxdist, prefixlength=q.prefixlength)]
                else:
                    sources.append(wq.Prefix(fieldname, stem, boost=q.boost))
        # `japan~1/8`: a fixed prefix longer than the word (or its stem) crashed Whoosh's automaton.
        sources = [
            wq.FuzzyTerm(s.fieldname, s.text, boost=s.boost, maxdist=s.maxdist, prefixlength=len(s.text))
            if isinstance(s, wq.FuzzyTerm) and s.prefixlength > len(s.text)
            else s
            for s in sources
        ]
        found: list[tuple[int, str]] = []
        seen: set[str] = set()
        scanned = 0
        truncated = False
        for source in sources:
            for btext in source._btexts(reader):
                scanned += 1
                if scanned > MAX_EXPANSION_SCAN:
                    truncated = True
                    break
                # Fuzzy expansion yields text, the others bytes.
                text = btext if isinstance(btext, str) else fieldobj.from_bytes(btext)
                if text in seen:
                    continue
                seen.add(text)
                found.append((reader.doc_frequency(fieldname, text), text))
        if len(found) > MAX_EXPANSIONS:
            truncated = True
            found.sort(key=lambda item: -item[0])
            found = found[:MAX_EXPANSIONS]
        if truncated and fieldname == "body":
            # MultifieldParser makes one per field; say it once, for the body.
            notes.append(
                f"{_describe(q)} matches too many words; searched the {len(found)} most common"
            )
        expanded = [wq.Term(fieldname, text, boost=q.boost) for _, text in found]
        if not expanded:
            return wq.NullQuery
        return expanded[0] if len(expanded) == 1 else wq.Or(expanded)

    def field_query(self, fieldname: str, value: str) -> Any:
        """An exact-words filter on one analysed field (`--source`, `--section`)."""
        words = terms(value)
        if not words:
            raise QuerySyntaxError(f"--{fieldname} {value!r} has no searchable words")
        if len(words) == 1:
            return wq.Term(fieldname, words[0])
        return wq.Phrase(fieldname, words)


class _CoordMatcher(WrappingMatcher):  # type: ignore[misc]
    """Ranks documents holding more of a short query's words first, BM25 deciding within a tier.

    score = (distinct query words matched - 1) + BM25 / bound, where `bound` bounds the BM25 score
    of every document in the index (`_score_bound`), so the fraction stays below 1 and a document
    with both words always outranks one with a single word, however often it repeats it. The bound
    is one number for the whole index, never a segment's own: dividing by each segment's maximum
    ordered a tier by how the index happened to be split into segments. Scores are on our own
    scale, so the child must never prune blocks by them.

    Once the page is full of documents holding every word (the collector's minimum score reaches
    `words - 1`), a document missing a word can no longer make it. From then on an AND of the
    words (`all_words`, built on demand) leads: it skips from one document holding every word to
    the next, and past whole blocks whose BM25 bound cannot beat the page, while the child follows
    it to score each document exactly as before. The collector counts the matches separately
    (from the unscored OR), so totals do not change.
    """

    def __init__(self, child: Any, words: int, bound: float, all_words: Any = None, driver: Any = None) -> None:
        super().__init__(child)
        self._words = words
        self._bound = bound
        self._all_words = all_words
        self._driver = driver

    def _replacement(self, newchild: Any) -> Any:
        return self.__class__(newchild, self._words, self._bound, self._all_words)

    def _follow(self) -> None:
        if self._driver.is_active():
            self.child.skip_to(self._driver.id())

    def replace(self, minquality: float = 0) -> Any:
        if self._driver is not None:
            return self if self._driver.is_active() else NullMatcher()
        if not self.child.is_active():
            return self.child.replace(0)
        if self._all_words is not None and minquality >= self._words - 1:
            driver = self._all_words()
            if driver.is_active():
                driver.skip_to(self.child.id())
            if not driver.is_active():
                return NullMatcher()
            leading = self.__class__(self.child, self._words, self._bound, None, driver)
            leading._follow()
            return leading
        replaced = self.child.replace(0)
        return self if replaced is self.child else self._replacement(replaced)

    def is_active(self) -> bool:
        return bool(self._driver.is_active() if self._driver is not None else self.child.is_active())

    def next(self) -> Any:
        if self._driver is None:
            return self.child.next()
        entered = self._driver.next()
        self._follow()
        return entered

    def skip_to(self, id: int) -> Any:
        if self._driver is None:
            return self.child.skip_to(id)
        moved = self._driver.skip_to(id)
        self._follow()
        return moved

    # The same answer in every segment (it depends on the query only), so the collector never mixes
    # segments it scored whole with segments it skipped through when it counts.
    def supports_block_quality(self) -> bool:
        return self._all_words is not None or self._driver is not None

    def max_quality(self) -> float:
        return float(self._words)

    def block_quality(self) -> float:
        if self._driver is None:
            return float(self._words)
        share = float(self._driver.block_quality()) * (1 + _QUALITY_SLACK) / self._bound
        return self._words - 1 + min(share, 1.0)

    def skip_to_quality(self, minquality: float) -> int:
        if self._driver is None:
            return 0
        needed = (minquality - (self._words - 1)) * self._bound * (1 - _QUALITY_SLACK)
        if needed <= 0:
            return 0
        skipped = self._driver.skip_to_quality(needed)
        self._follow()
        return int(skipped)

    _driven_matched: int | None = None

    def score(self) -> float:
        child = self.child
        if self._words <= 1:
            matched = 1  # one tier (a phrase alone): nothing to count
        elif self._driver is None:
            matched = len({text for _, text in child.matching_terms(child.id())})
        else:
            # Led by the AND, every document holds every word, so the distinct words it matches are
            # the same for all of them: counted at the first, not walked again for each.
            matched = self._driven_matched
            if matched is None:
                matched = self._driven_matched = len({text for _, text in child.matching_terms(child.id())})
        return max(0, min(matched, self._words) - 1) + min(float(child.score()) / self._bound, 1.0)


# The AND of a short query's words skips blocks by a BM25 bound; the scores it is compared with are
# sums taken in another order, so the bound is widened by far more than their rounding can differ.
_QUALITY_SLACK = 1e-9


class _CoordQuery(wq.WrappingQuery):  # type: ignore[misc]
    """The ranked words of a short query, tiered by `_CoordMatcher`."""

    def __init__(self, child: Any, words: int) -> None:
        super().__init__(child)
        self.words = words

    def __repr__(self) -> str:
        return f"_CoordQuery({self.child!r}, words={self.words})"

    def _rewrap(self, child: Any) -> Any:
        return self.__class__(child, self.words)

    def normalize(self) -> Any:
        return self._rewrap(self.child.normalize())

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if context is not None and context.weighting is None:
            # Unscored (counting, filtering): the tiers change no membership.
            return self.child.matcher(searcher, context)
        all_words = None
        if context is not None:
            all_words_q = _all_words_query(self.child)
            if all_words_q is not None and len(all_words_q.subqueries) == self.words:
                plain_context = context

                def all_words() -> Any:
                    return all_words_q.matcher(searcher, plain_context)

            # Whoosh preloads big ORs into an array that forgets which terms matched; ask for the tree.
            context = context.set(needs_current=True)
        child = self.child.matcher(searcher, context)
        return _CoordMatcher(child, self.words, self._index_bound(searcher, context), all_words)

    def _index_bound(self, searcher: Any, context: Any) -> float:
        """The bound of every document's BM25 for this query in the whole index: the same in every segment."""
        parent = searcher.get_parent()
        cached = getattr(self, "_bound_for", None)
        if cached is not None and cached[0] is parent:
            return float(cached[1])
        weighting = context.weighting if context is not None else parent.weighting
        bound = None
        if isinstance(weighting, scoring.BM25F):
            bound = _score_bound(self.child, _index_idf(parent), weighting.K1)
        if bound is None:
            # Something `_score_bound` cannot bound: the largest bound Whoosh gives in any segment.
            matchers = (self.child.matcher(leaf, context) for leaf, _ in parent.leaf_searchers())
            bound = max((float(m.max_quality()) for m in matchers if m.is_active()), default=0.0)
        bound = bound if bound > 0 else 1.0
        self._bound_for = (parent, bound)
        return bound


def _index_idf(searcher: Any) -> Any:
    """idf(field, word) as BM25F scores it from `searcher`'s statistics; None for a word no document
    holds, NaN for a field BM25F does not score (its weights are not bounded by idf)."""
    schema = searcher.schema

    def idf(fieldname: str, text: Any) -> float | None:
        if fieldname not in schema or not schema[fieldname].scorable:
            return math.nan
        try:
            btext = schema[fieldname].to_bytes(text)
        except ValueError:
            return None
        if not searcher.doc_frequency(fieldname, btext):
            return None
        return float(searcher.idf(fieldname, btext))

    return idf


def _score_bound(q: Any, idf: Any, k1: float) -> float | None:
    """A bound of the BM25F score `q` can give any document, from `idf(field, word)`; None when unknown.

    Whoosh scores a word in a field idf · tf·(K1+1) / (tf + K1·norm), with norm ≥ 1 − B > 0, so
    below idf · (K1+1) however often the word occurs and whatever the field's weight (the title's
    doubled frequency only brings it nearer). ORs and ANDs sum their parts, a phrase its words;
    a word's or phrase's boost multiplies its score. `idf` answers None for a word the index lacks
    (it adds to no score). The cluster backend bounds its tiered queries with this very function.
    """
    boost = float(getattr(q, "boost", 1.0))
    if boost < 0:
        return None
    if isinstance(q, (wq.Term, wq.Phrase)):
        words = [q.text] if isinstance(q, wq.Term) else list(q.words)
        values = [idf(q.fieldname, word) for word in words]
        if not values or any(value is None for value in values):
            return 0.0  # a word no document holds: it matches nothing
        if any(math.isnan(value) for value in values):
            return None
        total = values[0] * (k1 + 1)
        for value in values[1:]:
            total += value * (k1 + 1)
        return total * boost
    if type(q) in (wq.Require, wq.AndNot):
        return _score_bound(q.a, idf, k1)
    if type(q) is wq.AndMaybe or (type(q) in (wq.Or, wq.And) and not getattr(q, "scale", None)):
        parts = [_score_bound(part, idf, k1) for part in q.children()]
        if not parts or any(part is None for part in parts):
            return None
        total = parts[0]
        for part in parts[1:]:
            total += part
        # Whoosh pushes a group's boost down to its words when it normalizes the query, and ignores
        # it in the matcher otherwise: it can only raise the bound.
        return total * max(boost, 1.0)  # type: ignore[operator]
    if _is_null(q):
        return 0.0
    return None


def _all_words_query(q: Any) -> Any:
    """The AND over a short query's words (each word in any field), or None when `q` is not a plain OR of words.

    Only ORs of single terms over title and body qualify: there a document holds every word exactly
    when `_CoordMatcher` puts it in the top tier.
    """
    by_word: dict[str, list[Any]] = {}

    def walk(node: Any) -> bool:
        if isinstance(node, wq.Term):
            if node.fieldname not in DEFAULT_FIELDS or not isinstance(node.text, str):
                return False
            by_word.setdefault(node.text, []).append(node)
            return True
        if type(node) is wq.Or and node.boost == 1.0 and not node.scale and not node.minmatch:
            return all(walk(child) for child in node.subqueries)
        return False

    if not walk(q) or len(by_word) < 2:
        return None
    return wq.And([terms_[0] if len(terms_) == 1 else wq.Or(terms_) for terms_ in by_word.values()])


def _coordinate(q: Any) -> Any:
    """Wrap the ranked OR of a short query (also inside Require/AndNot/AndMaybe) in `_CoordQuery`."""
    if isinstance(q, (wq.Require, wq.AndNot, wq.AndMaybe)):
        return q.__class__(_coordinate(q.a), q.b)
    if not isinstance(q, wq.Or):
        return q
    words = {text for fieldname, text in q.iter_all_terms() if fieldname in DEFAULT_FIELDS}
    if 2 <= len(words) <= COORD_MAX_WORDS:
        return _CoordQuery(q, len(words))
    return q


def _restrict(q: Any) -> Any:
    """Make `date:`, `lang:`, `section:`… clauses beside plain words restrictions, not alternatives.

    In a ranked OR, `joint date:2025-03` would otherwise mean "about joint, or from March";
    people mean "about joint, from March". Only clauses naming a field other than title and
    body are pulled out; they must match, and the words alone rank.
    """
    if isinstance(q, (wq.Require, wq.AndNot, wq.AndMaybe)):
        # `"free and open" -china section:politics` parses as AndNot(Or(…, section), china).
        return q.__class__(_restrict(q.a), q.b)
    if not isinstance(q, wq.Or):
        return q
    required = [s for s in q.subqueries if _is_restriction(s)]
    ranked = [s for s in q.subqueries if not _is_restriction(s)]
    if not required or not ranked:
        return q
    words = ranked[0] if len(ranked) == 1 else wq.Or(ranked, boost=q.boost, scale=q.scale)
    return wq.Require(words, required[0] if len(required) == 1 else wq.And(required))


def _is_restriction(q: Any) -> bool:
    if isinstance(q, wq.NumericRange):
        return True
    if isinstance(q, (wq.Not, wq.AndNot)):
        return False
    fields = {getattr(leaf, "fieldname", None) for leaf in q.leaves()}
    return bool(fields) and None not in fields and not fields & set(DEFAULT_FIELDS)


def _describe(q: Any) -> str:
    if isinstance(q, wq.FuzzyTerm):
        return f"{q.text}~"
    if isinstance(q, wq.Prefix):
        return f"{q.text}*"
    if isinstance(q, (wq.Wildcard, wq.Regex)):
        return str(q.text)
    return "a range"


def _is_null(q: Any) -> bool:
    return q is wq.NullQuery or isinstance(q, type(wq.NullQuery))


# --- the date column --------------------------------------------------------------------------------
#
# Whoosh answers a `DateRange` by expanding it into an OR of tiered numeric terms, which it walks one
# Python step per document per node, and sorts by a Python call per matching document. The sortable
# `date` column holds the same instants, 8 bytes per document: read once per segment and kept in date
# order, it turns a range into a bisection and a newest/oldest page into a heap selection.
# Segments never change once written (deletions are kept beside them), so what is read from one
# serves every search and refresh for as long as the segment exists.


class _SegmentDates:
    """One segment's raw `date` values by docnum, and its docnums in date order."""

    __slots__ = ("values", "by_date", "sorted_values")

    def __init__(self, values: array) -> None:
        self.values = values
        # Ties in docnum order, so a range's docnums come out sorted when the range is one instant.
        by_date = sorted(range(len(values)), key=values.__getitem__)
        self.by_date = array("L", by_date)
        self.sorted_values = array("Q", map(values.__getitem__, by_date))

    def between(self, low: int, high: int) -> array:
        """The docnums (deleted ones too) whose raw value lies in [low, high], in date order."""
        return self.by_date[bisect_left(self.sorted_values, low) : bisect_right(self.sorted_values, high)]

    def set_between(self, low: int, high: int) -> set[int]:
        """`between` as a set. A wide range is built as every docnum less those outside it: a set
        filled in docnum order is several times faster to build than one filled in date order."""
        start = bisect_left(self.sorted_values, low)
        end = bisect_right(self.sorted_values, high)
        count = len(self.values)
        if (end - start) * 2 <= count:
            return set(self.by_date[start:end])
        docs = set(range(count))
        docs.difference_update(self.by_date[:start])
        docs.difference_update(self.by_date[end:])
        return docs

    def count_between(self, low: int, high: int) -> int:
        return bisect_right(self.sorted_values, high) - bisect_left(self.sorted_values, low)


def _read_date_values(segment: Any) -> array | None:
    """A segment's raw `date` column as an array by docnum, or None when it has no such column."""
    if not segment.has_column("date"):
        return None
    column = segment.column_reader("date", translate=False)
    count = segment.doc_count_all()
    if isinstance(column, NumericColumn.Reader) and column._typecode == "Q":
        # One read of the whole column instead of a file read and an unpack per document.
        stored = min(column._count, count)
        values = array("Q")
        values.frombytes(column._dbfile.get(column._basepos, stored * 8) if stored else b"")
        if sys.byteorder == "little":
            values.byteswap()  # the column is big-endian ("!Q")
        values.extend([column._default] * (count - stored))
        return values
    return array("Q", (column[docnum] for docnum in range(count)))


class _DateColumns:
    """The `date` column of every segment an open index has searched, read once per segment."""

    def __init__(self) -> None:
        self._segments: dict[Any, _SegmentDates | None] = {}
        self._sort_keys: tuple[Any, list[int], list[int]] | None = None

    def segment(self, segment: Any) -> _SegmentDates | None:
        key = _segment_key(segment)
        if key is None:
            values = _read_date_values(segment)
            return _SegmentDates(values) if values is not None else None
        if key not in self._segments:
            values = _read_date_values(segment)
            self._segments[key] = _SegmentDates(values) if values is not None else None
        return self._segments[key]

    def keep_only(self, reader: Any) -> None:
        """Forget the segments `reader` no longer has (called when the searcher is refreshed)."""
        live = {_segment_key(segment) for segment, _ in reader.leaf_readers()}
        self._segments = {k: v for k, v in self._segments.items() if k in live}
        self._sort_keys = None

    def usable(self, reader: Any) -> bool:
        return all(self.segment(segment) is not None for segment, _ in reader.leaf_readers())

    def sort_keys(self, reader: Any) -> tuple[list[int], list[int]]:
        """Sort keys by global docnum for newest-first and oldest-first, undated articles last in both."""
        identity = tuple(_segment_key(s) for s, _ in reader.leaf_readers())
        if self._sort_keys is None or self._sort_keys[0] != identity:
            values: list[int] = []
            for segment, _ in reader.leaf_readers():
                values.extend(self.segment(segment).values)  # type: ignore[union-attr]
            newest = [v if 0 < v < _NO_DATE_ABOVE else -1 for v in values]
            oldest = [v if 0 < v < _NO_DATE_ABOVE else 2**64 for v in values]
            self._sort_keys = (identity, newest, oldest)
        return self._sort_keys[1], self._sort_keys[2]


# The field is a signed 64-bit NUMERIC: an open-ended range stops at its largest value, below the
# column's default (2**64 - 1) that undated documents hold.
_LATEST_DATE = 2**63 - 1

class _ColumnDateRange(wq.DateRange):  # type: ignore[misc]
    """A `DateRange` matched from the cached `date` column instead of Whoosh's numeric terms.

    It matches the same documents with the same constant score (Whoosh's `ConstantScoreQuery` of the
    range's boost). Where Whoosh would score the range's terms themselves (a context that needs the
    current match, e.g. inside the tiering of a short query), it hands over to Whoosh unchanged.
    """

    def __init__(self, original: Any, columns: _DateColumns) -> None:
        super().__init__(
            original.fieldname, original.startdate, original.enddate,
            startexcl=original.startexcl, endexcl=original.endexcl,
            boost=original.boost, constantscore=original.constantscore,
        )
        self._original = original
        self._columns = columns

    def _bounds(self) -> tuple[int, int]:
        # Whoosh's range over the unsigned 64-bit field: open ends are its extremes, exclusive ends step in.
        low = 0 if self.start is None else self.start + (1 if self.startexcl else 0)
        high = _LATEST_DATE if self.end is None else self.end - (1 if self.endexcl else 0)
        return low, high

    def _segments(self, reader: Any) -> list[tuple[Any, int, _SegmentDates]] | None:
        parts = []
        for segment, offset in reader.leaf_readers():
            dates = self._columns.segment(segment)
            if dates is None:
                return None
            parts.append((segment, offset, dates))
        return parts

    def estimate_size(self, ixreader: Any) -> int:
        # The same number Whoosh's term expansion gives (each dated document holds one term per
        # tier, deleted ones included): And orders its children by it, and so sums their scores.
        parts = self._segments(ixreader)
        if parts is None or not self.constantscore:
            return int(self._original.estimate_size(ixreader))
        low, high = self._bounds()
        return sum(dates.count_between(low, high) for _, _, dates in parts)

    def estimate_min_size(self, ixreader: Any) -> int:
        return self.estimate_size(ixreader)

    def docs(self, searcher: Any) -> Any:
        return iter(self._docnums(searcher.reader()) or ())

    def docnum_set(self, reader: Any) -> set[int] | None:
        """The documents of `reader` in the range (deleted ones never), as a set: counting and
        restricting need no order, so the date-ordered docnums are not sorted."""
        parts = self._segments(reader)
        if parts is None:
            return None
        low, high = self._bounds()
        found: set[int] = set()
        for segment, offset, dates in parts:
            local = dates.set_between(low, high)
            if segment.has_deletions():
                local -= _deleted(segment)
            if len(parts) == 1 and not offset:
                return local  # a segment's own searcher: no copy
            found.update(local if not offset else map(offset.__add__, local))
        return found

    def _docnums(self, reader: Any) -> array | None:
        parts = self._segments(reader)
        if parts is None:
            return None
        low, high = self._bounds()
        found = array("L")
        for segment, offset, dates in parts:
            local = sorted(dates.between(low, high))
            if segment.has_deletions():
                deleted = _deleted(segment)
                local = [d for d in local if d not in deleted]
            found.extend(local if not offset else map(offset.__add__, local))
        return found

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if not self.constantscore or (context is not None and context.needs_current):
            return self._original.matcher(searcher, context)
        docnums = self._docnums(searcher.reader())
        if docnums is None:
            return self._original.matcher(searcher, context)
        if not docnums:
            return NullMatcher()
        return ListMatcher(docnums, all_weights=self.boost)


def _with_date_columns(q: Any, columns: _DateColumns) -> Any:
    """`q` with every `date` range answered from the column."""

    def swap(node: Any) -> Any:
        if type(node) is wq.DateRange and node.fieldname == "date":
            return _ColumnDateRange(node, columns)
        return node

    return q.accept(swap)


# --- counting ---------------------------------------------------------------------------------------
#
# A page needs only its top documents, which Whoosh finds by skipping blocks; the total needs every
# match. Whoosh counts by walking the unscored query one document at a time (in a big segment an OR
# is a tree of UnionMatchers, several Python calls per document per node). Here the documents of each
# term are read a block at a time into sets, and the query's ORs, ANDs and NOTs become set operations.
# Any other query is asked for its documents the Whoosh way, so the count is always Whoosh's.


def _count_matches(searcher: Any, q: Any) -> int:
    return sum(len(_segment_matches(leaf, q)) for leaf, _ in searcher.leaf_searchers())


def _matching_docnums(searcher: Any, q: Any) -> list[int]:
    """The global docnums `q` matches, ascending."""
    found: list[int] = []
    for leaf, offset in searcher.leaf_searchers():
        local = sorted(_segment_matches(leaf, q))
        found.extend(local if not offset else map(offset.__add__, local))
    return found


def _segment_matches(searcher: Any, q: Any) -> set[int]:
    """The docnums of one segment's searcher that `q` matches (deleted documents never)."""
    kind = type(q)
    if kind is _CoordQuery:
        return _segment_matches(searcher, q.child)
    if kind is wq.Term and q.fieldname in DEFAULT_FIELDS and isinstance(q.text, str):
        return _term_docnums(searcher.reader(), q.fieldname, q.text)
    if kind is _ColumnDateRange:
        docnums = q.docnum_set(searcher.reader())
        if docnums is not None:
            return docnums
    subqueries = getattr(q, "subqueries", ())
    if not any(isinstance(sub, wq.Not) for sub in subqueries):
        if kind is wq.Or and not q.minmatch:
            found: set[int] = set()
            for sub in subqueries:
                found |= _segment_matches(searcher, sub)
            return found
        if kind is wq.And and subqueries:
            found = _segment_matches(searcher, subqueries[0])
            for sub in subqueries[1:]:
                if not found:
                    break
                found &= _segment_matches(searcher, sub)
            return found
        if kind is wq.Require:
            found = _segment_matches(searcher, q.a)
            return found & _segment_matches(searcher, q.b) if found else found
        if kind is wq.AndNot:
            found = _segment_matches(searcher, q.a)
            return found - _segment_matches(searcher, q.b) if found else found
        if kind is wq.AndMaybe:
            return _segment_matches(searcher, q.a)
    return set(q.docs(searcher))


def _term_docnums(reader: Any, fieldname: str, text: str) -> set[int]:
    btext = reader.schema[fieldname].to_bytes(text)
    if (fieldname, btext) not in reader:
        return set()
    postings = reader.postings(fieldname, btext)
    # Deleted documents are taken out below, from the set, rather than one by one.
    leaf = postings.child if isinstance(postings, FilterMatcher) else postings
    found: set[int] = set()
    if isinstance(leaf, W3LeafMatcher):
        while leaf.is_active():
            if leaf._ids is None:
                leaf._read_ids()
            found.update(leaf._ids[leaf._i :] if leaf._i else leaf._ids)
            leaf._next_block()
    else:
        found.update(leaf.all_ids())
    if reader.has_deletions():
        found -= _deleted(reader)
    return found


# --- results ----------------------------------------------------------------------------------------


def _plain_words_of(q: Any) -> list[str] | None:
    """The body terms of a query made only of plain words over title and body, else None.

    Words, hyphenated words (parsed as phrases) and AND groups qualify; fields, NOT and the
    tiering of short queries mean the user said precisely what to match, so they do not.
    """
    words: list[str] = []

    def walk(node: Any) -> bool:
        if isinstance(node, wq.Term):
            if node.fieldname not in DEFAULT_FIELDS:
                return False
            if node.fieldname == "body":
                words.append(node.text)
            return True
        if isinstance(node, wq.Phrase):
            if node.fieldname not in DEFAULT_FIELDS:
                return False
            if node.fieldname == "body":
                words.extend(node.words)
            return True
        if isinstance(node, (wq.Or, wq.And)) and not isinstance(node, wq.DisjunctionMax):
            return all(walk(child) for child in node.subqueries)
        return False

    return words if walk(q) and words else None


def _rm3_weights(words: list[str], top: list[tuple[dict[str, Any], float]], searcher: Any) -> dict[str, float]:
    """RM3: the query's own terms blended with a relevance model of the top documents.

    Each document votes for its terms in proportion to their share of its length, weighted by
    exp(score) normalised over the top documents (the usual estimate of p(D | Q)).
    """
    best = max(score for _, score in top)
    doc_weights = [math.exp(score - best) for _, score in top]
    norm = sum(doc_weights) or 1.0
    relevance: Counter[str] = Counter()
    for (fields, _), weight in zip(top, doc_weights):
        counts = Counter(terms(f"{fields.get('title') or ''}\n{fields.get('body') or ''}"))
        length = sum(counts.values()) or 1
        for term, tf in counts.items():
            relevance[term] += (weight / norm) * tf / length
    documents = searcher.doc_count_all() or 1
    candidates = [
        (term, value)
        for term, value in relevance.most_common(FEEDBACK_TERMS * 3)
        if searcher.doc_frequency("body", term) <= FEEDBACK_MAX_DOC_SHARE * documents
    ][:FEEDBACK_TERMS]
    feedback_norm = sum(value for _, value in candidates) or 1.0
    query_counts = Counter(words)
    query_norm = sum(query_counts.values())
    blended: Counter[str] = Counter()
    for term, count in query_counts.items():
        blended[term] += FEEDBACK_ORIGINAL_WEIGHT * count / query_norm
    for term, value in candidates:
        blended[term] += (1 - FEEDBACK_ORIGINAL_WEIGHT) * value / feedback_norm
    return dict(blended)


@dataclass(frozen=True)
class IndexStats:
    """What an index holds (`searchkit stats`)."""

    index_dir: str
    documents: int
    earliest: str | None  # ISO 8601, UTC
    latest: str | None
    undated: int
    sources: dict[str, int]
    sections: dict[str, int]
    languages: dict[str, int]
    encodings: dict[str, int]
    size_bytes: int
    schema_version: int
    # Common words whose neighbours are recorded for phrase queries (`searchkit index
    # --phrase-pairs`): 0 for none, None where the backend has no such lists.
    phrase_pairs: int | None = None
    # No pair lists, in an index as large as those that get them by default: a rebuild with
    # --phrase-pairs would answer phrases of common words faster.
    phrase_pairs_advised: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "index_dir": self.index_dir,
            "documents": self.documents,
            "earliest": self.earliest,
            "latest": self.latest,
            "undated": self.undated,
            "sources": dict(self.sources),
            "sections": dict(self.sections),
            "languages": dict(self.languages),
            "encodings": dict(self.encodings),
            "size_bytes": self.size_bytes,
            "schema_version": self.schema_version,
            "phrase_pairs": self.phrase_pairs,
            "phrase_pairs_advised": self.phrase_pairs_advised,
        }


def _counts(counter: Counter[str]) -> dict[str, int]:
    """Most common first, then by name; the empty value shown as "(none)"."""
    return {(k or "(none)"): v for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))}


def _iso_utc(raw: int) -> str:
    return long_to_datetime(raw).replace(tzinfo=timezone.utc).isoformat()


class SearchIndex:
    """An open index, ready for many queries: one Whoosh searcher, refreshed when the index changes.

    Use it in a `with` block (or call `close()`), so the searcher's files are released.
    """

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        # Search with the reader that opened every segment to check it, not a second one.
        self._ix = open_whoosh(self.index_dir, keep_reader=True, mapped=True)
        self._searcher: Any = Searcher(self._ix.checked_reader, weighting=NewsBM25F(), fromindex=self._ix)
        self._builder = QueryBuilder(self._ix.schema)
        self._highlighter = highlight.Highlighter(SNIPPET_MAXCHARS)
        self._dates = _DateColumns()
        self._lengths = bulk_search.FieldLengths()

    # lifecycle
    def __enter__(self) -> "SearchIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def _s(self) -> Any:
        if self._searcher is None:
            raise SearchkitError(f"the index in {self.index_dir} is closed")
        # A searcher sees the index as it was when opened; an indexer may have committed since.
        if self._searcher.up_to_date():
            return self._searcher
        self._searcher = _reopened(self._ix, self._searcher)
        self._dates.keep_only(self._searcher.reader())
        self._lengths.keep_only(self._searcher.reader())
        return self._searcher

    def __repr__(self) -> str:
        return f"SearchIndex({str(self.index_dir)!r})"

    # searching
    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        page: int = 1,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        source: str | None = None,
        section: str | None = None,
        lang: str | None = None,
        sort: str = "relevance",
        fragments: int = 3,
        suggest: bool = True,
    ) -> Results:
        """One page of ranked hits for `query` (see the module docstring for the syntax).

        Raises QuerySyntaxError for a date clause or filter that cannot be read, and ValueError
        for a bad `limit`, `page`, `sort` or `fragments`.
        """
        started = time.perf_counter()
        _check_paging(limit, page)
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if fragments < 0:
            raise ValueError("fragments must be 0 or more")
        searcher = self._s()
        parsed = self._builder.parse(query, searcher.reader())
        filter_q = self._filter(since=since, until=until, source=source, section=section, lang=lang)
        if _is_null(parsed.q):
            total, page_hits = 0, []
        else:
            ranked_q, filter_q = self._with_feedback(searcher, query, parsed.q, filter_q, sort)
            total, page_hits = self._run(searcher, ranked_q, filter_q, limit, page, sort)
        specs = _match_specs(parsed.q)
        hits = tuple(
            self._hit(fields, score, rank, specs, fragments)
            for rank, (fields, score) in enumerate(page_hits, start=(page - 1) * limit + 1)
        )
        suggestion = None
        if suggest and total < SUGGEST_BELOW:
            suggestion = self._suggestion(query, total, filter_q)
        return Results(
            query=query,
            total=total,
            page=page,
            hits=hits,
            suggestion=suggestion,
            elapsed=time.perf_counter() - started,
            notes=tuple(dict.fromkeys(parsed.notes)),
        )

    def _with_feedback(self, searcher: Any, text: str, q: Any, filter_q: Any, sort: str) -> tuple[Any, Any]:
        """The query to rank by, and the filter: RM3 feedback for a long question of plain words.

        The expanded query only re-ranks the documents the typed words match (they become part of
        the filter), so totals and highlights are those of the words the user typed.
        """
        words = _plain_words_of(q)
        if sort != "relevance" or words is None or len(set(words)) < FEEDBACK_MIN_WORDS or _PATTERN_CHARS.search(text):
            return q, filter_q
        _, top = self._ranked(searcher, self._restricted(q, filter_q), FEEDBACK_DOCS, 1)
        if not top:
            return q, filter_q
        expanded = _rm3_weights(words, top, searcher)
        ranked = wq.Or(
            [wq.Or([wq.Term(name, term, boost=weight) for name in DEFAULT_FIELDS]) for term, weight in expanded.items()]
        )
        return ranked, (q if filter_q is None else wq.And([filter_q, q]))

    def _run(self, searcher: Any, q: Any, filter_q: Any, limit: int, page: int, sort: str) -> tuple[int, list[tuple[dict[str, Any], float]]]:
        q = self._restricted(q, filter_q)
        if sort == "relevance":
            return self._ranked(searcher, q, limit, page)
        if self._dates.usable(searcher.reader()):
            return self._run_by_date(searcher, q, limit, page, newest=sort == "newest")
        # Undated articles hold the column's "missing" value; either way they go after the dated ones.
        if sort == "newest":
            facet = sorting.TranslateFacet(_undated_lowest, sorting.FieldFacet("date"))
            return self._collected(searcher, q, limit, page, sortedby=facet, reverse=True)
        facet = sorting.TranslateFacet(_undated_highest, sorting.FieldFacet("date"))
        return self._collected(searcher, q, limit, page, sortedby=facet)

    def _ranked(self, searcher: Any, q: Any, limit: int, page: int) -> tuple[int, list[tuple[dict[str, Any], float]]]:
        """The total and one page of `q` (already restricted) by relevance: from `bulk_search` when
        it handles the query's shape (the same page, faster), else from Whoosh's collector."""
        if BULK_RANKING:
            ranked = bulk_search.ranked_page(
                searcher, q, page * limit, self._lengths, _segment_matches, _CoordMatcher, first=(page - 1) * limit
            )
            if ranked is not None:
                total, window = ranked
                return total, [(searcher.stored_fields(docnum), float(score or 0.0)) for score, docnum in window]
        return self._collected(searcher, q, limit, page)

    def _collected(self, searcher: Any, q: Any, limit: int, page: int, **kwargs: Any) -> tuple[int, list[tuple[dict[str, Any], float]]]:
        """The total and one page of `q` from Whoosh's collector (`kwargs`: its sort)."""
        results = searcher.search(q, limit=page * limit, **kwargs)
        # Whoosh knows the total when it scored every match; when it skipped, count apart.
        total = len(results) if results.has_exact_length() else _count_matches(searcher, q)
        start = (page - 1) * limit
        window = [(hit.fields(), float(hit.score or 0.0)) for hit in results[start : start + limit]] if start < total else []
        return total, window

    def _restricted(self, q: Any, filter_q: Any) -> Any:
        """`q` restricted to what `filter_q` allows, its date ranges answered from the column.

        A restriction rather than Whoosh's `filter`: the same documents and scores, but the query
        skips ahead to the documents the filter allows instead of testing each of its matches.
        """
        q = _with_date_columns(q, self._dates)
        if filter_q is None:
            return q
        return wq.Require(q, _with_date_columns(filter_q, self._dates))

    def _run_by_date(self, searcher: Any, q: Any, limit: int, page: int, *, newest: bool) -> tuple[int, list[tuple[dict[str, Any], float]]]:
        """A newest- or oldest-first page from the cached date column: what Whoosh's sort on `date` gives.

        Whoosh orders by (date, docnum), reversed for newest, undated articles last either way, and
        reports the date's raw value as the score; `heapq` keeps the first of equal keys, so the
        documents go in ascending docnum order for oldest and descending for newest.
        """
        matched = _matching_docnums(searcher, q)
        newest_keys, oldest_keys = self._dates.sort_keys(searcher.reader())
        wanted = page * limit
        if newest:
            keys = newest_keys
            top = heapq.nlargest(wanted, reversed(matched), key=keys.__getitem__)
        else:
            keys = oldest_keys
            top = heapq.nsmallest(wanted, matched, key=keys.__getitem__)
        window = top[(page - 1) * limit :]
        return len(matched), [(searcher.stored_fields(docnum), float(keys[docnum])) for docnum in window]

    def _filter(self, *, since: Any, until: Any, source: str | None, section: str | None, lang: str | None) -> Any:
        parts: list[Any] = []
        try:
            start = date_bound(since, end=False)
            stop = date_bound(until, end=True)
        except ValueError as error:
            raise QuerySyntaxError(f"cannot read the date filter: {error}; use YYYY, YYYY-MM, YYYY-MM-DD or 30d, 6w, 12m, 2y") from None
        if start is not None and stop is not None and start > stop:
            raise QuerySyntaxError("--since is later than --until: nothing can match")
        if start is not None or stop is not None:
            parts.append(wq.DateRange("date", start, stop))
        if source:
            parts.append(self._builder.field_query("source", source))
        if section:
            parts.append(self._builder.field_query("section", section))
        if lang:
            codes = {lang, lang.lower()}
            parts.append(wq.Or([wq.Term("lang", c) for c in sorted(codes)]))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else wq.And(parts)

    def _hit(self, fields: dict[str, Any], score: float, rank: int, specs: tuple[Any, Any], fragments: int) -> Hit:
        """A page's hit; `specs` (`_match_specs`) are the query's terms and phrases in body and title."""
        body_spec, title_spec = specs
        title = str(fields.get("title") or "")
        body = str(fields.get("body") or "")
        return Hit(
            id=str(fields.get("id", "")),
            rank=rank,
            score=score,
            title=title,
            date=fields.get("date_iso"),
            source=str(fields.get("source") or ""),
            section=str(fields.get("section") or ""),
            url=str(fields.get("url") or ""),
            path=str(fields.get("path") or ""),
            snippets=self._highlighter.snippets(body, body_spec, fragments),
            title_highlights=highlight.highlight_spans(title, title_spec),
        )

    # articles
    def get(self, id: str) -> Article:
        """The whole article with this id; ArticleNotFoundError when the index has none."""
        searcher = self._s()
        docnum = searcher.document_number(id=id)
        if docnum is None:
            raise ArticleNotFoundError(f"no article with id {id!r} in {self.index_dir}")
        return _article(searcher.stored_fields(docnum))

    def highlight(self, text: str, query: str) -> tuple[tuple[int, int], ...]:
        """Spans of `text` that `query` matches in article bodies (`show --highlight`)."""
        parsed = self._builder.parse(query, self._s().reader())
        return highlight.highlight_spans(text, highlight.match_spec(parsed.q, "body"))

    def title_highlight(self, text: str, query: str) -> tuple[tuple[int, int], ...]:
        parsed = self._builder.parse(query, self._s().reader())
        return highlight.highlight_spans(text, highlight.match_spec(parsed.q, "title"))

    def similar(self, id: str, *, limit: int = 10, page: int = 1, fragments: int = 3, numterms: int = 15) -> Results:
        """Articles like the one with this id: its key terms (Whoosh's more-like-this), ranked."""
        started = time.perf_counter()
        _check_paging(limit, page)
        searcher = self._s()
        docnum = searcher.document_number(id=id)
        if docnum is None:
            raise ArticleNotFoundError(f"no article with id {id!r} in {self.index_dir}")
        fields = searcher.stored_fields(docnum)
        text = f"{fields.get('title') or ''}\n{fields.get('body') or ''}"
        key_terms = searcher.key_terms_from_text("body", text, numterms=numterms, normalize=True)
        if not key_terms:
            return Results(query=f"similar:{id}", total=0, page=page, hits=(), elapsed=time.perf_counter() - started)
        q = wq.Or([wq.Term("body", t, boost=max(w, 0.01)) for t, w in key_terms])
        results = searcher.search(q, limit=page * limit, mask={docnum})
        total = len(results)
        start = (page - 1) * limit
        window = results[start : start + limit] if start < total else []
        specs = _match_specs(q)
        hits = tuple(
            self._hit(hit.fields(), float(hit.score or 0.0), rank, specs, fragments)
            for rank, hit in enumerate(window, start=start + 1)
        )
        return Results(query=f"similar:{id}", total=total, page=page, hits=hits, elapsed=time.perf_counter() - started)

    # aggregates
    def timeline(
        self,
        query: str,
        *,
        by: str = "month",
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        source: str | None = None,
        section: str | None = None,
        lang: str | None = None,
    ) -> list[tuple[str, int]]:
        """How many matching dated articles fall in each year, month or day (UTC), oldest first.

        Periods between the first and last with no articles are listed with 0, so the series can
        be drawn as is; undated articles are not counted.
        """
        if by not in PERIODS:
            raise ValueError(f"by must be one of {', '.join(PERIODS)}, not {by!r}")
        searcher = self._s()
        parsed = self._builder.parse(query, searcher.reader())
        filter_q = self._filter(since=since, until=until, source=source, section=section, lang=lang)
        if _is_null(parsed.q):
            return []
        if filter_q is not None:
            filter_q = _with_date_columns(filter_q, self._dates)
        results = searcher.search(_with_date_columns(parsed.q, self._dates), limit=None, scored=False, filter=filter_q)
        column = searcher.reader().column_reader("date", translate=False)
        counts: Counter[str] = Counter()
        width = {"year": 4, "month": 7, "day": 10}[by]
        for docnum in results.docs():
            raw = column[docnum]
            if _is_dated(raw):
                counts[long_to_datetime(raw).isoformat()[:width]] += 1
        return _fill_periods(counts, by)

    def stats(self) -> IndexStats:
        """Documents, date span and counts by source, section, language and encoding.

        Reads every stored document once, so it takes a while on a very large index.
        """
        searcher = self._s()
        reader = searcher.reader()
        column = reader.column_reader("date", translate=False)
        earliest = latest = 0
        undated = 0
        sources: Counter[str] = Counter()
        sections: Counter[str] = Counter()
        languages: Counter[str] = Counter()
        encodings: Counter[str] = Counter()
        documents = 0
        for docnum, fields in reader.iter_docs():
            documents += 1
            raw = column[docnum]
            if _is_dated(raw):
                earliest = raw if not earliest else min(earliest, raw)
                latest = max(latest, raw)
            else:
                undated += 1
            sources[str(fields.get("source") or "")] += 1
            sections[str(fields.get("section") or "")] += 1
            languages[str(fields.get("lang") or "")] += 1
            provenance = fields.get("provenance") or ()
            encodings[str(provenance[2]) if len(provenance) > 2 else ""] += 1
        size = sum(p.stat().st_size for p in self.index_dir.iterdir() if p.is_file())
        from .indexer import PAIRS_AUTO_ARTICLES

        pair_words = len(reader.schema["pairs"].words) if "pairs" in reader.schema else 0
        return IndexStats(
            index_dir=str(self.index_dir),
            documents=documents,
            earliest=_iso_utc(earliest) if earliest else None,
            latest=_iso_utc(latest) if latest else None,
            undated=undated,
            sources=_counts(sources),
            sections=_counts(sections),
            languages=_counts(languages),
            encodings=_counts(encodings),
            size_bytes=size,
            schema_version=SCHEMA_VERSION,
            phrase_pairs=pair_words,
            phrase_pairs_advised=not pair_words and documents >= PAIRS_AUTO_ARTICLES,
        )

    # "did you mean"
    def suggest(self, query: str) -> str | None:
        """The query with misspelt words replaced by the index's commonest near spellings, or None."""
        reader = self._s().reader()
        return _corrected(query, reader)

    def _suggestion(self, query: str, total: int, filter_q: Any) -> str | None:
        searcher = self._s()
        corrected = _corrected(query, searcher.reader())
        if corrected is None:
            return None
        try:
            parsed = self._builder.parse(corrected, searcher.reader())
        except QuerySyntaxError:
            return None
        if _is_null(parsed.q):
            return None
        better = len(searcher.search(self._restricted(parsed.q, filter_q), limit=1))
        return corrected if better > total else None


def _reopened(ix: Any, stale: Any) -> Any:
    """A searcher on the index as last committed, keeping the readers of `stale`'s unchanged segments.

    Not Whoosh's `Searcher.refresh`: it keeps a segment's reader whenever the segment's id is the
    same, but a commit that deletes articles from a segment changes only its deleted set, so the
    kept reader still found them; and it adds the old segments to the new ones, so after a merge
    every merged article was found twice. Here a reader is kept only for a segment the new commit
    lists with the same deletions. The `date` columns stay valid (a segment's values never change;
    deletions are read from the new readers when a search asks for them).
    """
    kept = {
        reader.segment().segment_id(): reader
        for reader, _ in stale.reader().leaf_readers()
        if isinstance(reader, SegmentReader) and reader.segment() is not None
    }
    for attempt in range(_REOPEN_ATTEMPTS):
        opened: list[Any] = []
        readers: list[Any] = []
        try:
            toc = ix._read_toc()
            for segment in toc.segments:
                old = kept.get(segment.segment_id())
                if old is not None and _deleted(old.segment()) == _deleted(segment):
                    readers.append(old)
                else:
                    opened.append(SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation))
                    readers.append(opened[-1])
        except OSError:
            # A writer removed a merged segment's files (or the list itself) while we read them.
            for reader in opened:
                reader.close()
            if attempt + 1 == _REOPEN_ATTEMPTS:
                raise
            time.sleep(0.05)
            continue
        break
    reused = {id(reader) for reader in readers}
    for reader in kept.values():
        if id(reader) not in reused:
            reader.close()
    if not readers:
        reader = EmptyReader(toc.schema)
    elif len(readers) == 1:
        reader = readers[0]
        reader._gen = toc.generation  # a kept reader still names the generation it was opened at
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, fromindex=ix, weighting=stale.weighting)


_REOPEN_ATTEMPTS = 10


def _check_paging(limit: int, page: int) -> None:
    if limit < 1:
        raise ValueError("limit must be 1 or more")
    if page < 1:
        raise ValueError("page must be 1 or more")


# The raw `date` column: Whoosh's long form of the UTC instant; documents without a date hold the
# column's default (2**64 - 1), and no real date comes near 2**63.
_NO_DATE_ABOVE = 2**63


def _is_dated(raw: Any) -> bool:
    return isinstance(raw, int) and 0 < raw < _NO_DATE_ABOVE


def _match_specs(q: Any) -> tuple[Any, Any]:
    """(body, title) terms and phrases of `q` to highlight: the same for every hit of a page."""
    return highlight.match_spec(q, "body"), highlight.match_spec(q, "title")


def _undated_lowest(raw: Any) -> int:
    return raw if _is_dated(raw) else -1


def _undated_highest(raw: Any) -> int:
    return raw if _is_dated(raw) else 2**64


def _fill_periods(counts: Counter[str], by: str) -> list[tuple[str, int]]:
    if not counts:
        return []
    keys = sorted(counts)
    periods = list(_period_range(keys[0], keys[-1], by))
    if len(periods) > 20_000:  # decades of days: list only what occurs
        return [(k, counts[k]) for k in keys]
    return [(p, counts.get(p, 0)) for p in periods]


def _period_range(first: str, last: str, by: str) -> Iterator[str]:
    if by == "year":
        for year in range(int(first), int(last) + 1):
            yield f"{year:04d}"
    elif by == "month":
        y, m = int(first[:4]), int(first[5:7])
        while f"{y:04d}-{m:02d}" <= last:
            yield f"{y:04d}-{m:02d}"
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    else:
        day = date.fromisoformat(first)
        end = date.fromisoformat(last)
        while day <= end:
            yield day.isoformat()
            if day == date.max:
                break
            day += timedelta(days=1)


def _article(fields: dict[str, Any]) -> Article:
    """An Article rebuilt from stored fields (the inverse of `schema.to_document`)."""
    parsed_date = None
    if fields.get("date_iso"):
        info = fields.get("date_info") or ("second", "", False)
        try:
            parsed_date = ParsedDate(datetime.fromisoformat(fields["date_iso"]), info[0], info[1], bool(info[2]))
        except (ValueError, TypeError, IndexError):
            parsed_date = None
    provenance = tuple(fields.get("provenance") or ("", "", "", "", 1.0))
    fmt, record_key, encoding, method, confidence = (provenance + ("", "", "", "", 1.0))[:5]
    article_id = str(fields.get("id", ""))
    suffix = f"#{record_key}" if record_key else ""
    rel_path = article_id[: -len(suffix)] if suffix and article_id.endswith(suffix) else article_id
    keywords = tuple(k for k in str(fields.get("keywords") or "").split(",") if k)
    return Article(
        id=article_id,
        title=str(fields.get("title") or ""),
        body=str(fields.get("body") or ""),
        date=parsed_date,
        section=str(fields.get("section") or ""),
        byline=str(fields.get("byline") or ""),
        dateline=str(fields.get("dateline") or ""),
        source=str(fields.get("source") or ""),
        url=str(fields.get("url") or ""),
        language=str(fields.get("lang") or ""),
        keywords=keywords,
        path=rel_path,
        record_key=str(record_key or ""),
        format=str(fmt or ""),
        encoding=str(encoding or ""),
        encoding_method=str(method or ""),
        encoding_confidence=float(confidence if confidence is not None else 1.0),
    )


# --- did you mean -------------------------------------------------------------------------------------

# Words a correction may touch: letters only (no digits, no CJK), not a field name, not followed by
# wildcard or fuzzy syntax, not an operator.
_CORRECTABLE = re.compile(r"(?<![\w:*?~])(?P<word>[^\W\d_]{3,})(?![\w:*?~])")
_SUFFIXES = ("", "e", "s", "es", "ed", "ing", "ly", "er", "y", "ies", "ion", "ions")


def _doc_frequency(reader: Any, term: str) -> int:
    return sum(reader.doc_frequency(f, term) for f in DEFAULT_FIELDS)


def _corrected(query: str, reader: Any) -> str | None:
    pieces: list[str] = []
    last = 0
    changed = False
    for match in _CORRECTABLE.finditer(query):
        word = match.group("word")
        if word in _OPERATORS or has_cjk(word):
            continue
        replacement = _correct_word(word, reader)
        if replacement is None:
            continue
        pieces.append(query[last : match.start()])
        pieces.append(replacement)
        last = match.end()
        changed = True
    if not changed:
        return None
    pieces.append(query[last:])
    return "".join(pieces)


def _correct_word(word: str, reader: Any) -> str | None:
    term = word_term(word)
    if term is None or _doc_frequency(reader, term) > 0:
        return None
    best: tuple[int, str] | None = None
    for distance in (1, 2):
        if distance == 2 and len(term) < 5:
            break
        candidates = {c for c in reader.terms_within("body", term, distance, prefix=1) if c != term}
        for candidate in candidates:
            df = _doc_frequency(reader, candidate)
            if df and (best is None or (df, candidate) > (best[0], best[1])):
                best = (df, candidate)
        if best:
            break
    if best is None:
        return None
    surface = _surface_form(word, term, best[1])
    return _match_case(word, surface) if surface else None


def _surface_form(word: str, term: str, candidate: str) -> str | None:
    """A readable word whose stem is `candidate`, built from how `word` relates to its stem."""
    folded = fold(word)
    common = 0
    while common < min(len(folded), len(term)) and folded[common] == term[common]:
        common += 1
    tail = folded[common:]  # what the user typed beyond the stem ("ers" of "hedquarters")
    stem_rest = term[common:]
    bases = [candidate[: len(candidate) - len(stem_rest)] if stem_rest and candidate.endswith(stem_rest) else candidate]
    if bases[0] != candidate:
        bases.append(candidate)
    for base in bases:
        for form in [base + tail, *(base + s for s in _SUFFIXES)]:
            if form and word_term(form) == candidate:
                return form
    return None


def _match_case(original: str, word: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


# --- entry point ---------------------------------------------------------------------------------------


def open_index(index_dir: str | Path | None = None) -> SearchIndex:
    """Open a searchkit index for searching: `index_dir`, else `$SEARCHKIT_INDEX`, else `./index`.

    Raises IndexNotFoundError, IndexVersionError or IndexCorruptError when it cannot be used.

        with open_index("index") as ix:
            for hit in ix.search("joint headquarters", limit=5).hits:
                print(hit.rank, hit.title)
    """
    return SearchIndex(resolve_index_dir(index_dir))


__all__ = ["IndexStats", "SearchIndex", "date_bound", "open_index"]
