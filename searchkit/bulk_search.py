"""Ranked pages computed a posting block at a time instead of a document at a time.

Whoosh ranks a query by walking its tree of matchers one document at a time: for a word over title
and body, a union of two postings; for a short query, `_CoordMatcher` tiers above a union of four
or six; for a phrase, an intersection whose positions are compared per document; under a date
filter, a `RequireMatcher` beside them; for deleted documents, a `FilterMatcher` round each posting
list. Every document costs several Python calls per node (`is_active`, `id`, `skip_to`, `score`),
and on Reuters ×5 that walk was nearly all of a query's time.

Here the same matchers are built for each segment (so the page is computed from exactly the tree
Whoosh would walk; from a copy of the query, `_bulk_query`, whose terms and phrases make those
matchers with fewer term look-ups and without Whoosh's search for a phrase's first match), but
their postings are read a block at a time — document numbers and weights together, in C — and:

* membership is set algebra: unions and intersections of the words' documents (for a phrase,
  those whose words stand at consecutive positions), less deleted ones, within the restrictions'
  documents (`allowed`), minus excluded ones; its size is the total;
* BM25F is computed per posting from the segment's field-length bytes, read once per segment
  (`FieldLengths`), with Whoosh's own formula and the constants of each matcher's own scorer;
* scores are summed node by node over Whoosh's own matcher tree, so every document's score is the
  very floating-point sum Whoosh's `a.score() + b.score()` makes (the tree's shape varies per
  segment with the words' frequencies, and addition is commutative but not associative);
* tiers (`_CoordMatcher`): when the documents holding every word fill the page, only they are scored;
* the page is chosen by score, then lower docnum, as Whoosh's collector orders ties.

A tree with any other node (a union preloaded into an array, which Whoosh builds for a long OR on a
segment under 5,000 documents; required-or-optional words; a phrase with slop; a date clause inside
an OR; a scorer other than BM25F; a field without one-byte lengths) is not handled: `ranked_page`
answers None and the searcher asks Whoosh's collector, as before.
"""

from __future__ import annotations

import copy
import heapq
from bisect import bisect_left, bisect_right
from collections import Counter
from itertools import accumulate, compress, repeat
from operator import add, eq, getitem, itemgetter, mul, neg, not_, sub, truediv
from typing import Any, Callable, Iterator, Sequence

from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import IntersectionMatcher, NullMatcher, UnionMatcher
from whoosh.matching.binary import BiMatcher
from whoosh.matching.wrappers import FilterMatcher, WrappingMatcher
from whoosh.query.spans import SpanNear2
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.util import make_binary_tree
from whoosh.util.numeric import byte_to_length

from .postings_format import take_block
from .pair_lists import open_lists
from .schema import PAIRED_FIELDS, pair_key
from .whoosh_readers import deleted_docnums as _deleted
from .whoosh_readers import segment_key as _segment_key

# The type of Whoosh's NullMatcher instance (NullMatcher is an instance, not a class).
_NULL_MATCHER = type(NullMatcher())


class _UnsearchedIntersection(IntersectionMatcher):  # type: ignore[misc]
    """Whoosh's IntersectionMatcher, not moved to the first document both sides hold.

    Whoosh's constructor skips its sides ahead to their first shared document, block by block; the
    nodes here read every posting of both sides and intersect them as sets, so that walk is not
    needed (~0.3 ms of a phrase query on Reuters ×5). Only `bulk_search` reads it: a query it does
    not handle is answered by Whoosh from matchers of its own."""

    def __init__(self, a: Any, b: Any) -> None:
        BiMatcher.__init__(self, a, b)


class _UnsearchedPhraseMatcher(SpanNear2.SpanNear2Matcher):  # type: ignore[misc]
    """Whoosh's phrase matcher, not yet on its first match.

    Whoosh's constructor moves to the first document where the words stand together, reading the
    positions of each candidate on the way; `_Phrase` finds every such document from the positions
    itself, so that search would be done twice. Its words' matchers stay at their first postings,
    and their intersection is an `_UnsearchedIntersection`."""

    def __init__(
        self, ms: list[Any], slop: int = 1, ordered: bool = True, mindist: int = 1, pairs: list[set[int]] | None = None
    ) -> None:
        self.ms, self.slop, self.ordered, self.mindist = ms, slop, ordered, mindist
        WrappingMatcher.__init__(self, make_binary_tree(_UnsearchedIntersection, ms))
        self._spans = None
        # For each pair of adjacent words both common (`schema.WordPairs`), the documents where
        # they stand together, or None when no pair is indexed: `_Phrase` takes a two-word
        # phrase's matches from here, and a longer phrase's candidates.
        self.pairs = pairs


