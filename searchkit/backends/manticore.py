"""The cluster backend: searchkit on a sharded Manticore Search (or Sphinx 2.2) cluster, via SphinxQL.

Layout (see `cluster_config`, which writes the `searchd` configs): real-time shards `NAME_0` …
`NAME_{N-1}` spread over the nodes, and on every node a distributed index `NAME` whose local
shards and remote agents together cover all N. Writes go straight to a shard, chosen by a stable
hash of the article id (crc32 mod N); queries go to `NAME` on the first node that answers, which
scatters them to the shards and merges the hits.

**One analyzer chain.** The engine does not analyse our text: each full-text field is sent as the
sequence of index terms `analysis` makes of it (Snowball stems, folded, stop words dropped without
a gap, CJK bigrams), one token per term, and queries are parsed by `searcher.QueryBuilder` and
sent as those same terms with the exact-form operator (`=term`). So a word, phrase or field
clause matches exactly the articles it matches in Whoosh; the engine's own `stem_en` is Porter's
first stemmer, which would disagree with ours (and with itself on our stems: `general` and
`generous` both become `gener`). Terms that are not plain `[a-z0-9]` (CJK, Cyrillic, long runs,
URLs, language codes with capitals) travel as `_` + a hash, which no real term can be.

**Highlights.** The shards also keep the original title and body as string attributes, and
`SNIPPET()` marks the query's words in them with U+FDD0/U+FDD1 (Unicode noncharacters, which text
never holds; any found in an article are replaced at index time); the markers become our
`(start, end)` spans and are stripped, and `highlight`'s sentence fragmenter cuts Whoosh's
fragments around them. The engine finds the words with its own stemmer (`morphology = stem_en`
exists for this), so it marks nearly, not exactly, the words Whoosh would.

**Ranking.** Whoosh's, exactly, for queries of title and body words and phrases (`_rank_exactly`).
The engine ranks candidates with an expression ranker (`bm25_ranker`: BM25F per field, title ×2,
Robertson–Spärck Jones idf, fed with the whole cluster's statistics, and short queries tiered by
`doc_word_count`), which is exact for one word but sees only each field's total frequency for
more. So the candidates are scored again here with Whoosh's formula, from each word's frequency
in each field (asked of the engine for the candidates only), Whoosh's lossy field lengths and the
cluster's idf and average lengths; the candidates grow until a bound proves that no document
past them can reach the page. Long questions (4+ plain words) get Whoosh's RM3 feedback,
computed by `searcher._rm3_weights` from the cluster's top documents. Hit sets and counts agree
exactly, date sorts agree in order. Queries ranked by other fields (`keywords:coffee`) keep the
writing order, and there is no "did you mean" (the engine has no vocabulary to ask).

**What cannot be sent.** Wildcards, fuzzy terms, term ranges, proximity phrases (`"a b"~3`) and a
date clause inside OR/NOT have no SphinxQL equivalent with the same meaning: they raise
`QuerySyntaxError` saying so, never a quietly different search.

**Failures.** Agents time out (`agent_connect_timeout`, `agent_query_timeout` in the configs) and so
does the client (`?timeout=`); a node that does not answer is an error naming it, or with
`?partial=1` the other nodes' hits with a note in `Results.notes`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from whoosh import query as wq

from ..analysis import TOKEN_PATTERN, has_cjk
from ..analysis import terms as analysed_terms
from ..errors import ArticleNotFoundError, NotAnIndexError, QuerySyntaxError, ReadError
from ..highlight import MatchSpec, match_spec
from ..models import Article, Hit, IndexReport, Results, Snippet
from . import STATE_BACKEND_KEY, STATE_URL_KEY, BackendError, BackendSpec, Node

# --- the layout every shard shares (cluster_config writes it) ------------------------------------

# Full-text fields: our index terms, one token each. `every` holds one token in every document,
# because SphinxQL cannot run a query made only of NOT (`-word`, `* -word`).
FIELDS = ("title", "body", "section", "source", "byline", "keywords", "lang", "url", "every")
EVERY_TOKEN = "_all"
NEVER_TOKEN = "_none"  # indexed nowhere: a clause that can match nothing
# String attributes: what a hit and `get` show, and what SNIPPET() highlights.
STRING_ATTRS = (
    "aid", "path", "title_text", "body_text", "section_text", "source_text", "byline_text",
    "dateline", "url_text", "lang_text", "keywords_text", "date_iso", "date_info", "provenance", "encoding",
)  # fmt: skip
# date_us: microseconds since 1970 UTC, signed (a 32-bit timestamp cannot hold 1963 or sub-second
# order); dated: 0 for undated articles, which sort last either way; ymd: YYYYMMDD for timelines;
# seq: the order documents were written in, Whoosh's tie-break; path_hash: deletes by source file.
# title_wl, body_wl: field lengths as Whoosh stores them (a lossy byte), so BM25 normalises alike.
BIGINT_ATTRS = ("date_us", "seq", "path_hash")
UINT_ATTRS = ("dated", "ymd", "title_wl", "body_wl")
COLUMNS = ("id", *FIELDS, *STRING_ATTRS, *BIGINT_ATTRS, *UINT_ATTRS)
LAYOUT_VERSION = 1

# Ranking. Field weights only tell title (2) from body (1) inside the ranker; the other fields restrict.
FIELD_WEIGHTS = {"title": 2, "body": 1}
FIELD_WEIGHTS_OPTION = "field_weights=(" + ", ".join(f"{f}={FIELD_WEIGHTS.get(f, 0)}" for f in FIELDS) + ")"
TITLE_BOOST = 2.0  # schema.TITLE_BOOST: a title occurrence weighs double
K1, B = 1.2, 0.75  # Whoosh's BM25F defaults
# WEIGHT() is a 32-bit integer: BM25 sums stay far below 1000, tiers (words matched) far below 20.
SCORE_SCALE = 100_000.0
TIER_SCALE = 100_000_000
# `similar` sends weighted words, which only the engine's own bm25f() honours.
# bm25f() is 0.5 plus a small sum: the 0.5 is dropped so that the integer WEIGHT() keeps the differences.
RANKER_WEIGHTED = "(bm25f(1.2, 0.75, {" + ", ".join(f"{f}={FIELD_WEIGHTS.get(f, 0)}" for f in FIELDS) + "})-0.5)*100000000"

# Markers SNIPPET() puts around matches: Unicode noncharacters, which no text may hold.
MARK_OPEN, MARK_CLOSE = "\ufdd0", "\ufdd1"
_MARKERS = re.compile("[\ufdd0\ufdd1]")
SNIPPET_MAXCHARS = 240  # per fragment, as searcher.SNIPPET_MAXCHARS

_PLAIN_TOKEN = re.compile(r"[a-z0-9]{1,40}")
_SNIPPET_WORD = re.compile(r"\w+")
_MAX_MATCHES_FLOOR = 1000
_GROUP_LIMIT = 100_000  # groups a facet or timeline may have (days: 270 years of them)
_STATEMENT_BYTES = 4 * 1024 * 1024  # below the configs' max_packet_size (32M)
_ID_BATCH = 1000
_STATS_TTL = 10.0  # seconds the collection statistics for ranking are reused
_IDF_WORDS = 64  # words whose document frequencies are counted (a long question's rest count as absent)
_ID_SET = 4000  # ids in one `id IN (…)`: searchd's agents take at most 4096
_BATCH_STATEMENTS = 32  # statements per round trip: searchd passes at most 32 in one multi-query to an agent


def token(term: str) -> str:
    """The engine token of one index term: itself when plain `[a-z0-9]`, else `_` + a hash."""
    if _PLAIN_TOKEN.fullmatch(term):
        return term
    digest = hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=15).hexdigest()
    return "_" + digest


def _hash64(text: str) -> int:
    """A stable, positive 63-bit number for a string (never Python's salted hash())."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF or 1


def doc_id(article_id: str) -> int:
    """The engine's 64-bit document id of an article id (stable across runs and machines)."""
    return _hash64(article_id)


def path_hash(path: str) -> int:
    return _hash64(path)


def shard_of(article_id: str, shards: int) -> int:
    """Which of `shards` shards holds an article: crc32 of its id, mod the shard count."""
    return zlib.crc32(article_id.encode("utf-8", "surrogatepass")) % shards


# --- documents → rows ----------------------------------------------------------------------------

_SCHEMA: Any = None


def _schema() -> Any:
    global _SCHEMA
    if _SCHEMA is None:
        from ..schema import build_schema

        _SCHEMA = build_schema()
    return _SCHEMA


def _text(doc: dict[str, Any], name: str) -> str:
    # `schema.to_document` sends full-text fields pre-analysed, the text under `_stored_<name>`.
    value = doc.get("_stored_" + name, doc.get(name))
    return value if isinstance(value, str) else ""


def _clean(text: str) -> str:
    """Text as stored for display and SNIPPET(): our markers cannot occur in it."""
    return _MARKERS.sub("\ufffd", text)


def field_terms(name: str, value: str) -> list[str]:
    """The index terms Whoosh makes of a field's value, in order."""
    if not value:
        return []
    if name in ("title", "body", "section", "source", "byline"):
        return analysed_terms(value)
    # keywords (comma-separated), lang and url (whole values): the schema's own analyzers
    return [t.text for t in _schema()[name].analyzer(value)]


def field_tokens(name: str, value: str) -> str:
    """A field's value as the engine receives it: its index terms as tokens."""
    return " ".join(token(w) for w in field_terms(name, value))


def whoosh_length(count: int) -> int:
    """A field length as Whoosh keeps it: one byte, lossy above a few dozen tokens."""
    from whoosh.util.numeric import byte_to_length, length_to_byte

    return int(byte_to_length(length_to_byte(count)))


def _micros(value: datetime) -> int:
    value = value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(timezone.utc).replace(tzinfo=None)
    return (value - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def document_row(doc: dict[str, Any], seq: int) -> tuple[Any, ...]:
    """One document from `indexer.read_file` as a row in COLUMNS order."""
    article_id = str(doc.get("id", ""))
    texts = {name: _text(doc, name) for name in ("title", "body", "section", "source", "byline", "dateline", "url", "lang", "keywords")}
    raw_date = doc.get("date")
    stamp = raw_date if isinstance(raw_date, datetime) else None
    provenance = tuple(doc.get("provenance") or ())
    analysed = {name: field_terms(name, texts[name]) for name in FIELDS if name != "every"}
    values: dict[str, Any] = {
        "id": doc_id(article_id),
        **{name: " ".join(token(w) for w in words) for name, words in analysed.items()},
        "every": EVERY_TOKEN,
        "aid": article_id,
        "path": str(doc.get("path", "")),
        "title_text": _clean(texts["title"]),
        "body_text": _clean(texts["body"]),
        "section_text": texts["section"],
        "source_text": texts["source"],
        "byline_text": texts["byline"],
        "dateline": texts["dateline"],
        "url_text": texts["url"],
        "lang_text": texts["lang"],
        "keywords_text": texts["keywords"],
        "date_iso": str(doc.get("date_iso") or ""),
        "date_info": json.dumps(list(doc.get("date_info") or ())),
        "provenance": json.dumps(list(provenance)),
        "encoding": str(provenance[2]) if len(provenance) > 2 else "",
        "date_us": _micros(stamp) if stamp is not None else 0,
        "seq": seq,
        "path_hash": path_hash(str(doc.get("path", ""))),
        "dated": 1 if stamp is not None else 0,
        "ymd": stamp.year * 10000 + stamp.month * 100 + stamp.day if stamp is not None else 0,
        "title_wl": whoosh_length(len(analysed["title"])),
        "body_wl": whoosh_length(len(analysed["body"])),
    }
    return tuple(values[c] for c in COLUMNS)


# --- talking to the nodes -----------------------------------------------------------------------


def _pymysql() -> Any:
    try:
        import pymysql
    except ImportError:
        raise BackendError("the cluster backend needs pymysql: pip install 'searchkit[cluster]'") from None
    return pymysql


def _reason(error: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    text = str(args[1]) if len(args) > 1 else str(error)
    return text.replace("\x00", "").strip() or error.__class__.__name__


class Cluster:
    """Connections to the nodes of one cluster, opened lazily, with the spec's timeouts."""

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        self._connections: dict[Node, Any] = {}
        self._pymysql = _pymysql()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for connection in self._connections.values():
            try:
                connection.close()
            except Exception:
                pass  # a node that died: nothing to say goodbye to
        self._connections.clear()

    def _connect(self, node: Node) -> Any:
        connection = self._connections.get(node)
        if connection is None:
            timeout = self.spec.timeout
            try:
                connection = self._pymysql.connect(
                    host=node.host, port=node.port, autocommit=True, charset="utf8mb4",
                    client_flag=self._pymysql.constants.CLIENT.MULTI_STATEMENTS,
                    connect_timeout=min(timeout, 10.0), read_timeout=timeout, write_timeout=timeout,
                )
            except self._pymysql.err.Error as error:
                raise BackendError(f"{node}: searchd does not answer ({_reason(error)}); is it running?") from None
            self._connections[node] = connection
        return connection

    def execute(self, node: Node, sql: str, args: Sequence[Any] | None = None, *, meta: bool = False, sets: bool = False) -> tuple[list[Any], dict[str, str]]:
        """Run statements on `node` (several, `;`-separated, in one round trip): the rows of all of
        them, in order (with `sets`, one list of rows per statement), and the last one's `SHOW META`
        when asked for."""
        connection = self._connect(node)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                results = [list(cursor.fetchall())]
                while cursor.nextset():
                    results.append(list(cursor.fetchall()))
                rows: list[Any] = results if sets else [row for result in results for row in result]
                info: dict[str, str] = {}
                if meta:
                    cursor.execute("SHOW META")
                    for key, value in cursor.fetchall():
                        info[key] = str(value) if key not in info else f"{info[key]}; {value}"
                return rows, info
        except self._pymysql.err.OperationalError as error:
            self._drop(node)
            raise BackendError(f"{node}: the connection failed during the request ({_reason(error)})") from None
        except self._pymysql.err.Error as error:
            raise BackendError(f"{node}: searchd refused the request ({_reason(error)})") from None

    def executemany(self, node: Node, sql: str, rows: list[tuple[Any, ...]]) -> None:
        connection = self._connect(node)
        try:
            with connection.cursor() as cursor:
                cursor.executemany(sql, rows)
        except self._pymysql.err.OperationalError as error:
            self._drop(node)
            raise BackendError(f"{node}: the connection failed while writing ({_reason(error)})") from None
        except self._pymysql.err.Error as error:
            raise BackendError(f"{node}: searchd refused the write ({_reason(error)})") from None

    def _drop(self, node: Node) -> None:
        connection = self._connections.pop(node, None)
        if connection is not None:
            try:
                connection.close()
            except Exception:
                pass

    def tables(self, node: Node) -> dict[str, str]:
        rows, _ = self.execute(node, "SHOW TABLES")
        return {str(name): str(kind) for name, kind in rows}

    def layout(self) -> dict[int, Node]:
        """Which node holds each shard, read from every node; every node must answer, every shard be there once."""
        pattern = re.compile(rf"{re.escape(self.spec.name)}_(\d+)")
        found: dict[int, Node] = {}
        for node in self.spec.nodes:
            for name, kind in self.tables(node).items():
                match = pattern.fullmatch(name)
                if match and kind == "rt":
                    shard = int(match.group(1))
                    if shard in found:
                        raise BackendError(
                            f"shard {name} is on both {found[shard]} and {node}; each shard must live on one node"
                        )
                    found[shard] = node
        if not found:
            nodes = ", ".join(map(str, self.spec.nodes))
            raise BackendError(
                f"no node of {nodes} holds a {self.spec.name}_N shard; start them with configs from `searchkit cluster config`"
            )
        missing = [i for i in range(max(found) + 1) if i not in found]
        if missing:
            raise BackendError(
                f"shard {self.spec.name}_{missing[0]} is on none of the nodes given ({', '.join(map(str, self.spec.nodes))}); "
                "list every node in the backend URL"
            )
        return found

    def coordinator_order(self) -> list[Node]:
        return list(self.spec.nodes)


# --- query translation -------------------------------------------------------------------------


class _NoExpansion:
    """The reader handed to `QueryBuilder.parse`: asked to expand a wildcard, fuzzy term or range, it refuses."""

    @property
    def schema(self) -> Any:
        raise QuerySyntaxError(
            "wildcards (word*), fuzzy terms (word~) and ranges are not available on the cluster backend; "
            "search for the whole words, or use the Whoosh index"
        )


@dataclass
class Translation:
    """A Whoosh query as SphinxQL: MATCH() text (None = every document), date bounds, ranking."""

    match: str | None = None
    low: int | None = None  # date_us bounds, inclusive
    high: int | None = None
    dated: bool = False  # a date clause applies: undated articles cannot match
    empty: bool = False  # nothing can match (an empty date range, a query of stop words)
    tiered: bool = False  # rank by how many of the words a document holds first
    ranker: str = ""  # the expression ranker's formula; empty = by the query's words (`bm25_ranker`)
    exclude: int | None = None  # a document id left out (`similar`: an article is not like itself)

    def where(self) -> tuple[str, list[Any]]:
        parts: list[str] = []
        args: list[Any] = []
        if self.match is not None:
            parts.append("MATCH(%s)")
            args.append(self.match)
        if self.dated:
            parts.append("dated = 1")
        if self.low is not None:
            parts.append("date_us >= %s")
            args.append(self.low)
        if self.high is not None:
            parts.append("date_us <= %s")
            args.append(self.high)
        if self.exclude is not None:
            parts.append("id != %s")
            args.append(self.exclude)
        return (" WHERE " + " AND ".join(parts)) if parts else "", args


def translate(q: Any, filter_q: Any = None) -> Translation:
    """The SphinxQL form of a parsed query (and the filter of --since/--source/…); QuerySyntaxError
    for what SphinxQL cannot say with the same meaning."""
    from ..searcher import _is_null

    result = Translation()
    positive: list[str] = []
    negative: list[str] = []
    for part in [*_conjuncts(q), *(_conjuncts(filter_q) if filter_q is not None else [])]:
        if _is_null(part):
            result.empty = True
        elif isinstance(part, wq.NumericRange) and part.fieldname == "date":
            low, high = _date_bounds(part)
            result.dated = True
            if low is not None:
                result.low = low if result.low is None else max(result.low, low)
            if high is not None:
                result.high = high if result.high is None else min(result.high, high)
        elif isinstance(part, wq.Every) and part.fieldname is None:
            continue
        elif isinstance(part, wq.Every) and part.fieldname == "date":
            result.dated = True  # `date:[TO]`: any dated article
        elif isinstance(part, wq.Not):
            negative.append(_expr(part.query, result))
        else:
            positive.append(_expr(part, result))
    if result.low is not None and result.high is not None and result.low > result.high:
        result.empty = True
    if negative and not positive:
        positive.append(f"(@every ={EVERY_TOKEN})")
    if positive:
        result.match = " ".join(positive + [f"-{n}" for n in negative])
    return result


def _conjuncts(q: Any) -> list[Any]:
    """The parts a document must all satisfy, so that date clauses among them become attribute filters."""
    from ..searcher import _CoordQuery

    if isinstance(q, wq.And) and not isinstance(q, wq.Or):
        return [part for child in q.subqueries for part in _conjuncts(child)]
    if isinstance(q, wq.Require):
        return [*_conjuncts(q.a), *_conjuncts(q.b)]
    if isinstance(q, wq.AndNot):
        return [*_conjuncts(q.a), wq.Not(q.b)]
    if isinstance(q, _CoordQuery):
        parts = _conjuncts(q.child)
        return [_CoordQuery(parts[0], q.words)] if len(parts) == 1 else parts
    return [q]


def _date_bounds(q: Any) -> tuple[int | None, int | None]:
    start = getattr(q, "startdate", None)
    end = getattr(q, "enddate", None)
    low = _micros(start) + (1 if q.startexcl else 0) if isinstance(start, datetime) else None
    high = _micros(end) - (1 if q.endexcl else 0) if isinstance(end, datetime) else None
    return low, high


def _unsupported(what: str) -> QuerySyntaxError:
    return QuerySyntaxError(f"{what} cannot be sent to the cluster backend with the same meaning; {_ADVICE}")


_ADVICE = "rephrase it, or search the Whoosh index"


def _expr(q: Any, result: Translation) -> str:
    from ..searcher import _CoordQuery, _is_null

    if _is_null(q):
        return f"(@every ={NEVER_TOKEN})"
    if isinstance(q, _CoordQuery):
        result.tiered = True
        return _expr(q.child, result)
    if isinstance(q, wq.Term):
        return _term(q.fieldname, q.text, q.boost)
    if isinstance(q, wq.Phrase):
        words = [str(w) for w in q.words]
        if len(words) == 1:
            return _term(q.fieldname, words[0], q.boost)
        if q.slop > 1:
            raise _unsupported(f"a proximity phrase (\"…\"~{q.slop})")
        _check_field(q.fieldname)
        return f'(@{q.fieldname} "' + " ".join(f"={token(w)}" for w in words) + '")'
    if isinstance(q, wq.Every):
        if q.fieldname is not None:
            raise _unsupported(f"`{q.fieldname}:*`")
        return f"(@every ={EVERY_TOKEN})"
    if isinstance(q, wq.NumericRange):
        raise _unsupported("a date clause inside OR or NOT (it can only narrow a search there)")
    if isinstance(q, wq.Not):
        return f"(@every ={EVERY_TOKEN} -{_expr(q.query, result)})"
    if isinstance(q, wq.AndNot):
        base = f"(@every ={EVERY_TOKEN})" if isinstance(q.a, wq.Every) else _expr(q.a, result)
        return f"({base} -{_expr(q.b, result)})"
    if isinstance(q, wq.AndMaybe):
        return f"({_expr(q.a, result)} MAYBE {_expr(q.b, result)})"
    if isinstance(q, wq.Require):
        return f"({_expr(q.a, result)} {_expr(q.b, result)})"
    if isinstance(q, (wq.Or, wq.DisjunctionMax)):
        if any(isinstance(s, wq.Not) for s in q.subqueries):
            raise _unsupported("NOT inside OR")
        return "(" + " | ".join(_expr(s, result) for s in q.subqueries) + ")"
    if isinstance(q, wq.And):
        positive = [_expr(s, result) for s in q.subqueries if not isinstance(s, wq.Not)]
        negative = [_expr(s.query, result) for s in q.subqueries if isinstance(s, wq.Not)]
        if not positive:
            positive = [f"(@every ={EVERY_TOKEN})"]
        return "(" + " ".join(positive + [f"-{n}" for n in negative]) + ")"
    raise _unsupported(f"the clause `{q}`")


def _check_field(fieldname: str) -> None:
    if fieldname not in FIELDS or fieldname == "every":
        raise _unsupported(f"a search in the field `{fieldname}`")


def _term(fieldname: str, text: Any, boost: float = 1.0) -> str:
    _check_field(fieldname)
    suffix = f"^{boost:g}" if boost and boost != 1.0 else ""
    return f"(@{fieldname} ={token(str(text))}{suffix})"


def snippet_query(spec: MatchSpec) -> str:
    """The words SNIPPET() should mark, as a SphinxQL query the engine's own stemmer reads.

    Our stems are passed as words (stemmed again they meet the text's words); an all-ASCII phrase
    is a proximity group, since the engine's snippets see the stop words our terms skip. CJK text is
    cut into single characters by the shards' `ngram_len = 1`, so a bigram, or a phrase of
    overlapping bigrams joined back into its run (日本 本語 → 日本語), goes in quotes.
    """
    parts: list[str] = []
    for term in sorted(spec.terms):
        if _SNIPPET_WORD.fullmatch(term):
            parts.append(f'"{term}"' if has_cjk(term) else term)
    for words, _slop in spec.phrases:
        clean = [w for w in words if _SNIPPET_WORD.fullmatch(w)]
        if len(clean) > 1 and all(has_cjk(w) for w in clean) and all(a[-1] == b[0] for a, b in zip(clean, clean[1:])):
            parts.append('"' + clean[0] + "".join(w[1:] for w in clean[1:]) + '"')
        elif len(clean) > 1 and all(w.isascii() for w in clean):
            parts.append('"' + " ".join(clean) + f'"~{2 * len(clean)}')
        else:
            parts.extend(f'"{w}"' if has_cjk(w) else w for w in clean)
    return " | ".join(dict.fromkeys(parts))


def spans_of(marked: str, *, words: bool = True) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Text with MARK_OPEN/MARK_CLOSE around matches → (plain text, spans).

    The engine marks a run of matched words (and the punctuation between them) as one; with
    `words`, the spans are split into words, as Whoosh gives them (without it, for phrases, the
    run stays one span).
    """
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for piece in re.split("([\ufdd0\ufdd1])", marked):
        if piece == MARK_OPEN:
            start = length
        elif piece == MARK_CLOSE:
            if start is not None and length > start:
                if spans and spans[-1][1] >= start:
                    spans[-1] = (spans[-1][0], length)
                else:
                    spans.append((start, length))
            start = None
        else:
            out.append(piece)
            length += len(piece)
    text = "".join(out)
    if words:
        # One span per word as our tokenizer reads them (`U.S` of "U.S.", a CJK run whole).
        spans = [(start + m.start(), start + m.end()) for start, end in spans for m in TOKEN_PATTERN.finditer(text[start:end])]
    return text, tuple(spans)


def fragments_of(text: str, spans: Sequence[tuple[int, int]], top: int) -> tuple[Snippet, ...]:
    """Whoosh's fragments (`highlight`: sentences, best first) around the spans the engine marked."""
    from whoosh.analysis import Token

    from ..analysis import word_term
    from ..highlight import SentenceFragmenter, SpanFormatter, fragment_score, lead_snippet

    if top <= 0 or not text:
        return ()
    tokens = []
    for start, end in spans:
        word = text[start:end]
        tokens.append(Token(text=word_term(word) or word.casefold(), startchar=start, endchar=end, chars=True))
    fragments = SentenceFragmenter(SNIPPET_MAXCHARS).fragment_matches(text, tokens)
    ranked = sorted(fragments, key=lambda f: (-fragment_score(f), f.startchar))[:top]
    if not ranked:
        return (lead_snippet(text, SNIPPET_MAXCHARS),)
    return tuple(SpanFormatter().format(ranked))


# The whole text, marked: the engine finds the words, our fragmenter cuts Whoosh's sentences around them.
_MARK_ALL = [f"before_match={MARK_OPEN}", f"after_match={MARK_CLOSE}", "html_strip_mode=none", "query_mode=1", "limit=0"]


def rsj_idf(documents: int, having: int) -> float:
    """Robertson–Spärck Jones idf, as `searcher.NewsBM25F`."""
    return math.log(1 + (documents - having + 0.5) / (having + 0.5))


def bm25_ranker(idf: dict[str, float], avg_length: dict[str, float], tiered: bool) -> str:
    """Whoosh's BM25F as an expression ranker, scored per field with global statistics.

    Whoosh sums, over title and body, idf(field, word) · tf'·(K1+1) / (tf' + K1·(1−B+B·len/avglen)),
    tf' being the title-boosted frequency and len the field length as Whoosh stores it (`*_wl`).
    The expression ranker sees per field only the matched words' total frequency (`hit_count`) and
    how many matched (`word_count`), so each word is given the field's mean frequency and the
    field's mean idf over the query words: for one word that is Whoosh's formula, for more an
    approximation. The idf and average lengths come from the whole cluster (the engine's own idf
    would be each node's), so scores from different nodes compare.
    """

    def field(name: str, boost: float) -> str:
        tf = f"({boost:g}*hit_count/word_count)"
        norm = f"({1 - B:g}+{B:g}*{name}_wl/{max(avg_length.get(name, 1.0), 1e-6):.6f})"
        return f"{idf.get(name, 0.0):.6f}*word_count*{tf}*{K1 + 1:g}/({tf}+{K1:g}*{norm})"

    per_field = f"if(user_weight==2, {field('title', TITLE_BOOST)}, if(user_weight==1, {field('body', 1.0)}, 0))"
    formula = f"sum({per_field})*{SCORE_SCALE:.0f}"
    return f"doc_word_count*{TIER_SCALE} + {formula}" if tiered else formula


# --- exact ranking: Whoosh's scores, computed here --------------------------------------------
#
# The expression ranker sees per field only the total frequency of the matched words, so for more
# than one word it can only approximate Whoosh's BM25F (`bm25_ranker`). The engine's order is
# therefore used to pick candidates, and the candidates are scored again here, exactly as Whoosh
# scores them: each word's frequency in each field (one cheap query per word and field, limited to
# the candidates), the lengths Whoosh keeps (`*_wl`), and idf and average lengths from the whole
# cluster. How many candidates are enough is checked, not guessed (`_settled`).

RERANK_MIN = 100  # candidates scored again at least
RERANK_MAX = 10_000  # and at most (then the order past them is the engine's)
_GROWTH = 4  # candidates × this when the page is not yet provably right
_UNPROVABLE_MIN = 400  # candidates when no bound can be checked (feedback, filters with words)


@dataclass(frozen=True)
class Unit:
    """A scored leaf of a query: a word, or a phrase (matched as a whole, scored by its words), in title or body."""

    field: str
    words: tuple[str, ...]
    boost: float = 1.0

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class Clause:
    """An OR (`any`) or AND (`all`) of scored parts, as Whoosh sums them; `coord` tiers its words (`_CoordQuery`);
    `maybe` is AndMaybe: the first part must match, the second adds when it does."""

    kind: str  # "any" | "all" | "maybe" | "coord"
    parts: tuple[Any, ...]
    boost: float = 1.0
    words: int = 0  # coord: the query's distinct words
    ranked: Any = field(default=None, compare=False)  # coord: the Whoosh query it tiers, for its score bound


@dataclass
class ScoringPlan:
    """What ranks a query's documents, and whether the engine's order bounds it (`_settled` may prove a page)."""

    root: Any
    provable: bool


def scoring_plan(q: Any, filter_q: Any = None) -> ScoringPlan | None:
    """The scored part of a parsed query, or None when it holds something only Whoosh scores
    (other fields' words, wildcards, `*`, nested NOT…); restrictions (`date:`, `section:`, `-word`)
    only narrow, as in Whoosh."""
    provable = True
    spine = q
    while True:
        if isinstance(spine, (wq.Require, wq.AndNot)) and not isinstance(spine, wq.AndMaybe):
            if isinstance(spine, wq.Require) and _has_words(spine.b):
                provable = False  # the restriction's words count among the engine's matched words
            spine = spine.a
        else:
            break
    try:
        root = _scored(spine)
    except _Unscorable:
        return None
    if filter_q is not None and _has_words(filter_q):
        provable = False
    return ScoringPlan(root, provable)


class _Unscorable(Exception):
    pass


def _scored(q: Any) -> Any:
    from ..searcher import _CoordQuery, DEFAULT_FIELDS

    boost = float(getattr(q, "boost", 1.0) or 1.0)
    if isinstance(q, _CoordQuery):
        return Clause("coord", (_scored(q.child),), 1.0, q.words, q.child)
    if isinstance(q, wq.Term) and q.fieldname in DEFAULT_FIELDS:
        return Unit(q.fieldname, (str(q.text),), boost)
    if isinstance(q, wq.Phrase) and q.fieldname in DEFAULT_FIELDS and q.slop <= 1 and q.words:
        return Unit(q.fieldname, tuple(str(w) for w in q.words), boost)
    if isinstance(q, wq.AndMaybe):
        return Clause("maybe", (_scored(q.a), _scored(q.b)), boost)
    if isinstance(q, wq.Or) and not isinstance(q, wq.DisjunctionMax) and q.subqueries:
        return Clause("any", tuple(_scored(s) for s in q.subqueries), boost)
    if isinstance(q, wq.And) and q.subqueries:
        return Clause("all", tuple(_scored(s) for s in q.subqueries), boost)
    raise _Unscorable


def _units(root: Any) -> list[Unit]:
    if isinstance(root, Unit):
        return [root]
    return [u for part in root.parts for u in _units(part)]


def _phrases(root: Any) -> bool:
    return any(u.phrase for u in _units(root))


def _has_words(q: Any) -> bool:
    return any(isinstance(leaf, (wq.Term, wq.Phrase)) for leaf in q.leaves()) if q is not None else False


def whoosh_bm25(idf: float, tf: float, fl: float, avgfl: float) -> float:
    """`whoosh.scoring.bm25`, term for term (so equal inputs give Whoosh's very float)."""
    return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))


@dataclass
class Evidence:
    """What scoring needs of each candidate: word frequencies and phrase matches per field, field lengths."""

    tf: dict[tuple[str, str], dict[int, int]]  # (field, word) → doc → frequency
    phrases: dict[tuple[str, tuple[str, ...]], set[int]]  # (field, words) → docs where the phrase is
    lengths: dict[str, dict[int, int]]  # field → doc → Whoosh's (lossy) length
    idf: dict[tuple[str, str], float]
    avg_length: dict[str, float]
    bounds: dict[Clause, float] = field(default_factory=dict)  # coord clause → `searcher._score_bound`


_FIELD_BOOST = {"title": TITLE_BOOST, "body": 1.0}


def _evaluate(node: Any, doc: int, ev: Evidence) -> tuple[bool, float, frozenset[str], int]:
    """(matches, score, words matched, tier) of one candidate, as Whoosh's matchers compute them.

    For a tiered (`coord`) query the score is `_CoordMatcher`'s: tier + BM25 / the bound of the
    query's BM25 over the whole collection, which orders each tier by BM25."""
    if isinstance(node, Unit):
        if node.phrase:
            if doc not in ev.phrases.get((node.field, node.words), ()):
                return False, 0.0, frozenset(), 0
        elif not ev.tf.get((node.field, node.words[0]), {}).get(doc):
            return False, 0.0, frozenset(), 0
        score = 0.0
        for i, word in enumerate(node.words):
            tf = ev.tf.get((node.field, word), {}).get(doc, 0) * _FIELD_BOOST[node.field]
            part = whoosh_bm25(ev.idf[node.field, word], tf, ev.lengths[node.field].get(doc, 0), ev.avg_length[node.field])
            score = part if i == 0 else score + part
        return True, score * node.boost if node.boost != 1.0 else score, frozenset(node.words), 0
    if node.kind == "coord":
        matches, bm25, words, _ = _evaluate(node.parts[0], doc, ev)
        tier, score = _tiered(node, bm25, words, ev)
        return matches, score, words, tier
    results = [_evaluate(part, doc, ev) for part in node.parts]
    if node.kind == "maybe":
        if not results[0][0]:
            return False, 0.0, frozenset(), 0
        results = [r for r in results if r[0]]
    elif node.kind == "all" and not all(r[0] for r in results):
        return False, 0.0, frozenset(), 0
    matched = [r for r in results if r[0]]
    if not matched:
        return False, 0.0, frozenset(), 0
    score = matched[0][1]
    for r in matched[1:]:
        score += r[1]
    tier = max(r[3] for r in matched)
    return True, score * node.boost if node.boost != 1.0 else score, frozenset().union(*(r[2] for r in matched)), tier


def _tiered(node: Clause, bm25: float, words: frozenset[str], ev: Evidence) -> tuple[int, float]:
    """The tier and the score `_CoordMatcher.score` gives a document holding `words`, of BM25 `bm25`."""
    tier = max(0, min(len(words), node.words) - 1)
    return tier, tier + min(bm25 / ev.bounds[node], 1.0)


def _coord_clauses(root: Any) -> list[Clause]:
    if isinstance(root, Unit):
        return []
    return ([root] if root.kind == "coord" else []) + [c for part in root.parts for c in _coord_clauses(part)]


def _coord_bounds(root: Any, idf: dict[tuple[str, str], float], having: dict[tuple[str, str], int]) -> dict[Clause, float]:
    """Each tiered clause's divisor, as `_CoordQuery` computes it from Whoosh's statistics, here from the cluster's."""
    from ..searcher import _score_bound

    def word_idf(fieldname: str, word: Any) -> float | None:
        if fieldname not in _FIELD_BOOST:
            return math.nan
        return idf[fieldname, str(word)] if having.get((fieldname, token(str(word)))) else None

    bounds = {}
    for clause in _coord_clauses(root):
        bound = _score_bound(clause.ranked, word_idf, K1)
        if bound is None:
            raise _Unscorable
        bounds[clause] = bound if bound > 0 else 1.0
    return bounds


def _bound_factor(plan: ScoringPlan, ev: Evidence, mean_idf: dict[str, float]) -> float:
    """r such that Whoosh's score ≤ r × the engine's approximation, for any document.

    Per field the approximation is mean idf × m·g(T/m) (m words matched, T hits); Whoosh's is
    Σ idf_w·g(t_w) ≤ max idf × Σ g(t_w) ≤ max idf × m·g(T/m), g being concave (Jensen).
    """
    units = _units(plan.root)
    boost = max((u.boost for u in units), default=1.0)
    factor = 0.0
    for name in ("title", "body"):
        top = max((ev.idf[name, w] for u in units if u.field == name for w in u.words), default=0.0)
        if top > 0 and mean_idf.get(name, 0.0) > 0:
            factor = max(factor, top * boost / mean_idf[name])
    return factor * (1 + 1e-4) if factor > 0 else 1.0


class _CollectionStatistics:
    """What `searcher._rm3_weights` asks a Whoosh searcher, answered by the cluster: documents, and
    body document frequencies (those asked for before `prefetch` are answered 0 and remembered)."""

    def __init__(self, index: "ManticoreIndex", notes: list[str]) -> None:
        self._index = index
        self._notes = notes
        self._wanted: dict[str, None] = {}
        self._known: dict[str, int] | None = None

    def doc_count_all(self) -> int:
        return self._index._collection(self._notes)[0]

    def doc_frequency(self, fieldname: str, term: str) -> int:
        if self._known is None or term not in self._known:
            self._wanted[term] = None
            if self._known is None:
                return 0
            self.prefetch()
            assert self._known is not None
        return self._known[term]

    def prefetch(self) -> None:
        tokens = sorted({token(t) for t in self._wanted})
        having = self._index._document_frequencies(tokens, self._notes) if tokens else {}
        self._known = {**(self._known or {}), **{t: having.get(("body", token(t)), 0) for t in self._wanted}}


# --- searching --------------------------------------------------------------------------------


def _text_list(value: Any) -> list[Any]:
    try:
        data = json.loads(value) if value else []
    except ValueError:
        return []
    return data if isinstance(data, list) else []


class ManticoreIndex:
    """The cluster as a `SearchBackend`: queries through the distributed index on the first node that answers."""

    def __init__(self, spec: BackendSpec) -> None:
        from ..schema import build_schema
        from ..searcher import QueryBuilder

        self.spec = spec
        self.index_dir = Path(str(spec))  # what IndexStats and messages show
        self._cluster = Cluster(spec)
        self._builder = QueryBuilder(build_schema())
        self._coordinator: Node | None = None
        self._local_shard: str | None = None
        self._collection_cache: tuple[float, int, dict[str, float]] | None = None
        self._df_cache: tuple[float, dict[tuple[str, str], int]] = (0.0, {})
        # Whoosh's exact order for ranked queries (`_rank_exactly`); off, the engine's approximation alone.
        self.exact_ranking = True

    # lifecycle
    def __enter__(self) -> "ManticoreIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._cluster.close()

    def __repr__(self) -> str:
        return f"ManticoreIndex({str(self.spec)!r})"

    # plumbing
    def _query(self, sql: str, args: Sequence[Any] = (), *, notes: list[str] | None = None, sets: bool = False) -> tuple[list[Any], dict[str, str]]:
        """Run a read on the distributed index, on the first node that answers; check for missing shards.
        With `sets`, the rows come as one list per statement."""
        errors: list[str] = []
        candidates = [self._coordinator] if self._coordinator is not None else []
        candidates += [n for n in self._cluster.coordinator_order() if n not in candidates]
        for node in candidates:
            try:
                rows, meta = self._cluster.execute(node, sql, args, meta=True, sets=sets)
            except BackendError as error:
                if "refused the request" in str(error):
                    raise
                errors.append(str(error))
                self._coordinator = None
                continue
            self._coordinator = node
            warning = meta.get("warning")
            if warning:
                said = self._dead_nodes(warning)
                if not self.spec.allow_partial:
                    raise BackendError(
                        f"{said} ({warning}); the results would miss its shards. Start it again, "
                        "or add ?partial=1 to the backend URL to accept partial results"
                    )
                if notes is not None:
                    notes.append(f"partial results: {said} ({warning})")
            return rows, meta
        raise BackendError("no node of the cluster answers: " + "; ".join(errors))

    def _query_many(self, statement: str, args: Sequence[Sequence[Any]], notes: list[str] | None = None) -> list[list[tuple[Any, ...]]]:
        """One statement run with each of several argument lists: the rows of each. They go in
        batches of _BATCH_STATEMENTS per round trip (searchd refuses bigger multi-queries to its agents)."""
        results: list[list[tuple[Any, ...]]] = []
        for start in range(0, len(args), _BATCH_STATEMENTS):
            chunk = args[start : start + _BATCH_STATEMENTS]
            rows, _ = self._query("; ".join([statement] * len(chunk)), [a for each in chunk for a in each], notes=notes, sets=True)
            results.extend(rows)
        return results

    def _dead_nodes(self, warning: str) -> str:
        """"node A did not answer": the nodes whose agent ports a searchd warning names."""
        named = []
        for host, port in re.findall(r"agent ([^\s:]+):(\d+)", warning):
            node = next((n for n in self.spec.nodes if n.host == host and n.api_port == int(port)), None)
            named.append(str(node) if node else f"{host}:{port}")
        names = ", ".join(dict.fromkeys(named)) or "a node"
        return f"node {names} did not answer" if len(named) <= 1 else f"nodes {names} did not answer"

    def _parse(self, query: str) -> Any:
        return self._builder.parse(query, _NoExpansion())

    def _filter(self, **filters: Any) -> Any:
        # The very filter Whoosh builds (dates, --source, --section, --lang), translated like the query.
        from ..searcher import SearchIndex

        return SearchIndex._filter(self, **filters)  # type: ignore[arg-type]

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
        """One page of hits, as `SearchIndex.search` (see the module docstring for what differs)."""
        from ..searcher import SORTS, _check_paging

        started = time.perf_counter()
        _check_paging(limit, page)
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if fragments < 0:
            raise ValueError("fragments must be 0 or more")
        parsed = self._parse(query)
        filter_q = self._filter(since=since, until=until, source=source, section=section, lang=lang)
        plan = translate(parsed.q, filter_q)
        notes = list(parsed.notes)
        total = 0
        hits: tuple[Hit, ...] = ()
        if not plan.empty:
            feedback = self._feedback(query, parsed.q, plan, filter_q, sort, notes)
            total, hits = self._run(plan, parsed.q, limit, page, sort, fragments, notes, filter_q, feedback)
        return Results(
            query=query,
            total=total,
            page=page,
            hits=hits,
            suggestion=None,
            elapsed=time.perf_counter() - started,
            notes=tuple(dict.fromkeys(notes)),
        )

    def _feedback(self, text: str, q: Any, plan: Translation, filter_q: Any, sort: str, notes: list[str]) -> tuple[Any, Translation] | None:
        """RM3 for a long question of plain words, as `SearchIndex._with_feedback`: the query to rank
        by and its plan (the typed words must match; the feedback words only add to the score)."""
        from ..searcher import DEFAULT_FIELDS, FEEDBACK_DOCS, FEEDBACK_MIN_WORDS, _PATTERN_CHARS, _plain_words_of, _rm3_weights

        words = _plain_words_of(q)
        if sort != "relevance" or not self.exact_ranking or words is None or len(set(words)) < FEEDBACK_MIN_WORDS or _PATTERN_CHARS.search(text):
            return None
        scoring = scoring_plan(q, filter_q)
        first = self._rank_exactly(scoring, plan, q, FEEDBACK_DOCS, notes) if scoring is not None else None
        if first is None or not first[1]:
            return None
        top_docs = first[1][:FEEDBACK_DOCS]
        rows, _ = self._query(
            f"SELECT id, title_text, body_text FROM {self.spec.name} WHERE id IN ({', '.join(['%s'] * len(top_docs))}) "
            f"LIMIT 0, %s OPTION max_matches=%s",
            [*(doc for doc, _ in top_docs), len(top_docs), _MAX_MATCHES_FLOOR],
            notes=notes,
        )
        texts = {int(doc): {"title": title, "body": body} for doc, title, body in rows}
        top = [(texts[doc], score) for doc, score in top_docs if doc in texts]
        # Whoosh's own RM3, run twice: first to learn which words it asks the frequency of, so that
        # they are counted in one round trip, then for real.
        statistics = _CollectionStatistics(self, notes)
        _rm3_weights(words, top, statistics)
        statistics.prefetch()
        expanded = _rm3_weights(words, top, statistics)
        ranked = wq.Or([wq.Or([wq.Term(name, term, boost=weight) for name in DEFAULT_FIELDS]) for term, weight in expanded.items()])
        extra = " | ".join(_term(name, term) for term in expanded for name in DEFAULT_FIELDS)
        return ranked, Translation(
            match=f"({plan.match}) MAYBE ({extra})", low=plan.low, high=plan.high, dated=plan.dated, empty=plan.empty
        )

    def _run(
        self, plan: Translation, q: Any, limit: int, page: int, sort: str, fragments: int, notes: list[str],
        filter_q: Any = None, feedback: tuple[Any, Translation] | None = None,
    ) -> tuple[int, tuple[Hit, ...]]:
        select = ["id", "aid", "path", "title_text", "date_iso", "source_text", "section_text", "url_text", "WEIGHT() AS w"]
        args: list[Any] = []
        body_spec, title_spec = match_spec(q, "body"), match_spec(q, "title")
        body_q, title_q = snippet_query(body_spec), snippet_query(title_spec)
        if fragments:
            select.append("SNIPPET(body_text, %s" + ", %s" * len(_MARK_ALL) + ") AS snip")
            args += [body_q or NEVER_TOKEN, *_MARK_ALL]
        if title_q:
            select.append("SNIPPET(title_text, %s" + ", %s" * len(_MARK_ALL) + ") AS tsnip")
            args += [title_q, *_MARK_ALL]
        where, where_args = plan.where()
        offset = (page - 1) * limit
        ranked_q, rank_plan = feedback or (q, plan)
        scoring = scoring_plan(ranked_q, filter_q) if sort == "relevance" and not plan.ranker and self.exact_ranking else None
        ranked: list[tuple[int, float]] | None = None
        if scoring is not None:
            if feedback is not None:
                # The engine's approximation ignores the feedback weights, so no bound holds: a wide window instead.
                scoring.provable = False
            found = self._rank_exactly(scoring, rank_plan, ranked_q, offset + limit, notes)
            if found is not None:
                total, ranked = found
        if ranked is not None:
            page_ids = [doc for doc, _ in ranked[offset : offset + limit]]
            rows: list[tuple[Any, ...]] = []
            if page_ids:
                sql = (
                    f"SELECT {', '.join(select)} FROM {self.spec.name}{where}{' AND' if where else ' WHERE'} "
                    f"id IN ({', '.join(['%s'] * len(page_ids))}) LIMIT 0, %s OPTION ranker=expr('1'), max_matches=%s"
                )
                found_rows, _ = self._query(sql, [*args, *where_args, *page_ids, len(page_ids), max(_MAX_MATCHES_FLOOR, len(page_ids))], notes=notes)
                by_id = {int(row[0]): row for row in found_rows}
                scores = dict(ranked[offset : offset + limit])
                rows = [(*by_id[doc][:8], scores[doc], *by_id[doc][9:]) for doc in page_ids if doc in by_id]
        else:
            order = {
                "relevance": "WEIGHT() DESC, seq ASC",
                # Whoosh reverses the whole order for newest, ties included.
                "newest": "dated DESC, date_us DESC, seq DESC",
                "oldest": "dated DESC, date_us ASC, seq ASC",
            }[sort]
            ranker = plan.ranker or (self._ranker(q, plan.tiered, notes) if sort == "relevance" else "1")
            sql = (
                f"SELECT {', '.join(select)} FROM {self.spec.name}{where} ORDER BY {order} LIMIT %s, %s "
                f"OPTION ranker=expr(%s), {FIELD_WEIGHTS_OPTION}, idf='plain', max_matches=%s"
            )
            rows, meta = self._query(
                sql, [*args, *where_args, offset, limit, ranker, max(_MAX_MATCHES_FLOOR, offset + limit)], notes=notes
            )
            total = int(meta.get("total_found", "0") or 0)
            rows = [(*row[:8], float(row[8]) / SCORE_SCALE if sort == "relevance" else 0.0, *row[9:]) for row in rows]
        hits = []
        for rank, row in enumerate(rows, start=offset + 1):
            doc, aid, path, title, date_iso, source, section, url, score = row[:9]
            rest = list(row[9:])
            snippets: tuple[Snippet, ...] = ()
            if fragments:
                body, spans = spans_of(str(rest.pop(0) or ""), words=not body_spec.phrases)
                snippets = fragments_of(body, spans, fragments)
            title_spans: tuple[tuple[int, int], ...] = ()
            if title_q:
                marked_title, title_spans = spans_of(str(rest.pop(0) or ""), words=not title_spec.phrases)
                if marked_title != title:
                    title_spans = ()  # the engine changed the text: no spans rather than wrong ones
            hits.append(
                Hit(
                    id=str(aid),
                    rank=rank,
                    score=float(score),
                    title=str(title),
                    date=str(date_iso) or None,
                    source=str(source),
                    section=str(section),
                    url=str(url),
                    path=str(path),
                    snippets=snippets,
                    title_highlights=title_spans,
                )
            )
        return total, tuple(hits)

    def _rank_exactly(self, scoring: ScoringPlan, plan: Translation, q: Any, need: int, notes: list[str]) -> tuple[int, list[tuple[int, float]]] | None:
        """The total and the first `need` (or more) documents in Whoosh's order, with Whoosh's BM25F scores.

        The engine's approximate order picks candidates; they are scored again exactly, and the
        candidates are grown until no document past them could rank above the page's last one
        (`_settled`), or RERANK_MAX is reached. None when there is nothing to rank by.
        """
        units = _units(scoring.root)
        words = sorted({(u.field, w) for u in units for w in u.words})
        if not words or len(words) > 2 * _IDF_WORDS:
            return None
        ranker, mean_idf = self._ranker_idf(q, plan.tiered, notes)
        if ranker == "1":
            return None
        documents, avg_length = self._collection(notes)
        having = self._document_frequencies(sorted({token(w) for _, w in words}), notes)
        idf = {(name, w): rsj_idf(documents, having.get((name, token(w)), 0)) for name in ("title", "body") for _, w in words}
        try:
            bounds = _coord_bounds(scoring.root, idf, having)
        except _Unscorable:
            return None
        coord = scoring.root if isinstance(scoring.root, Clause) and scoring.root.kind == "coord" else None
        if _phrases(scoring.root) and plan.match is not None:
            # The engine counts a phrase's hits only; Whoosh scores all its words' occurrences.
            # Seen as optional words too, they rank the candidates (and bound the scores) as Whoosh would.
            extra = " | ".join(dict.fromkeys(_term(u.field, w) for u in units if u.phrase for w in u.words))
            plan = Translation(match=f"({plan.match}) MAYBE ({extra})", low=plan.low, high=plan.high, dated=plan.dated, tiered=plan.tiered)
        where, where_args = plan.where()
        window = max(RERANK_MIN, 2 * need) if scoring.provable else max(_UNPROVABLE_MIN, _GROWTH * need)
        while True:
            window = min(window, RERANK_MAX)
            rows, meta = self._query(
                f"SELECT id, seq, title_wl, body_wl, WEIGHT() AS w FROM {self.spec.name}{where} ORDER BY WEIGHT() DESC, seq ASC "
                f"LIMIT 0, %s OPTION ranker=expr(%s), {FIELD_WEIGHTS_OPTION}, idf='plain', max_matches=%s",
                [*where_args, window, ranker, window],
                notes=notes,
            )
            total = int(meta.get("total_found", "0") or 0)
            if not rows:
                return total, []
            docs = [int(row[0]) for row in rows]
            seq = {int(row[0]): int(row[1]) for row in rows}
            lengths = {"title": {int(r[0]): int(r[2]) for r in rows}, "body": {int(r[0]): int(r[3]) for r in rows}}
            tf, phrases = self._evidence(units, docs, notes)
            ev = Evidence(tf, phrases, lengths, idf, avg_length, bounds)
            keyed = []
            for doc in docs:
                if coord is not None:
                    _, bm25, words, _ = _evaluate(coord.parts[0], doc, ev)
                    tier, score = _tiered(coord, bm25, words, ev)
                else:
                    _, score, _, tier = _evaluate(scoring.root, doc, ev)
                    bm25 = score
                # Whoosh's order: score, then writing order. `_settled` also needs the tier and BM25.
                keyed.append((-score, seq[doc], doc, score, tier, bm25))
            keyed.sort()
            ranked = [(doc, score) for _, _, doc, score, _, _ in keyed]
            if len(rows) < window or window >= RERANK_MAX or total <= len(rows):
                return total, ranked
            if scoring.provable and self._settled(keyed, rows, need, plan.tiered, _bound_factor(scoring, ev, mean_idf)):
                return total, ranked
            if not scoring.provable:
                return total, ranked  # no bound to check: the widened window is the best there is
            window *= _GROWTH

    @staticmethod
    def _settled(keyed: list[tuple[Any, ...]], rows: list[tuple[Any, ...]], need: int, tiered: bool, factor: float) -> bool:
        """Whether no document past the candidates can rank among the first `need`.

        The engine ranks them at or below its last candidate: a tier (`doc_word_count`, which counts
        every matched keyword, so never fewer than Whoosh's words) no higher, and within that tier an
        approximation no higher, which × `factor` bounds Whoosh's score (`_bound_factor`)."""
        _, _, _, _, last_tier, last_bm25 = keyed[min(need, len(keyed)) - 1]
        weight = float(rows[-1][4])
        tier = int(weight // TIER_SCALE) if tiered else 0
        approx = weight - tier * TIER_SCALE
        # WEIGHT() is a float32 made integer: allow for its rounding.
        bound = factor * (approx + 2 + abs(weight) * 2.0**-22) / SCORE_SCALE
        last_tier = last_tier + 1 if tiered else 0  # the engine's tier counts matched words, ours is one less
        return bool(last_tier > tier or (last_tier == tier and last_bm25 > bound))

    def _evidence(self, units: list[Unit], docs: list[int], notes: list[str]) -> tuple[dict[tuple[str, str], dict[int, int]], dict[tuple[str, tuple[str, ...]], set[int]]]:
        """How often each word occurs in each field of these documents, and where each phrase is: one
        statement per word or phrase and field (and per _ID_SET documents), in few round trips."""
        words = sorted({(u.field, w) for u in units for w in u.words})
        phrase_units = sorted({(u.field, u.words) for u in units if u.phrase})
        queries: list[tuple[Any, str]] = [((name, w), f"@{name} ={token(w)}") for name, w in words]
        queries += [((name, phrase), f'@{name} "' + " ".join(f"={token(w)}" for w in phrase) + '"') for name, phrase in phrase_units]
        tf: dict[tuple[str, str], dict[int, int]] = {key: {} for key in words}
        phrases: dict[tuple[str, tuple[str, ...]], set[int]] = {key: set() for key in phrase_units}
        for start in range(0, len(docs), _ID_SET):
            chunk = docs[start : start + _ID_SET]
            statement = (
                f"SELECT id, WEIGHT() FROM {self.spec.name} WHERE MATCH(%s) AND id IN ({', '.join(str(int(d)) for d in chunk)}) "
                f"LIMIT 0, {len(chunk)} OPTION ranker=expr('sum(hit_count)'), max_matches={max(len(chunk), _MAX_MATCHES_FLOOR)}"
            )
            results = self._query_many(statement, [[match] for _, match in queries], notes)
            for (key, _), rows in zip(queries, results):
                if key in tf:
                    tf[key].update({int(doc): int(weight) for doc, weight in rows})
                else:
                    phrases[key].update(int(doc) for doc, _ in rows)
        return tf, phrases

    def _ranker(self, q: Any, tiered: bool, notes: list[str]) -> str:
        """`bm25_ranker` for this query: idf per field from the cluster's document frequencies."""
        return self._ranker_idf(q, tiered, notes)[0]

    def _ranker_idf(self, q: Any, tiered: bool, notes: list[str]) -> tuple[str, dict[str, float]]:
        """`bm25_ranker` for this query, and the mean idf per field it uses."""
        words: set[str] = set()
        for name in ("title", "body"):
            spec = match_spec(q, name)
            words |= set(spec.terms) | {w for phrase, _ in spec.phrases for w in phrase}
        tokens = sorted({token(w) for w in words})[:_IDF_WORDS]
        if not tokens:
            return "1", {}  # no words to rank by (`*`, a field filter): the order they were written in, as Whoosh
        documents, avg_length = self._collection(notes)
        having = self._document_frequencies(tokens, notes)
        idf: dict[str, float] = {}
        for name in ("title", "body"):
            # Over the words the field holds at all: a word no title has adds nothing to a title's score.
            present = [rsj_idf(documents, having[name, t]) for t in tokens if having.get((name, t))]
            idf[name] = sum(present) / len(present) if present else 0.0
        return bm25_ranker(idf, avg_length, tiered), idf

    def _collection(self, notes: list[str]) -> tuple[int, dict[str, float]]:
        """Documents and average title/body lengths in the whole cluster (cached for a few seconds)."""
        now = time.monotonic()
        cached = self._collection_cache
        if cached is None or now - cached[0] > _STATS_TTL:
            rows, _ = self._query(f"SELECT COUNT(*), SUM(title_len), SUM(body_len) FROM {self.spec.name}", notes=notes)
            documents, title, body = (int(v or 0) for v in rows[0]) if rows else (0, 0, 0)
            averages = {"title": title / documents if documents else 1.0, "body": body / documents if documents else 1.0}
            cached = self._collection_cache = (now, documents, averages)
        return cached[1], cached[2]

    def _document_frequencies(self, tokens: list[str], notes: list[str]) -> dict[tuple[str, str], int]:
        """How many articles hold each token in their title and in their body (cached a few seconds).

        SHOW META's per-keyword counts ignore the field, and Whoosh's idf is per field: one COUNT per
        field and word, all in one round trip.
        """
        now = time.monotonic()
        if now - self._df_cache[0] > _STATS_TTL:
            self._df_cache = (now, {})
        cache = self._df_cache[1]
        wanted = [(name, t) for t in tokens for name in ("title", "body") if (name, t) not in cache]
        if wanted:
            statement = f"SELECT COUNT(*) FROM {self.spec.name} WHERE MATCH(%s)"
            results = self._query_many(statement, [[f"@{name} ={t}"] for name, t in wanted], notes)
            cache.update({key: int(rows[0][0]) if rows else 0 for key, rows in zip(wanted, results)})
        return {(name, t): cache[name, t] for t in tokens for name in ("title", "body")}

    # articles
    def _row(self, id: str) -> dict[str, Any]:
        rows, _ = self._query(f"SELECT {', '.join(STRING_ATTRS)} FROM {self.spec.name} WHERE id = %s", [doc_id(id)])
        for row in rows:
            fields = dict(zip(STRING_ATTRS, row))
            if fields.get("aid") == id:
                return fields
        raise ArticleNotFoundError(f"no article with id {id!r} in {self.spec}")

    def _shard_name(self) -> str:
        """A shard local to the coordinator (for DESCRIBE and CALL SNIPPETS, which need a real index)."""
        if self._local_shard is None:
            node = self._coordinator or self.spec.nodes[0]
            pattern = re.compile(rf"{re.escape(self.spec.name)}_\d+")
            names = sorted(n for n, kind in self._cluster.tables(node).items() if kind == "rt" and pattern.fullmatch(n))
            if not names:
                raise BackendError(f"{node} holds no {self.spec.name}_N shard")
            self._local_shard = names[0]
        return self._local_shard

    def get(self, id: str) -> Article:
        """The whole article with this id; ArticleNotFoundError when the cluster has none."""
        from ..searcher import _article

        fields = self._row(id)
        stored = {
            "id": fields["aid"],
            "title": fields.get("title_text", ""),
            "body": fields.get("body_text", ""),
            "date_iso": fields.get("date_iso") or None,
            "date_info": tuple(_text_list(fields.get("date_info"))) or None,
            "section": fields.get("section_text", ""),
            "source": fields.get("source_text", ""),
            "byline": fields.get("byline_text", ""),
            "dateline": fields.get("dateline", ""),
            "url": fields.get("url_text", ""),
            "lang": fields.get("lang_text", ""),
            "keywords": fields.get("keywords_text", ""),
            "provenance": tuple(_text_list(fields.get("provenance"))),
        }
        return _article(stored)

    def _highlight(self, text: str, query: str, fieldname: str) -> tuple[tuple[int, int], ...]:
        spec = match_spec(self._parse(query).q, fieldname)
        words = snippet_query(spec)
        if not text or not words:
            return ()
        options = [f"'{MARK_OPEN}' AS before_match", f"'{MARK_CLOSE}' AS after_match", "0 AS limit", "1 AS query_mode", "'none' AS html_strip_mode"]
        self._query(f"SELECT id FROM {self.spec.name} LIMIT 0")  # picks a live coordinator
        node = self._coordinator or self.spec.nodes[0]
        rows, _ = self._cluster.execute(
            node, f"CALL SNIPPETS(%s, %s, %s, {', '.join(options)})", [_clean(text), self._shard_name(), words]
        )
        marked, spans = spans_of(str(rows[0][0]) if rows else "", words=not spec.phrases)
        return spans if marked == _clean(text) else ()

    def highlight(self, text: str, query: str) -> tuple[tuple[int, int], ...]:
        """Spans of `text` that `query` matches in article bodies (`show --highlight`)."""
        return self._highlight(text, query, "body")

    def title_highlight(self, text: str, query: str) -> tuple[tuple[int, int], ...]:
        return self._highlight(text, query, "title")

    def similar(self, id: str, *, limit: int = 10, page: int = 1, fragments: int = 3, numterms: int = 15) -> Results:
        """Articles like this one: its most telling words (Bo1, as Whoosh's key terms) as a ranked OR."""
        from ..searcher import _check_paging

        started = time.perf_counter()
        _check_paging(limit, page)
        article = self.get(id)
        counts = Counter(analysed_terms(f"{article.title}\n{article.body}"))
        if not counts:
            return Results(query=f"similar:{id}", total=0, page=page, hits=(), elapsed=time.perf_counter() - started)
        candidates = [t for t, _ in counts.most_common(200)]
        probe = " | ".join(f"={token(t)}" for t in candidates)
        _, meta = self._query(f"SELECT id FROM {self.spec.name} WHERE MATCH(%s) LIMIT 0", [f"@body ({probe})"])
        documents_rows, _ = self._query(f"SELECT COUNT(*) FROM {self.spec.name}")
        documents = int(documents_rows[0][0]) if documents_rows else 0
        frequencies = {meta.get(f"keyword[{i}]", "").lstrip("="): int(meta.get(f"hits[{i}]", "0") or 0) for i in range(len(candidates))}
        total_terms = sum(counts.values())
        scored = []
        for term in candidates:
            in_collection = frequencies.get(token(term), 0)
            if not in_collection or not documents:
                continue
            f = in_collection / documents
            weight = counts[term] * math.log((1.0 + f) / f, 2) + math.log(1.0 + f, 2)
            scored.append((weight / total_terms if total_terms else weight, term))
        scored.sort(reverse=True)
        top = scored[:numterms]
        if not top:
            return Results(query=f"similar:{id}", total=0, page=page, hits=(), elapsed=time.perf_counter() - started)
        best = top[0][0] or 1.0
        q = wq.Or([wq.Term("body", term, boost=max(weight / best, 0.01)) for weight, term in top])
        plan = translate(q)
        plan.exclude = doc_id(id)
        plan.ranker = RANKER_WEIGHTED
        notes: list[str] = []
        total, hits = self._run(plan, q, limit, page, "relevance", fragments, notes)
        return Results(query=f"similar:{id}", total=total, page=page, hits=hits, elapsed=time.perf_counter() - started, notes=tuple(notes))

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
        """How many matching dated articles fall in each year, month or day (UTC), as `SearchIndex.timeline`."""
        from ..searcher import PERIODS, _fill_periods

        if by not in PERIODS:
            raise ValueError(f"by must be one of {', '.join(PERIODS)}, not {by!r}")
        parsed = self._parse(query)
        filter_q = self._filter(since=since, until=until, source=source, section=section, lang=lang)
        plan = translate(parsed.q, filter_q)
        if plan.empty:
            return []
        plan.dated = True
        where, args = plan.where()
        rows, _ = self._query(
            f"SELECT ymd, COUNT(*) AS c FROM {self.spec.name}{where} GROUP BY ymd LIMIT 0, %s OPTION max_matches=%s",
            [*args, _GROUP_LIMIT, _GROUP_LIMIT],
        )
        counts: Counter[str] = Counter()
        for ymd, count in rows:
            ymd = int(ymd)
            key = f"{ymd // 10000:04d}-{ymd // 100 % 100:02d}-{ymd % 100:02d}"
            counts[key[: {"year": 4, "month": 7, "day": 10}[by]]] += int(count)
        return _fill_periods(counts, by)

    def stats(self) -> Any:
        """Documents, date span and counts by source, section, language and encoding, as `SearchIndex.stats`."""
        from ..schema import SCHEMA_VERSION
        from ..searcher import IndexStats, _counts

        name = self.spec.name
        rows, _ = self._query(f"SELECT COUNT(*) FROM {name}")
        documents = int(rows[0][0]) if rows else 0
        rows, _ = self._query(f"SELECT COUNT(*), MIN(date_us), MAX(date_us) FROM {name} WHERE dated = 1")
        dated, earliest, latest = (int(rows[0][0]), rows[0][1], rows[0][2]) if rows and int(rows[0][0]) else (0, None, None)

        def facet(attr: str) -> Counter[str]:
            found, _ = self._query(
                f"SELECT {attr}, COUNT(*) AS c FROM {name} GROUP BY {attr} LIMIT 0, %s OPTION max_matches=%s",
                [_GROUP_LIMIT, _GROUP_LIMIT],
            )
            return Counter({str(value or ""): int(count) for value, count in found})

        size = 0
        try:
            for shard, node in self._cluster.layout().items():
                status, _ = self._cluster.execute(node, f"SHOW INDEX {name}_{shard} STATUS")
                values = {str(k): str(v) for k, v in status}
                size += int(values.get("disk_bytes", "0") or 0) + int(values.get("ram_bytes", "0") or 0)
        except BackendError:
            size = 0  # a node down (and partial results accepted): the size is unknown
        return IndexStats(
            index_dir=str(self.spec),
            documents=documents,
            earliest=_iso_micros(earliest) if earliest is not None else None,
            latest=_iso_micros(latest) if latest is not None else None,
            undated=documents - dated,
            sources=_counts(facet("source_text")),
            sections=_counts(facet("section_text")),
            languages=_counts(facet("lang_text")),
            encodings=_counts(facet("encoding")),
            size_bytes=size,
            schema_version=SCHEMA_VERSION,
        )

    def suggest(self, query: str) -> str | None:
        return None  # the engine keeps no vocabulary we could correct against


def _iso_micros(value: Any) -> str:
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(value))).isoformat()


