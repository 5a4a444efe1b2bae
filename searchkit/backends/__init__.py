"""Backends: where the articles live. Whoosh on this machine (the default), or a Manticore/Sphinx cluster.

The indexer and the searcher need little from an engine, and this module names it:

- `DocumentSink` — the writing side: add the documents one source file gave, delete everything a
  source file gave (by its path), count, clear. `backends.incremental` runs the same plan → read →
  write → manifest flow as `indexer` over any sink, so re-runs, changes and deletions behave alike.
- `SearchBackend` — the reading side: `search` (query language, filters, sort, paging → `Results`
  whose hits carry `Snippet` spans), `get` (id → `Article`), `stats`, `timeline`, `similar`, and the
  highlight helpers `show --highlight` uses. `searcher.SearchIndex` is the Whoosh one.

Which engine a command talks to is a URL: `--backend manticore://host:port[,host:port…][/name]`,
else `$SEARCHKIT_BACKEND`, else the backend recorded in the index folder (a cluster's state folder
remembers its cluster), else Whoosh. Everything else on the command line is the same.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, TypeVar, runtime_checkable
from urllib.parse import parse_qs

from ..errors import SearchkitError
from ..models import Article, IndexReport, Results

if TYPE_CHECKING:
    from ..indexer import IndexOptions
    from ..searcher import IndexStats

BACKEND_ENV = "SEARCHKIT_BACKEND"
# Manifest meta keys that mark an index folder as the local state of a cluster index.
STATE_BACKEND_KEY = "backend"
STATE_URL_KEY = "backend_url"

DEFAULT_CLUSTER_NAME = "searchkit"
DEFAULT_TIMEOUT = 30.0  # seconds the client waits for a node before calling it dead
_SCHEMES = ("manticore", "sphinx")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,40}")


class BackendError(SearchkitError):
    """A backend URL cannot be read, or the cluster it names cannot be used as it is (a node down, a
    shard missing, a layout that does not match the index folder); the message names the node."""


@dataclass(frozen=True)
class Node:
    """One searchd: SphinxQL (MySQL protocol) on `port`, the agent (binary) protocol on `api_port`."""

    host: str
    port: int
    api_port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class BackendSpec:
    """A parsed `--backend` URL. `kind` is "manticore" (Sphinx 2.2 speaks the same SphinxQL)."""

    kind: str
    nodes: tuple[Node, ...]
    name: str = DEFAULT_CLUSTER_NAME  # the distributed index; its shards are NAME_0 … NAME_{N-1}
    timeout: float = DEFAULT_TIMEOUT
    allow_partial: bool = False  # a dead node: results from the others, flagged in Results.notes
    url: str = ""

    def __str__(self) -> str:
        return self.url or f"{self.kind}://{','.join(map(str, self.nodes))}/{self.name}"


def parse_node(text: str, default_port: int = 9306) -> Node:
    """`host`, `host:port` or `host:port:api_port`; the agent port defaults to the SphinxQL port + 1."""
    text = text.strip()
    match = re.fullmatch(r"(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?(?::(\d{1,5}))?", text)
    if not match:
        raise BackendError(f"cannot read the node {text!r}; write host:port, e.g. 10.0.0.5:9306")
    host = match.group(1).strip("[]")
    port = int(match.group(2) or default_port)
    api_port = int(match.group(3) or port + 1)
    for value in (port, api_port):
        if not 0 < value < 65536:
            raise BackendError(f"node {text!r}: port {value} is out of range")
    return Node(host, port, api_port)


def parse_backend(url: str | None) -> BackendSpec | None:
    """The backend a URL names: None for Whoosh (`None`, "", "whoosh"), else a `BackendSpec`.

    `manticore://host:port[,host:port…][/name][?timeout=SECONDS&partial=1]`; with `url=None`,
    `$SEARCHKIT_BACKEND` is read instead. `partial=1` returns the live nodes' hits, flagged, when a
    node is down; by default that is an error.
    """
    if url is None:
        url = os.environ.get(BACKEND_ENV)
    if url is None or url.strip().lower() in ("", "whoosh", "whoosh://"):
        return None
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _SCHEMES:
        raise BackendError(f"unknown backend {url!r}; use whoosh, or manticore://host:port[,host:port…]")
    rest, _, query = rest.partition("?")
    hosts, _, name = rest.partition("/")
    name = name.strip("/") or DEFAULT_CLUSTER_NAME
    if not _NAME.fullmatch(name):
        raise BackendError(f"backend {url!r}: {name!r} is not an index name (letters, digits, _)")
    nodes = tuple(parse_node(part) for part in hosts.split(",") if part.strip())
    if not nodes:
        raise BackendError(f"backend {url!r} names no node; e.g. manticore://127.0.0.1:9306")
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    unknown = set(params) - {"timeout", "partial"}
    if unknown:
        raise BackendError(f"backend {url!r}: unknown option {sorted(unknown)[0]!r} (timeout, partial)")
    try:
        timeout = float(params.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise BackendError(f"backend {url!r}: timeout must be a number of seconds") from None
    if timeout <= 0:
        raise BackendError(f"backend {url!r}: timeout must be above 0")
    partial = params.get("partial", "0").lower() in ("1", "true", "yes", "ok")
    return BackendSpec("manticore", nodes, name, timeout, partial, url)


def recorded_backend(index_dir: Path) -> str | None:
    """The backend URL an index folder was made for (a cluster's state folder), or None (Whoosh)."""
    from ..storage import read_meta

    meta = read_meta(index_dir) or {}
    return meta.get(STATE_URL_KEY) if meta.get(STATE_BACKEND_KEY) else None


def resolve_backend(explicit: str | None, index_dir: Path | None) -> BackendSpec | None:
    """`--backend`, else `$SEARCHKIT_BACKEND`, else what the index folder records, else Whoosh (None)."""
    spec = parse_backend(explicit) if explicit else parse_backend(None)
    if spec is None and not explicit and index_dir is not None:
        spec = parse_backend(recorded_backend(index_dir) or "")
    return spec


# --- the contract ------------------------------------------------------------------------------

_Backend = TypeVar("_Backend", bound="SearchBackend")


@runtime_checkable
class SearchBackend(Protocol):
    """What the query side of searchkit asks of an engine (`searcher.SearchIndex` is the Whoosh one)."""

    def __enter__(self: _Backend) -> _Backend: ...

    def __exit__(self, *exc: object) -> None: ...

    def close(self) -> None: ...

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
    ) -> Results: ...

    def get(self, id: str) -> Article: ...

    def highlight(self, text: str, query: str) -> tuple[tuple[int, int], ...]: ...

    def title_highlight(self, text: str, query: str) -> tuple[tuple[int, int], ...]: ...

    def similar(self, id: str, *, limit: int = 10, page: int = 1, fragments: int = 3, numterms: int = 15) -> Results: ...

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
    ) -> list[tuple[str, int]]: ...

    def stats(self) -> "IndexStats": ...