def _term_matcher(searcher: Any, context: Any, fieldname: str, text: bytes) -> tuple[Any, int] | None:
    """(what `searcher.postings(fieldname, text)` gives a segment's searcher, the term's document
    frequency there), from one look-up in the term table: `Term.matcher` asks whether the term is
    there, `BM25FScorer` reads its term info, `SegmentReader.postings` reads it again, and the
    query tree above asks its frequency to order its matchers (~20 µs a term a segment each). None
    when the weighting, field or reader is not the kind this reproduces (the caller asks Whoosh then)."""
    reader = searcher.reader()
    weighting = context.weighting if context is not None else searcher.weighting
    field = searcher.schema[fieldname]
    # Any BM25F whose scorer is BM25F's own (searchkit's changes only its idf, which `parent.idf` asks).
    if type(reader) is not SegmentReader or not isinstance(weighting, BM25F) or type(weighting).scorer is not BM25F.scorer:
        return None
    if not field.scorable:
        return None
    try:
        terminfo = reader._terms.term_info(fieldname, text)
    except TermNotFound:
        return NullMatcher(), 0
    # BM25F.scorer → BM25FScorer.__init__ and WeightLengthScorer.setup, given the term info.
    scorer = BM25FScorer.__new__(BM25FScorer)
    parent = searcher.get_parent()
    scorer.idf = parent.idf(fieldname, text)
    scorer.avgfl = parent.avg_field_length(fieldname) or 1
    scorer.B = weighting._field_B.get(fieldname, weighting.B)
    scorer.K1 = weighting.K1
    scorer.qf = 1
    scorer.dfl = lambda docid: searcher.doc_field_length(docid, fieldname, 1)
    scorer._maxquality = scorer._score(terminfo.max_weight(), terminfo.min_length())
    matcher = reader._codec.postings_reader(reader._terms._postfile, terminfo, field.format, term=(fieldname, text), scorer=scorer)
    deleted = reader.deleted_docs_set
    return (FilterMatcher(matcher, deleted, exclude=True) if deleted else matcher), terminfo.doc_frequency()


class _SizeKept:
    """A query that remembers the size it found for the last segment it made a matcher for:
    Whoosh's And and Or ask `estimate_size` of each subquery right after its matcher, to order
    them, which would look every term up again."""

    _size: tuple[Any, int] | None = None  # (the segment reader, the query's estimate_size there)

    def _keep_size(self, reader: Any, size: int) -> None:
        self._size = (reader, size)

    def _kept_size(self, reader: Any) -> int | None:
        kept = self._size
        return kept[1] if kept is not None and kept[0] is reader else None


