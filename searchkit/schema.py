"""The one Whoosh schema, its version stamp, and Article → Whoosh document.

Full-text fields share the single analyzer of `analysis`; the title is boosted so that a query word
in the headline counts for more than the same word deep in the body (BM25F). `date` is the
indexed, sortable instant in UTC; `date_iso` keeps the date exactly as the source gave it, with its
offset, for display and JSON. `path` is the absolute path of the source file: the incremental
indexer deletes a file's articles by it.
"""

from __future__ import annotations

from typing import Any

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import news_analyzer
from .dates import index_value
from .models import Article

# Bump when a change to fields or analysis makes old indexes unreadable or wrong; an index with
# another version is refused with a message to rebuild.
SCHEMA_VERSION = 1

TITLE_BOOST = 2.0

# Fields a query may name as `field:value`.
QUERYABLE_FIELDS = ("title", "body", "section", "source", "byline", "keywords", "lang", "url", "date")


def build_schema() -> Schema:
    analyzer = news_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST, multitoken_query="phrase", spelling=False),
        body=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        date=DATETIME(sortable=True),
        date_iso=STORED(),
        date_info=STORED(),  # (precision, source, implausible)
        section=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        source=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        byline=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
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
    if article.date is not None:
        doc["date"] = index_value(article.date)
        doc["date_iso"] = article.date.isoformat()
        doc["date_info"] = (article.date.precision, article.date.source, article.date.implausible)
    return doc