class DocumentSink(Protocol):
    """What the incremental indexer asks of an engine: documents in, by source file; deletes by source file.

    Documents are the dicts `indexer.read_file` makes (`schema.to_document`); `path` is the source
    file's key, as the manifest records it. Writes are durable when `flush` returns: the manifest
    is written after it, so it may lag the engine but never run ahead of it.
    """

    def count(self) -> int: ...

    def clear(self) -> None: ...

    def delete_paths(self, paths: list[str]) -> int: ...

    def add(self, path: str, documents: list[dict[str, Any]]) -> None: ...

    def flush(self) -> None: ...


# --- dispatch ----------------------------------------------------------------------------------


def open_search(spec: BackendSpec | None, index_dir: str | os.PathLike[str] | None = None) -> SearchBackend:
    """An open backend for queries: Whoosh's `SearchIndex` for `spec=None`, else the cluster's."""
    if spec is None:
        from ..searcher import open_index

        return open_index(Path(index_dir) if index_dir is not None else None)
    from .manticore import ManticoreIndex

    return ManticoreIndex(spec)


def index_into(
    spec: BackendSpec | None,
    paths: Iterable[str],
    index_dir: str | os.PathLike[str],
    options: "IndexOptions | None" = None,
    *,
    progress: Callable[..., None] | None = None,
) -> IndexReport:
    """`indexer.index_paths` for any backend; for a cluster, `index_dir` holds the manifest (its state)."""
    if spec is None:
        from ..indexer import index_paths

        return index_paths(paths, index_dir, options, progress=progress)
    from .manticore import index_paths_cluster

    return index_paths_cluster(spec, paths, Path(index_dir), options, progress=progress)


__all__ = [
    "BACKEND_ENV",
    "BackendError",
    "BackendSpec",
    "DocumentSink",
    "Node",
    "SearchBackend",
    "index_into",
    "open_search",
    "parse_backend",
    "parse_node",
    "recorded_backend",
    "resolve_backend",
]
