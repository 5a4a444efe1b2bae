"""The one Whoosh schema, its version stamp, and Article → Whoosh document.

Full-text fields share the single analyzer of `analysis`; the title is boosted so that a query word
in the headline counts for more than the same word deep in the body (BM25F). `date` is the
indexed, sortable instant in UTC; `date_iso` keeps the date exactly as the source gave it, with its
offset, for display and JSON. `path` is the absolute path of the source file: the incremental
indexer deletes a file's articles by it.

`to_document` analyses the full-text fields in one pass each (`analysis.term_positions`, no Token
per word) into `PreAnalyzed` values, with the text itself under Whoosh's `_stored_<field>` key;
the indexer's worker processes turn those into postings (`segment_writer.invert_documents`).
`NewsText.index` does the same for any writer, and given plain text it analyses it first. Either
way the postings are byte for byte what Whoosh's own `TEXT` field would write.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Positions

from .analysis import news_analyzer, term_positions
from .dates import index_value
from .models import Article
from .postings_format import CompactPositions, encode_positions

# Bump when a change to fields or analysis makes old indexes unreadable or wrong; an index with
# another version is refused with a message to rebuild.
# 2: full-text fields are `NewsText` and documents carry `PreAnalyzed` values, which a version-1
#    index (plain TEXT fields in its table of contents) would misread.
# 3: segments are written with `stored_codec.BlockStoredCodec` (stored fields compressed in blocks).
# 4: posting blocks keep document numbers apart from positions (`postings_format`), which a
#    version-3 searchkit cannot read.
# 5: positions as integers (`postings_format.CompactPositions`), block infos as structs, and one
#    `date` term a document instead of eight.
# 6: a posting block's head (document number deltas, weights) as arrays instead of a pickle.
SCHEMA_VERSION = 6

TITLE_BOOST = 2.0

# Fields a query may name as `field:value`.
QUERYABLE_FIELDS = ("title", "body", "section", "source", "byline", "keywords", "lang", "url", "date")


# Full-text fields, analysed ahead in `to_document`.
TEXT_FIELDS = ("title", "body", "section", "source", "byline")


class PreAnalyzed(tuple):  # type: ignore[type-arg]
    """A field value analysed ahead of the writer: (terms as UTF-8, frequencies, encoded positions).

    A tuple: compact, and quick to walk for `segment_writer.invert_documents`.
    """

    __slots__ = ()


def pre_analyze(text: str) -> PreAnalyzed | str:
    """The postings of `text` for a `NewsText` field, or the text itself when they cannot be made
    here (a lone surrogate: the indexer replaces those before the writer sees the text)."""
    positions = term_positions(text)
    try:
        terms = tuple(map(str.encode, positions))  # UTF-8
    except UnicodeEncodeError:
        return text
    found = positions.values()
    return PreAnalyzed((terms, tuple(map(len, found)), tuple(map(encode_positions, found))))


class NewsText(TEXT):  # type: ignore[misc]
    """Whoosh's TEXT field (positions, BM25-scorable), fed by `analysis.term_positions`, its
    positions encoded by `postings_format.CompactPositions`.

    `index` yields what `TEXT.index` would, (term bytes, frequency, weight, encoded positions), for
    a `PreAnalyzed` value or for plain text, without a Token object per word.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if type(self.format) is Positions:
            self.format = CompactPositions(field_boost=self.format.field_boost)

    def index(self, value: Any, **kwargs: Any) -> Iterable[tuple[bytes, int, float, bytes]]:
        if kwargs or type(self.format) is not CompactPositions:
            return super().index(value, **kwargs)  # type: ignore[no-any-return]
        if isinstance(value, str):
            analysed = pre_analyze(value)
            if isinstance(analysed, str):
                return super().index(value)  # type: ignore[no-any-return]
            value = analysed
        if isinstance(value, PreAnalyzed):
            terms, freqs, encoded = value
            boost = float(self.format.field_boost)
            return zip(terms, freqs, [boost * f for f in freqs], encoded)
        return super().index(value)  # type: ignore[no-any-return]


def _news_date() -> DATETIME:
    """The article's instant, as a sortable column (which date queries and sorts read) and terms.

    Whoosh indexes a DATETIME as eight terms a document (its value at eight precisions, for range
    queries to expand into few terms); searchkit answers ranges from the column, so the terms are
    only Whoosh's own fallback, and one term a document (shift_step 0) is enough for it: on Reuters
    the seven others were half the terms of the index.
    """
    field = DATETIME(sortable=True)
    field.shift_step = 0
    return field


def build_schema() -> Schema:
    analyzer = news_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=NewsText(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST, multitoken_query="phrase", spelling=False),
        body=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        date=_news_date(),
        date_iso=STORED(),
        date_info=STORED(),  # (precision, source, implausible)
        section=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        source=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        byline=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        dateline=STORED(),
        url=ID(stored=True),
        lang=ID(stored=True),
        keywords=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        provenance=STORED(),  # (format, record_key, encoding, encoding_method, encoding_confidence)
    )


def to_document(article: Article, file_path: str) -> dict[str, Any]:
    """The Whoosh document for an article read from `file_path` (absolute)."""
    doc: dict[str, Any] = {
        "id": article.id,
        "path": file_path,
        "title": article.title,
        "body": article.body,
        "section": article.section,
        "source": article.source,
        "byline": article.byline,
        "dateline": article.dateline,
        "url": article.url,
        "lang": article.language,
        "keywords": ",".join(k.replace(",", " ") for k in article.keywords),
        "provenance": (
            article.format,
            article.record_key,
            article.encoding,
            article.encoding_method,
            article.encoding_confidence,
        ),
    }
    for name in TEXT_FIELDS:
        text = doc[name]
        if text and isinstance(text, str):
            analysed = pre_analyze(text)
            if analysed is not text:
                doc["_stored_" + name] = text
                doc[name] = analysed
    if article.date is not None:
        doc["date"] = index_value(article.date)
        doc["date_iso"] = article.date.isoformat()
        doc["date_info"] = (article.date.precision, article.date.source, article.date.implausible)
    return doc
