"""searchkit: full-text search for news archives.

The public API, for scripts:

    from searchkit import index_paths, open_index

    index_paths(["sample_docs"], Path("index"))          # build or update an index
    with open_index("index") as ix:                       # then ask it many questions
        results = ix.search("joint headquarters", since="2025", limit=5)
        for hit in results.hits:
            print(hit.rank, hit.title, hit.date)
        article = ix.get(results.hits[0].id)

Everything here is imported lazily (module `__getattr__`), so `import searchkit` stays cheap and
the command line starts fast; Whoosh is loaded only when an index is opened.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from . import lean_imports  # noqa: E402

lean_imports.install()  # before anything imports Whoosh: see the module

# name → module that defines it
_EXPORTS: dict[str, str] = {
    "open_index": ".searcher",
    "SearchIndex": ".searcher",
    "IndexStats": ".searcher",
    "index_paths": ".indexer",
    "IndexOptions": ".indexer",
    "check_index": ".doctor",
    "repair_index": ".doctor",
    "IndexHealth": ".doctor",
    "Article": ".models",
    "Hit": ".models",
    "IndexReport": ".models",
    "ParsedDate": ".models",
    "Results": ".models",
    "Snippet": ".models",
    "SearchkitError": ".errors",
    "ArticleNotFoundError": ".errors",
    "IndexCorruptError": ".errors",
    "IndexLockedError": ".errors",
    "IndexNotFoundError": ".errors",
    "IndexVersionError": ".errors",
    "IndexWriteError": ".errors",
    "NotAnIndexError": ".errors",
    "QuerySyntaxError": ".errors",
    "ReadError": ".errors",
    "UnknownFormatError": ".errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time `__getattr__` does the work
    from .errors import (
        ArticleNotFoundError,
        IndexCorruptError,
        IndexLockedError,
        IndexNotFoundError,
        IndexVersionError,
        IndexWriteError,
        NotAnIndexError,
        QuerySyntaxError,
        ReadError,
        SearchkitError,
        UnknownFormatError,
    )
    from .doctor import IndexHealth, check_index, repair_index
    from .indexer import IndexOptions, index_paths
    from .models import Article, Hit, IndexReport, ParsedDate, Results, Snippet
    from .searcher import IndexStats, SearchIndex, open_index


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'searchkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
