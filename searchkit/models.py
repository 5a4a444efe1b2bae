"""The values that flow between stages: what readers produce and what searches return.

Every stage speaks in these frozen dataclasses, never in Whoosh objects or loose dicts, so a
reader can be tested without an index and a renderer without a searcher. `to_dict()` gives the
JSON shape documented in the README.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Decoded:
    """Text decoded from a file's bytes, and how the encoding was chosen.

    `method` is one of: explicit, explicit-lossy, bom, declared, utf-16-heuristic, utf-8, chardet,
    legacy-japanese, fallback (lossy, with a warning).
    `confidence` is 1.0 for explicit/BOM/strict decodes and the detector's figure otherwise.
    """

    text: str
    encoding: str
    confidence: float
    method: str


@dataclass(frozen=True)
class ParsedDate:
    """A date read from an article: `value` is aware when the source gave a zone or offset.

    `precision` is year, month, day, minute or second; `source` says where it came from
    (e.g. "dateline", "meta:article:published_time", "json:date", "sgml:DATE"); `implausible`
    flags dates outside the range news archives hold (before 1800, after next year).
    """

    value: datetime
    precision: str
    source: str
    implausible: bool = False

    def isoformat(self) -> str:
        return self.value.isoformat()


@dataclass(frozen=True)
class Source:
    """Where a reader's text came from: what every Article it yields inherits as provenance."""

    path: str  # the file's path relative to the indexed folder, with "/" separators
    decoded: Decoded


@dataclass(frozen=True)
class Article:
    """One news story, as read from a source file.

    `id` is stable across runs: the file's path relative to the indexed folder, plus
    `#<record key>` for formats that hold several records per file (JSONL, SGML, JSON arrays).
    """

    id: str
    title: str
    body: str
    date: ParsedDate | None = None
    section: str = ""
    byline: str = ""
    dateline: str = ""
    source: str = ""
    url: str = ""
    language: str = ""
    keywords: tuple[str, ...] = ()
    # Provenance.
    path: str = ""
    record_key: str = ""
    format: str = ""
    encoding: str = ""
    encoding_method: str = ""
    encoding_confidence: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        data["date_precision"] = self.date.precision if self.date else None
        data["date_source"] = self.date.source if self.date else None
        data["keywords"] = list(self.keywords)
        return data


def article_id(path: str, record_key: str | None = None) -> str:
    """The stable id of an article: `path` alone, or `path#record_key` for multi-record files."""
    return f"{path}#{record_key}" if record_key is not None and record_key != "" else path


@dataclass(frozen=True)
class Snippet:
    """A fragment of an article with the character spans that matched the query.

    Spans are `(start, end)` offsets into `text`, end exclusive; they are data, turned into
    styles only by the renderer.
    """

    text: str
    highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "highlights": [list(span) for span in self.highlights]}


@dataclass(frozen=True)
class Hit:
    """One ranked search result."""

    id: str
    rank: int
    score: float
    title: str
    date: str | None  # ISO 8601, with its offset when the source gave one
    source: str
    section: str
    url: str
    path: str
    snippets: tuple[Snippet, ...] = ()
    title_highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rank": self.rank,
            "score": round(self.score, 4),
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "section": self.section,
            "url": self.url,
            "path": self.path,
            "snippets": [s.to_dict() for s in self.snippets],
        }


@dataclass(frozen=True)
class Results:
    """One page of results for a query."""

    query: str
    total: int
    page: int
    hits: tuple[Hit, ...]
    suggestion: str | None = None
    elapsed: float = 0.0
    notes: tuple[str, ...] = ()  # e.g. "query did not parse; searched as plain words"

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "hits": [h.to_dict() for h in self.hits],
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be read, and why (one line)."""

    path: str
    reason: str


@dataclass(frozen=True)
class IndexReport:
    """What one `index` run did."""

    index_dir: str
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    files_skipped: int = 0  # in no known format
    files_failed: int = 0
    articles_written: int = 0
    articles_deleted: int = 0
    seconds: float = 0.0
    failures: tuple[FileFailure, ...] = ()
    warnings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    wrote: bool = False

    @property
    def articles_per_second(self) -> float:
        return self.articles_written / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = [asdict(f) for f in self.failures]
        data["warnings"] = list(self.warnings)
        data["skipped"] = list(self.skipped)
        data["articles_per_second"] = round(self.articles_per_second, 1)
        data["seconds"] = round(self.seconds, 3)
        return data


__all__ = [
    "Article",
    "Decoded",
    "FileFailure",
    "Hit",
    "IndexReport",
    "ParsedDate",
    "Results",
    "Snippet",
    "Source",
    "article_id",
]