class _DirectTerm(_SizeKept, wq.Term):  # type: ignore[misc]
    """A term whose segment matchers come from `_term_matcher` (`whoosh.query.Term.matcher` and
    `estimate_size` with one look-up instead of five)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if self.minquality or self.fieldname not in searcher.schema:
            return super().matcher(searcher, context)
        try:
            text = searcher.schema[self.fieldname].to_bytes(self.text)
        except ValueError:
            return NullMatcher()
        found = _term_matcher(searcher, context, self.fieldname, text)
        if found is None:
            return super().matcher(searcher, context)
        matcher, frequency = found
        self._keep_size(searcher.reader(), frequency)
        return WrappingMatcher(matcher, boost=self.boost) if self.boost != 1.0 and type(matcher) is not _NULL_MATCHER else matcher

    def estimate_size(self, ixreader: Any) -> int:
        size = self._kept_size(ixreader)
        return super().estimate_size(ixreader) if size is None else size


class _UnsearchedPhrase(_SizeKept, wq.Phrase):  # type: ignore[misc]
    """A phrase whose matcher is an `_UnsearchedPhraseMatcher`: `whoosh.query.Phrase.matcher`
    with that one change (same checks, same words' matchers, same boost), and its `estimate_size`
    (its rarest word's document frequency, 0 for a word the segment lacks) from those matchers'
    look-ups."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        fieldname = self.fieldname
        if fieldname not in searcher.schema:
            return NullMatcher()
        field = searcher.schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            raise Unsupported("a phrase in a field without positions")  # Whoosh raises its QueryError
        reader = searcher.reader()
        words = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return NullMatcher()
            words.append(word)
        ms = []
        frequencies: list[int] | None = []
        for word in words:
            found = _term_matcher(searcher, context, fieldname, word)
            if found is None:
                frequencies = None
                m = wq.Term(fieldname, word).matcher(searcher, context) if (fieldname, word) in reader else NullMatcher()
            else:
                m, frequency = found
                if frequencies is not None:
                    frequencies.append(frequency)
            if type(m) is _NULL_MATCHER:
                if frequencies is not None:
                    self._keep_size(reader, 0)
                return m  # a word the segment lacks: no phrase there (Whoosh checks each word first)
            ms.append(m)
        if frequencies:
            self._keep_size(reader, min(frequencies))
        pairs = _adjacent_pairs(reader, searcher.schema, fieldname, self.words) if self.slop == 1 else None
        matcher = _UnsearchedPhraseMatcher(ms, slop=self.slop, ordered=True, mindist=1, pairs=pairs)
        return WrappingMatcher(matcher, boost=self.boost) if self.boost != 1.0 else matcher

    def estimate_size(self, ixreader: Any) -> int:
        size = self._kept_size(ixreader)
        return super().estimate_size(ixreader) if size is None else size


def _adjacent_pairs(reader: Any, schema: Any, fieldname: str, words: Sequence[str]) -> list[set[int]] | None:
    """For each pair of adjacent `words` that are both common words of the index
    (`schema.WordPairs`), the segment's documents where the first stands right before the second
    in `fieldname`; None when no pair is, or the segment has no pair file."""
    if "pairs" not in schema or fieldname not in PAIRED_FIELDS or type(reader) is not SegmentReader:
        return None
    field = schema["pairs"]
    numbers = field.numbers
    keys = [pair_key(fieldname, first, second, numbers) for first, second in zip(words, words[1:]) if first in numbers and second in numbers]
    if not keys:
        return None
    lists = reader.__dict__.get("_searchkit_pairs", _UNREAD)
    if lists is _UNREAD:
        # Opened once per segment reader: the searcher keeps its readers while the index is unchanged.
        lists = reader._searchkit_pairs = open_lists(reader._storage, reader.segment(), field.fingerprint)
    if lists is None:
        return None
    return [lists.holding(list_id, code) for list_id, code in keys]


_UNREAD = object()


def _bulk_query(q: Any) -> Any:
    """`q` for building the matchers the bulk path reads: its phrases as `_UnsearchedPhrase`s and
    its terms as `_DirectTerm`s. The nodes above them are copied with every other attribute kept
    (Whoosh's `accept` rebuilds an `Or` without its `scale` and `minmatch`); `q` is left as it is."""
    kind = type(q)
    if kind is wq.Phrase:
        return _UnsearchedPhrase(q.fieldname, q.words, slop=q.slop, boost=q.boost, char_ranges=q.char_ranges)
    if kind is wq.Term:
        return _DirectTerm(q.fieldname, q.text, boost=q.boost, minquality=q.minquality)
    if isinstance(q, wq.CompoundQuery):
        subqueries = [_bulk_query(sub) for sub in q.subqueries]
        if all(new is old for new, old in zip(subqueries, q.subqueries)):
            return q
        copied = copy.copy(q)
        copied.subqueries = subqueries
        return copied
    if isinstance(q, wq.WrappingQuery):
        child = _bulk_query(q.child)
        if child is q.child:
            return q
        copied = copy.copy(q)
        copied.child = child
        return copied
    return q  # anything else (a binary query, a Not, …) as Whoosh builds it


_PHRASE_MATCHERS = (SpanNear2.SpanNear2Matcher, _UnsearchedPhraseMatcher)

# When the documents to score are fewer than this share of a posting list, they are looked up in
# it rather than the whole list being scored.
_DENSE_SHARE = 1.0
# When they are fewer than 1/this of it, each is found by bisection instead of by a dict of it.
_BISECT_SHARE = 4


class Unsupported(Exception):
    """The query or an index part is not of a shape this module reproduces exactly."""


# --- field lengths ----------------------------------------------------------------------------------


class FieldLengths:
    """Each segment's one-byte field-length column, per field, read once per segment.

    Whoosh's BM25F asks `doc_field_length` once per scored posting; here the column's bytes are
    kept (100 kB a field at 100k articles) and indexed per block. Segments never change once written.
    """

    def __init__(self) -> None:
        self._raw: dict[tuple[Any, str], bytes] = {}

    def raw(self, reader: Any, fieldname: str) -> bytes:
        key = (_segment_key(reader), fieldname)
        found = self._raw.get(key) if key[0] is not None else None
        if found is None:
            found = _read_lengths(reader, fieldname)
            if key[0] is not None:
                self._raw[key] = found
        return found

    def keep_only(self, reader: Any) -> None:
        """Forget the segments `reader` no longer has (called when the searcher is refreshed)."""
        live = {_segment_key(segment) for segment, _ in reader.leaf_readers()}
        self._raw = {k: v for k, v in self._raw.items() if k[0] in live}


def _read_lengths(reader: Any, fieldname: str) -> bytes:
    # The column `whoosh_readers` also reads: one byte per document (Whoosh's length_to_byte).
    if not isinstance(reader, SegmentReader):
        raise Unsupported("not a segment reader")
    column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None or getattr(column, "_fixedlen", None) != 1 or not hasattr(column, "_dbfile"):
        raise Unsupported("no one-byte length column")
    raw = bytes(column._dbfile.get(column._basepos, column._count))
    # The column ends at the last document with a length; later ones have none (byte 0), as in Whoosh.
    return raw + bytes(max(0, reader.doc_count_all() - len(raw)))


# Whoosh's BM25 norm K1·((1 − B) + B·fl/avgfl) for each length byte, per (B, K1, avgfl): the same
# expression in the same order as `whoosh.scoring.bm25`, so the same float. Byte 0 means "no
# length": a posting always has one (Whoosh could not score it otherwise), so 0 is only ever looked
# up for a document the term is absent from, whose weight 0.0 scores 0.0 whatever the norm.
_NORMS: dict[tuple[float, float, float], list[float]] = {}


def _norms(B: float, K1: float, avgfl: float) -> list[float]:
    key = (B, K1, avgfl)
    table = _NORMS.get(key)
    if table is None:
        if len(_NORMS) > 64:
            _NORMS.clear()
        table = _NORMS[key] = [1.0] + [K1 * ((1 - B) + B * byte_to_length(b) / avgfl) for b in range(1, 256)]
    return table


# --- the matcher tree -------------------------------------------------------------------------------
#
# A segment's matcher becomes a tree of nodes, each able to give its documents (`members`), their
# scores as a dict (`scores`, every member) or as a list for given documents (`vector`, 0.0 for
# non-members), and which words each document matched (`words`, for the tiers). A node's members are
# taken within `allowed` (the restrictions' documents) when there is one.


class _Leaf:
    """One term's postings in one segment (a W3LeafMatcher), with what BM25F needs to score them."""

    __slots__ = (
        "matcher", "fieldname", "text", "idf", "k1p1", "norms", "ids", "weights", "values", "blocks",
        "_members", "_scores", "_weight_of",
    )

    def __init__(self, matcher: Any, lengths: bytes) -> None:
        scorer = matcher.scorer
        self.matcher = matcher
        self.fieldname, self.text = matcher._term
        self.idf = scorer.idf
        self.k1p1 = scorer.K1 + 1
        self.norms = (_norms(scorer.B, scorer.K1, scorer.avgfl), lengths)
        self.ids: list[int] = []
        self.weights: list[float] = []
        self.values: list[Any] | None = None  # the postings' values, read for a phrase
        # For a phrase, with a matcher that reads positions a block at a time: (index in `ids` of the
        # block's first posting read, the block's posting index there, postings read, block offset).
        self.blocks: list[tuple[int, int, int, int]] | None = None
        self._members: set[int] | None = None
        self._scores: dict[int, float] | None = None
        self._weight_of: dict[int, float] | None = None

    def read(self) -> None:
        """Every posting from where the matcher stands, a block at a time."""
        leaf = self.matcher
        ids, weights, values, blocks = self.ids, self.weights, self.values, self.blocks
        if values is None and hasattr(leaf, "read_rest"):
            leaf.read_rest(ids, weights, blocks)
        while leaf.is_active():
            start = take_block(leaf, ids, weights, blocks)
            if values is not None:
                if leaf._values is None:
                    leaf._read_values()
                values.extend(leaf._values[start:] if start else leaf._values)
            leaf._next_block()
        if ids and ids[-1] >= len(self.norms[1]):
            raise Unsupported("a posting past the segment's documents")

    def members(self, allowed: set[int] | None) -> set[int]:
        if self._members is None:
            self._members = set(self.ids) if allowed is None else allowed.intersection(self.ids)
        return self._members

    def words(self, allowed: set[int] | None) -> dict[Any, set[int]]:
        return {self.text: self.members(allowed)}

    def scores(self) -> dict[int, float]:
        """docnum → Whoosh's BM25F score (`BM25FScorer._score`) of every posting: the caller's to
        change (a union adds into it), so it is not kept."""
        scores = self._all_scores()
        self._scores = None
        return scores

    def _all_scores(self) -> dict[int, float]:
        if self._scores is None:
            self._scores = self._score_all()
        return self._scores

    def _score_all(self) -> dict[int, float]:
        return dict(zip(self.ids, self.score_list()))

    def score_list(self) -> list[float]:
        """Whoosh's BM25F score of every posting, in `ids` order."""
        ids = self.ids
        if not ids:
            return []
        norms, lengths = self.norms
        found = itemgetter(*ids)(lengths) if len(ids) > 1 else (lengths[ids[0]],)
        if 0 in found:
            raise Unsupported("a posting without a field length")  # Whoosh could not score it either
        weights = self.weights
        tables = self._tables(weights)
        if tables is not None:
            return list(map(getitem, map(tables.__getitem__, weights), found))
        idf, k1p1 = self.idf, self.k1p1
        return [idf * ((w * k1p1) / (w + norms[b])) for w, b in zip(weights, found)]

    def vector(self, docs: list[int], wanted: set[int], lengths: Callable[[str], tuple[int, ...]]) -> list[float]:
        """The scores of `docs`, 0.0 where the term is absent.

        Few documents out of many postings are looked up by weight and scored alone; otherwise the
        whole posting list is scored and looked up."""
        if len(docs) >= len(self.ids) * _DENSE_SHARE:
            return list(map(self._all_scores().get, docs, repeat(0.0)))
        idf, k1p1 = self.idf, self.k1p1
        norms = self.norms[0]
        return [idf * ((w * k1p1) / (w + norms[b])) for w, b in zip(self._weights_of(docs), lengths(self.fieldname))]

    def _weights_of(self, docs: list[int]) -> Iterator[float]:
        """The term's weight in each of `docs`, 0.0 where it is absent."""
        ids = self.ids
        if self._weight_of is None and len(docs) * _BISECT_SHARE < len(ids):
            # Far fewer documents than postings (a phrase's matches among a common word's
            # postings): each is found by bisection, in C, rather than by a dict of every posting.
            places = list(map(bisect_left, repeat(ids), docs))
            size = len(ids)
            ids_past_end = ids + [-1]  # a place past the end holds no document
            present = list(map(eq, map(ids_past_end.__getitem__, places), docs))
            weights = self.weights + [0.0]
            # An absent document's place becomes the end, where the weight is 0.0.
            places = map(add, map(mul, places, present), map(mul, repeat(size), map(not_, present)))
            return map(weights.__getitem__, places)
        if self._weight_of is None:
            self._weight_of = dict(zip(ids, self.weights))
        return map(self._weight_of.get, docs, repeat(0.0))

    def _tables(self, weights: list[float]) -> dict[float, list[float]] | None:
        """weight → the score for each length byte, when the postings far outnumber the table's
        entries: a posting then costs two lookups instead of four float operations."""
        if len(weights) < 4096:
            return None
        distinct = set(weights)
        if len(distinct) * 256 * 4 > len(weights):
            return None
        idf, k1p1 = self.idf, self.k1p1
        norms = self.norms[0]
        return {w: [idf * ((w * k1p1) / (w + norm)) for norm in norms] for w in distinct}

    def positions_of(self, docs: list[int]) -> list[Sequence[int]]:
        """The term's positions in each of `docs` (ascending docnums, every one a posting here), in order."""
        ids = self.ids
        if self.blocks is None:
            decode = self.matcher.format.decoder("positions")
            values = self.values or ()
            return [decode(values[i]) for i in map(bisect_left, repeat(ids), docs)]
        # Only the blocks holding some of `docs` are read (`block_positions`, two arrays each); a
        # posting's positions are a slice of the block's array. Per block a few calls find its
        # documents (by bisection, or all of them) and cut their slices, in C.
        matcher = self.matcher
        found: list[Sequence[int]] = []
        done, wanted = 0, len(docs)
        for first, skip, count, at in self.blocks:
            if done == wanted:
                break
            end = first + count
            upto = bisect_right(docs, ids[end - 1], done)
            if upto == done:
                continue
            counts, positions = matcher.block_positions(at)
            ends = list(accumulate(counts, initial=0))
            if upto - done == count:
                places: Any = range(skip, skip + count)
            else:
                found_at = map(bisect_left, repeat(ids), docs[done:upto], repeat(first), repeat(end))
                places = list(map((skip - first).__add__, found_at))
            found.extend(map(positions.__getitem__, map(slice, map(ends.__getitem__, places), map(ends.__getitem__, map(_ONE_ON, places)))))
            done = upto
        return found


class _Pair:
    """A matcher of two children (a union or an intersection)."""

    __slots__ = ("a", "b", "_members")

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b
        self._members: set[int] | None = None

    def _words_of_both(self, allowed: set[int] | None) -> dict[Any, set[int]]:
        words: dict[Any, set[int]] = self.a.words(allowed)
        for text, docs in self.b.words(allowed).items():
            words[text] = words[text] | docs if text in words else docs
        return words


class _Sum(_Pair):
    """A UnionMatcher: a.score() + b.score() where both match, else the one that does."""

    __slots__ = ()

    def members(self, allowed: set[int] | None) -> set[int]:
        if self._members is None:
            self._members = self.a.members(allowed) | self.b.members(allowed)
        return self._members

    def words(self, allowed: set[int] | None) -> dict[Any, set[int]]:
        return self._words_of_both(allowed)

    def scores(self) -> dict[int, float]:
        a: dict[int, float] = self.a.scores()
        b: dict[int, float] = self.b.scores()
        if len(a) < len(b):
            a, b = b, a
        # x + y == y + x in floating point: only which sums are taken together matters, not their
        # order. The children's dicts are new, so the larger one takes the sums.
        get = a.get
        for d, score in b.items():
            other = get(d)
            a[d] = score if other is None else other + score
        return a

    def vector(self, docs: list[int], wanted: set[int], lengths: Callable[[str], tuple[int, ...]]) -> list[float]:
        # An absent side counts 0.0, which leaves every sum exactly as Whoosh's, where an inactive
        # side of a union adds nothing: x + 0.0 == x.
        return list(map(add, self.a.vector(docs, wanted, lengths), self.b.vector(docs, wanted, lengths)))


class _Both(_Pair):
    """An IntersectionMatcher (an AND, or the words of a phrase): a.score() + b.score() where both match."""

    __slots__ = ()

    def members(self, allowed: set[int] | None) -> set[int]:
        if self._members is None:
            self._members = self.a.members(allowed) & self.b.members(allowed)
        return self._members

    def words(self, allowed: set[int] | None) -> dict[Any, set[int]]:
        return _words_within(self._words_of_both(allowed), self.members(allowed))

    def scores(self) -> dict[int, float]:
        a = self.a.scores()
        b = self.b.scores()
        return {d: a[d] + b[d] for d in a.keys() & b.keys()}

    def vector(self, docs: list[int], wanted: set[int], lengths: Callable[[str], tuple[int, ...]]) -> list[float]:
        summed = list(map(add, self.a.vector(docs, wanted, lengths), self.b.vector(docs, wanted, lengths)))
        return _masked(summed, docs, wanted, self._members)


class _Phrase:
    """Whoosh's SpanNear2Matcher for a phrase (slop 1, in order): its words' documents where they
    stand at consecutive positions, scored as the sum of its words (`child`, their intersection).

    `pairs` are the documents of its indexed word pairs (`_UnsearchedPhraseMatcher.pairs`): a
    phrase of two words whose pair is indexed matches exactly there; otherwise they narrow the
    candidates whose positions are compared."""

    __slots__ = ("child", "words_in_order", "pairs", "_members")

    def __init__(self, child: Any, words_in_order: list[_Leaf], pairs: list[set[int]] | None = None) -> None:
        self.child, self.words_in_order, self.pairs = child, words_in_order, pairs
        self._members: set[int] | None = None
        if pairs is not None and len(words_in_order) == 2 == len(pairs) + 1:
            return  # no positions needed
        for leaf in words_in_order:
            if hasattr(leaf.matcher, "block_positions"):
                leaf.blocks = []  # positions read later, for the candidate documents' blocks only
            else:
                leaf.values = []

    def members(self, allowed: set[int] | None) -> set[int]:
        if self._members is None:
            pairs = self.pairs
            if pairs is not None and len(self.words_in_order) == 2:
                members = pairs[0] if allowed is None else allowed.intersection(pairs[0])
                # The words' intersection is read only through this phrase, whose matches are
                # among its documents: it takes them as its own (`vector` masks with them).
                self.child._members = members
            else:
                candidates = self.child.members(allowed)
                for docs in pairs or ():
                    candidates = candidates & docs
                members = _consecutive(candidates, self.words_in_order)
            self._members = members
        return self._members

    def words(self, allowed: set[int] | None) -> dict[Any, set[int]]:
        # Every word of the phrase is in each of its matches.
        members = self.members(allowed)
        return {leaf.text: members for leaf in self.words_in_order}

    def scores(self) -> dict[int, float]:
        # Asked without restrictions (allowed None) unless the members were found already.
        members = self.members(None) if self._members is None else self._members
        scores = self.child.scores()
        return {d: scores[d] for d in members}

    def vector(self, docs: list[int], wanted: set[int], lengths: Callable[[str], tuple[int, ...]]) -> list[float]:
        return _masked(self.child.vector(docs, wanted, lengths), docs, wanted, self._members)


class _Scale:
    """A WrappingMatcher: the child's score times a boost."""

    __slots__ = ("child", "boost")

    def __init__(self, child: Any, boost: float) -> None:
        self.child, self.boost = child, boost

    def members(self, allowed: set[int] | None) -> set[int]:
        return self.child.members(allowed)  # type: ignore[no-any-return]

    def words(self, allowed: set[int] | None) -> dict[Any, set[int]]:
        return self.child.words(allowed)  # type: ignore[no-any-return]

    def scores(self) -> dict[int, float]:
        boost = self.boost
        return {d: score * boost for d, score in self.child.scores().items()}

    def vector(self, docs: list[int], wanted: set[int], lengths: Callable[[str], tuple[int, ...]]) -> list[float]:
        # 0.0 · boost == 0.0 (a negative boost is not handled).
        return list(map(mul, self.child.vector(docs, wanted, lengths), repeat(self.boost)))


def _score_lists(tree: Any) -> tuple[list[int], list[float]]:
    """(docnums, scores) of every match of `tree`, in no particular order: `tree.scores()` as two
    lists, made without a dict of every posting for a word, or a word in two fields (the common
    case: a query word in title and body)."""
    if type(tree) is _Leaf:
        return tree.ids, tree.score_list()
    if type(tree) is not _Sum or type(tree.a) is not _Leaf or type(tree.b) is not _Leaf:
        scores = tree.scores()
        return list(scores), list(scores.values())
    big, small = (tree.a, tree.b) if len(tree.a.ids) >= len(tree.b.ids) else (tree.b, tree.a)
    docnums, scores = big.ids, big.score_list()
    others, other_scores = small.ids, small.score_list()
    # Each of the smaller list's documents, found in the larger by bisection (in C): its score is
    # added there (x + y == y + x in floating point), or it is a match of its own.
    places = list(map(bisect_left, repeat(docnums), others))
    ends_past = docnums + [-1]
    shared = list(map(eq, map(ends_past.__getitem__, places), others))
    for place, score in zip(compress(places, shared), compress(other_scores, shared)):
        scores[place] += score
    alone = list(map(not_, shared))
    return docnums + list(compress(others, alone)), scores + list(compress(other_scores, alone))


def _words_within(words: dict[Any, set[int]], members: set[int]) -> dict[Any, set[int]]:
    # Whoosh's matching_terms descends only into a matcher that stands on the document: an AND or a
    # phrase counts its words only where it matches as a whole.
    return {text: docs & members for text, docs in words.items()}


def _masked(scores: list[float], docs: list[int], wanted: set[int], members: set[int] | None) -> list[float]:
    """`scores` with 0.0 for the documents outside `members` (an AND or phrase that does not match)."""
    if members is None:
        raise Unsupported("members asked before they were found")
    if members.issuperset(wanted):
        return scores
    return [score if d in members else 0.0 for d, score in zip(docs, scores)]


def _consecutive(candidates: set[int], words: list[_Leaf]) -> set[int]:
    """The candidates where the words stand at consecutive positions, in order.

    What SpanNear2Matcher._get_spans finds with slop 1, in order, at distance at least 1: span by
    span, the next word must start right after the span so far ends, so a phrase of k words matches
    exactly where some position p holds the first word, p + 1 the second, …, p + k − 1 the last.
    Each candidate's test is a set of the first word's positions met by the next ones' less their
    place, done for every candidate by C-level maps over the words' positions in candidate order
    (positions below 257 are shared int objects, so the sets are cheap)."""
    if not candidates:
        return set()
    docs = sorted(candidates)
    first, *rest = [leaf.positions_of(docs) for leaf in words]
    if len(rest) == 1:
        apart = map(frozenset.isdisjoint, map(frozenset, first), map(map, repeat(_ONE_BACK), rest[0]))
        return set(compress(docs, map(not_, apart)))
    starts: Iterator[frozenset[int]] = map(frozenset, first)
    for back, positions in enumerate(rest, start=1):
        starts = map(frozenset.intersection, starts, map(map, repeat((-back).__add__), positions))
    return set(compress(docs, starts))


_ONE_BACK = (-1).__add__
_ONE_ON = (1).__add__


def _tree(matcher: Any, leaves: list[_Leaf], lengths: Callable[[str], bytes], deleted: frozenset[int]) -> Any:
    """The node tree of a segment's matcher for the scored part of a query (None: matches nothing)."""
    kind = type(matcher)
    if kind is UnionMatcher or kind is IntersectionMatcher or kind is _UnsearchedIntersection:
        a = _tree(matcher.a, leaves, lengths, deleted)
        b = _tree(matcher.b, leaves, lengths, deleted)
        if kind is not UnionMatcher:
            return None if a is None or b is None else _Both(a, b)
        return b if a is None else a if b is None else _Sum(a, b)
    if kind is _NULL_MATCHER:
        return None
    if kind is FilterMatcher:
        # SegmentReader.postings round a term with deletions: the segment's deleted set, excluded.
        if not matcher._exclude or matcher.boost != 1.0 or (matcher._ids is not deleted and set(matcher._ids) != deleted):
            raise Unsupported("a filter other than the deleted documents")
        return _tree(matcher.child, leaves, lengths, deleted)
    if kind is WrappingMatcher:
        child = _tree(matcher.child, leaves, lengths, deleted)
        if matcher.boost < 0:
            raise Unsupported("a negative boost")  # 0.0 · boost would be -0.0, which Whoosh never adds
        return None if child is None else child if matcher.boost == 1.0 else _Scale(child, matcher.boost)
    if kind in _PHRASE_MATCHERS:
        if matcher.slop != 1 or not matcher.ordered or matcher.mindist != 1 or matcher.boost != 1.0:
            raise Unsupported("a phrase with slop")
        child = _tree(matcher.child, leaves, lengths, deleted)
        if child is None:
            return None
        by_matcher = {id(leaf.matcher): leaf for leaf in leaves}
        in_order = []
        for word in matcher.ms:
            word = word.child if type(word) is FilterMatcher else word
            if id(word) not in by_matcher:
                raise Unsupported("a phrase word that is not a term")
            in_order.append(by_matcher[id(word)])
        return _Phrase(child, in_order, getattr(matcher, "pairs", None))
    if isinstance(matcher, W3LeafMatcher):
        scorer = matcher.scorer
        # Only Whoosh's own BM25F: another scorer, or one with its `_score` replaced, is not reproduced.
        if type(scorer) is not BM25FScorer or "_score" in scorer.__dict__ or matcher._term is None:
            raise Unsupported("not a BM25F leaf")
        if not matcher.is_active():
            return None
        leaf = _Leaf(matcher, lengths(matcher._term[0]))
        leaves.append(leaf)
        return leaf
    raise Unsupported(f"a {kind.__name__}")


def _scores_of(tree: Any, leaves: list[_Leaf], docs: set[int], lengths: Callable[[str], bytes]) -> tuple[list[int], list[float]]:
    """(`docs` as a list, their scores): a vector per term when the terms are few for the
    documents, else every posting scored and the documents looked up."""
    ordered = list(docs)
    if len(ordered) * len(leaves) > 4 * sum(len(leaf.ids) for leaf in leaves):
        scores = tree.scores()
        return ordered, list(map(scores.__getitem__, ordered))
    by_field: dict[str, tuple[int, ...]] = {}

    def field_lengths(fieldname: str) -> tuple[int, ...]:
        found = by_field.get(fieldname)
        if found is None:
            raw = lengths(fieldname)
            found = by_field[fieldname] = itemgetter(*ordered)(raw) if len(ordered) > 1 else (raw[ordered[0]],)
        return found

    return ordered, tree.vector(ordered, docs, field_lengths)


# --- a page -----------------------------------------------------------------------------------------


class _Shape:
    """What the query asks, outside the matcher tree: the scored part, and the restrictions round it."""

    def __init__(self, q: Any) -> None:
        self.required: list[Any] = []  # Require(a, b): b's documents only, a's scores
        self.excluded: list[Any] = []  # AndNot(a, b): not b's documents, a's scores
        while True:
            if type(q) is wq.Require:
                self.required.append(q.b)
                q = q.a
            elif type(q) is wq.AndNot:
                self.excluded.append(q.b)
                q = q.a
            else:
                break
        self.scored = _bulk_query(q)


def ranked_page(
    searcher: Any,
    q: Any,
    wanted: int,
    lengths: FieldLengths,
    matches: Callable[[Any, Any], set[int]],
    coord_matcher: type,
    first: int = 0,
) -> tuple[int, list[tuple[float, int]]] | None:
    """(total matches, the (score, global docnum) pairs ranked `first` to `wanted` − 1) for `q`,
    exactly as Whoosh's TopCollector would rank them; None when `q` is not a shape handled here.

    `matches(leaf searcher, query)` gives the documents a restriction allows (deleted ones never);
    `coord_matcher` is the searcher's tiering matcher class.
    """
    shape = _Shape(q)
    context = searcher.context(weighting=searcher.weighting)
    try:
        parts: list[tuple[int, list[int], list[float]]] = []
        total = 0
        for leaf_searcher, offset in searcher.leaf_searchers():
            count, (docnums, scores) = _segment_scores(leaf_searcher, shape, context, wanted, lengths, matches, coord_matcher)
            total += count
            if docnums:
                parts.append((offset, docnums, scores))
    except Unsupported:
        return None
    return total, _best(parts, wanted, first)


def _segment_scores(
    leaf_searcher: Any,
    shape: _Shape,
    context: Any,
    wanted: int,
    lengths: FieldLengths,
    matches: Callable[[Any, Any], set[int]],
    coord_matcher: type,
) -> tuple[int, tuple[list[int], list[float]]]:
    """(the segment's matches, (docnums, scores) of at least those of them that can make the page)."""
    reader = leaf_searcher.reader()
    matcher = shape.scored.matcher(leaf_searcher, context)
    coord: Any = matcher if type(matcher) is coord_matcher else None
    if coord is not None:
        if coord._driver is not None:
            raise Unsupported("a tiering matcher already led by its AND")
        matcher = coord.child
    deleted = _deleted(reader)
    leaves: list[_Leaf] = []
    tree = _tree(matcher, leaves, lambda fieldname: lengths.raw(reader, fieldname), deleted)
    if tree is None:
        return 0, ([], [])
    # Restrictions first: a narrow date filter leaves few documents to look at.
    allowed: set[int] | None = None
    for required in shape.required:
        docs = matches(leaf_searcher, required)
        allowed = docs if allowed is None else allowed & docs
        if not allowed:
            return 0, ([], [])
    for leaf in leaves:
        leaf.read()

    if coord is None and allowed is None and not shape.excluded:
        # The scores' documents are the matches, less the deleted ones.
        docnums, scores = _score_lists(tree)
        if deleted:
            live = list(map(deleted.__contains__, docnums))
            if True in live:
                live = list(map(not_, live))
                docnums, scores = list(compress(docnums, live)), list(compress(scores, live))
        return len(docnums), (docnums, scores)
    # Every match holds some word, so the union of the words' documents is the matches (a new set).
    words = tree.words(allowed)
    found = set().union(*words.values())
    found -= deleted
    for excluded in shape.excluded:
        if not found:
            break
        found -= matches(leaf_searcher, excluded)
    if not found:
        return 0, ([], [])
    field_lengths = lambda fieldname: lengths.raw(reader, fieldname)  # noqa: E731
    if coord is None:
        return len(found), _scores_of(tree, leaves, found, field_lengths)
    return len(found), _tiered(coord, tree, leaves, words, found, wanted, field_lengths)


def _tiered(
    coord: Any,
    tree: Any,
    leaves: list[_Leaf],
    by_text: dict[Any, set[int]],
    found: set[int],
    wanted: int,
    lengths: Callable[[str], bytes],
) -> tuple[list[int], list[float]]:
    """`_CoordMatcher.score`, (distinct words held − 1) + BM25/bound, for the documents that can
    make the page: (docnums, scores)."""
    words, bound = coord._words, coord._bound
    if words <= 1:  # one tier: no words counted
        ordered, scores = _scores_of(tree, leaves, found, lengths)
        return ordered, list(_capped(scores, bound))
    if len(by_text) == words:
        # The top tier holds every word. A document outside it scores at most (words − 2) + 1.0, so
        # when the top tier alone has `wanted` scores above words − 1, no other document can enter.
        top = found.intersection(*by_text.values())
        if len(top) >= wanted:
            tier = words - 1
            ordered, scores = _scores_of(tree, leaves, top, lengths)
            ranked = list(map(add, repeat(tier), _capped(scores, bound)))
            if min(ranked) > tier or sum(1 for score in ranked if score > tier) >= wanted:
                return ordered, ranked
    held: Counter[int] = Counter()
    for docs in by_text.values():
        held.update(docs)
    ordered, scores = _scores_of(tree, leaves, found, lengths)
    # max(0, min(held, words) − 1) + min(score / bound, 1.0), document by document, in C.
    tiers = map(max, repeat(0), map(sub, map(min, map(held.__getitem__, ordered), repeat(words)), repeat(1)))
    return ordered, list(map(add, tiers, _capped(scores, bound)))


def _capped(scores: list[float], bound: float) -> Iterator[float]:
    """min(score / bound, 1.0) for each score (`_CoordMatcher`'s share of the BM25 bound), in C."""
    return map(min, map(truediv, scores, repeat(bound)), repeat(1.0))


def _best(parts: list[tuple[int, list[int], list[float]]], wanted: int, first: int = 0) -> list[tuple[float, int]]:
    """The (score, global docnum) pairs ranked `first` to `wanted` − 1 among the segments'
    (offset, docnums, scores): higher score first, then lower docnum (Whoosh's collector keeps
    (score, -docnum) in a heap and sorts it so)."""
    values: list[float] = []
    for _, _, scores in parts:
        values.extend(scores)
    if first >= len(values):
        return []
    if len(values) > wanted:
        # Only the documents scoring at least the `wanted`-th best score can be on the page. They
        # are picked out in C (compress) above a floor at or below that score: a guess from a
        # sample (`_floor`), or the score itself when the guess leaves too few.
        floor = _floor(values, wanted)
        kept = _at_least(parts, floor)
        if sum(len(docnums) for _, docnums, _ in kept) < wanted:
            kept = _at_least(parts, sorted(values, reverse=True)[wanted - 1])
        parts = kept
    # The page's band of scores: from its first document's to its last's. Those above it come
    # before the page whatever their order, so they are only counted; only the band is sorted.
    ranked = sorted([score for _, _, scores in parts for score in scores], reverse=True)
    top, bottom = ranked[first], ranked[min(wanted, len(ranked)) - 1]
    higher = bisect_left(ranked, -top, key=neg) if first else 0
    page = [
        (-score, offset + d)
        for offset, docnums, scores in parts
        for d, score in zip(docnums, scores)
        if bottom <= score <= top
    ]
    page.sort()
    return [(-negated, docnum) for negated, docnum in page[first - higher : wanted - higher]]


def _at_least(parts: list[tuple[int, list[int], list[float]]], floor: float) -> list[tuple[int, list[int], list[float]]]:
    """`parts` with only the documents scoring `floor` or more, picked out in C."""
    kept = []
    for offset, docnums, scores in parts:
        chosen = list(map(floor.__le__, scores))
        kept.append((offset, list(compress(docnums, chosen)), list(compress(scores, chosen))))
    return kept


def _floor(values: list[float], k: int) -> float:
    """A score at or below the k-th largest of `values` (1 <= k < len(values)), with few more
    than k values at or above it: the k-th itself when that is cheap to find. For a deep page,
    a guess from an evenly spaced sample of ~4,096 values, placed a few standard deviations of
    the sample's count below where the k-th would fall (the caller checks it)."""
    if len(values) <= 4096:
        return sorted(values, reverse=True)[k - 1]
    if k <= 256:
        return heapq.nlargest(k, values)[-1]
    step = len(values) // 4096
    sample = sorted(values[::step], reverse=True)
    expected = k / step
    rank = int(expected + 4 * expected**0.5) + 8
    return sample[rank] if rank < len(sample) else sample[-1]


__all__ = ["FieldLengths", "ranked_page"]