# --- writing ----------------------------------------------------------------------------------


class ManticoreSink:
    """A `DocumentSink` over the shards: rows routed by crc32(article id) mod N, deletes by source path."""

    def __init__(self, cluster: Cluster, layout: dict[int, Node], name: str, seq: int = 0) -> None:
        self.cluster = cluster
        self.layout = layout
        self.name = name
        self.shards = len(layout)
        self.seq = seq  # the last sequence number handed out
        self._pending: dict[int, list[tuple[Any, ...]]] = {}
        self._insert = f"REPLACE INTO {{}} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"

    def _shard(self, shard: int) -> tuple[Node, str]:
        return self.layout[shard], f"{self.name}_{shard}"

    def count(self) -> int:
        total = 0
        for shard in self.layout:
            node, table = self._shard(shard)
            rows, _ = self.cluster.execute(node, f"SELECT COUNT(*) FROM {table}")
            total += int(rows[0][0]) if rows else 0
        return total

    def clear(self) -> None:
        for shard in self.layout:
            node, table = self._shard(shard)
            self.cluster.execute(node, f"TRUNCATE RTINDEX {table}")

    def delete_paths(self, paths: list[str]) -> int:
        """Delete every document any of these source files gave; how many there were."""
        if not paths:
            return 0
        wanted = set(paths)
        hashes = sorted({path_hash(p) for p in paths})
        deleted = 0
        for shard in self.layout:
            node, table = self._shard(shard)
            for start in range(0, len(hashes), _ID_BATCH):
                chunk = hashes[start : start + _ID_BATCH]
                last = 0
                while True:
                    # Page by id: a file may hold more articles than one result set.
                    rows, _ = self.cluster.execute(
                        node,
                        f"SELECT id, path FROM {table} WHERE path_hash IN ({', '.join(['%s'] * len(chunk))}) AND id > %s "
                        "ORDER BY id ASC LIMIT 0, %s OPTION max_matches=%s",
                        [*chunk, last, _ID_BATCH, _ID_BATCH],
                    )
                    ids = [int(doc) for doc, path in rows if path in wanted]
                    if ids:
                        self.cluster.execute(node, f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
                        deleted += len(ids)
                    if len(rows) < _ID_BATCH:
                        break
                    last = int(rows[-1][0])
        return deleted

    def add(self, path: str, documents: list[dict[str, Any]]) -> None:
        for doc in documents:
            self.seq += 1
            row = document_row(doc, self.seq)
            self._pending.setdefault(shard_of(str(doc.get("id", "")), self.shards), []).append(row)

    def flush(self) -> None:
        """Send the pending rows, shard by shard, in statements below the packet limit; each is in the
        node's binlog when it returns, so a killed node replays it."""
        for shard, rows in sorted(self._pending.items()):
            node, table = self._shard(shard)
            statement = self._insert.format(table)
            chunk: list[tuple[Any, ...]] = []
            size = 0
            for row in rows:
                row_size = sum(len(v.encode("utf-8", "surrogatepass")) if isinstance(v, str) else 8 for v in row) * 2 + 64
                if chunk and size + row_size > _STATEMENT_BYTES:
                    self.cluster.executemany(node, statement, chunk)
                    chunk, size = [], 0
                chunk.append(row)
                size += row_size
            if chunk:
                self.cluster.executemany(node, statement, chunk)
        self._pending.clear()


# --- the indexing entry point --------------------------------------------------------------------


def _prepare_state(state_dir: Path, spec: BackendSpec) -> None:
    """Make `state_dir` a cluster state folder (a manifest marked with the backend), or check it is one."""
    from ..storage import Manifest, check_folder_is_ours, has_index, read_meta

    if has_index(state_dir):
        meta = read_meta(state_dir) or {}
        if not meta.get(STATE_BACKEND_KEY):
            raise NotAnIndexError(
                f"{state_dir} holds a Whoosh index; give the cluster's state its own folder with --index"
            )
        return
    check_folder_is_ours(state_dir)
    if state_dir.exists() and any(p.name.startswith("_MAIN_") for p in state_dir.iterdir()):
        raise NotAnIndexError(f"{state_dir} holds Whoosh files; give the cluster's state its own folder with --index")
    state_dir.mkdir(parents=True, exist_ok=True)
    Manifest.create(state_dir)
    with Manifest(state_dir) as manifest:
        manifest.set_meta(STATE_BACKEND_KEY, spec.kind)
        manifest.set_meta(STATE_URL_KEY, str(spec))


def index_paths_cluster(
    spec: BackendSpec,
    paths: Iterable[str],
    state_dir: Path,
    options: Any = None,
    *,
    progress: Callable[..., None] | None = None,
) -> IndexReport:
    """Index the files under `paths` into the cluster; `state_dir` keeps the manifest (what came from where).

    Same contract as `indexer.index_paths`: re-runs are incremental, a file that cannot be read is
    reported, not raised; a node that cannot be reached raises BackendError before anything is written.
    """
    from ..indexer import DEFAULT_ROOT, IndexOptions
    from ..storage import IndexLock, Manifest, has_index
    from .incremental import run_incremental

    options = options or IndexOptions()
    roots = [os.path.abspath(p) for p in paths]
    if not roots and has_index(state_dir):
        with Manifest(state_dir) as manifest:
            roots = manifest.roots()
    if not roots:
        roots = [os.path.abspath(DEFAULT_ROOT)]
    if options.rebuild:
        for root in roots:
            if not os.path.exists(root):
                # Emptying the cluster without one of its folders would drop all that folder's articles.
                raise ReadError(root, "no such file or folder; the rebuild was not started and the cluster is untouched")
    _prepare_state(state_dir, spec)
    with IndexLock(state_dir, options.lock_timeout) as lock, Cluster(spec) as cluster:
        notes = []
        if lock.stale is not None:
            notes.append(f"{state_dir}: cleared a stale lock left by {lock.stale.describe()}, which is no longer running")
        layout = cluster.layout()
        with Manifest(state_dir) as manifest:
            manifest.check_version()
            _check_layout(manifest, spec, len(layout), state_dir)
            sink = ManticoreSink(cluster, layout, spec.name, int(manifest.get_meta("cluster_seq") or 0))
            recorded = sum(record.articles for record in manifest.iter_files())
            if recorded and not options.rebuild and sink.count() == 0:
                # The manifest would call every file unchanged and write nothing: say so instead.
                raise BackendError(
                    f"{state_dir} records {recorded} articles, but the cluster at {spec} holds none "
                    "(new nodes, or their data folders were emptied); run the same command with --rebuild"
                )

            def save_seq() -> None:
                manifest.set_meta("cluster_seq", str(sink.seq))

            report = run_incremental(roots, state_dir, options, sink, manifest, progress=progress, notes=notes, after_batch=save_seq)
    return report


def _check_layout(manifest: Any, spec: BackendSpec, shards: int, state_dir: Path) -> None:
    recorded = manifest.get_meta("cluster_shards")
    if recorded is not None and int(recorded) != shards:
        raise BackendError(
            f"the cluster now has {shards} shards, but {state_dir} routed its articles over {recorded}; "
            "run `searchkit index --rebuild` with the same --backend to spread them again"
        )
    if manifest.get_meta("cluster_name") not in (None, spec.name):
        raise BackendError(
            f"{state_dir} is the state of the cluster index {manifest.get_meta('cluster_name')!r}, not {spec.name!r}"
        )
    manifest.set_meta("cluster_shards", str(shards))
    manifest.set_meta("cluster_name", spec.name)
    manifest.set_meta("cluster_layout", str(LAYOUT_VERSION))
    manifest.set_meta(STATE_URL_KEY, str(spec))


__all__ = [
    "Cluster",
    "ManticoreIndex",
    "ManticoreSink",
    "Translation",
    "doc_id",
    "document_row",
    "index_paths_cluster",
    "shard_of",
    "snippet_query",
    "token",
    "translate",
]
