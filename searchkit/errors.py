"""searchkit's exceptions. The library raises these; only the CLI turns them into messages and exit codes.

Each docstring says when the exception is raised. Messages name the file or query and the reason;
the CLI adds the next step to take.
"""

from __future__ import annotations


class SearchkitError(Exception):
    """Base class of every error searchkit raises on purpose."""


class ReadError(SearchkitError):
    """A source file could not be read or parsed at all (its other files are unaffected)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnknownFormatError(ReadError):
    """A file is in no format searchkit reads (a DTD, an image): it is skipped, not indexed as junk."""


class IndexNotFoundError(SearchkitError):
    """The index folder does not exist or holds no searchkit index."""


class IndexVersionError(SearchkitError):
    """The index was written with an incompatible schema version and must be rebuilt."""


class IndexCorruptError(SearchkitError):
    """The index files are damaged or truncated and cannot be opened."""


class IndexLockedError(SearchkitError):
    """Another indexer holds the index's write lock past the lock timeout."""


class IndexWriteError(SearchkitError):
    """The index folder cannot be written (disk full, read-only, no permission); the last commit is kept."""


class NotAnIndexError(SearchkitError):
    """A folder given as the index holds other files than a searchkit index, so it is not touched."""


class QuerySyntaxError(SearchkitError):
    """A query could not be parsed (the message points at the problem)."""


class ArticleNotFoundError(SearchkitError):
    """No article in the index has the requested id."""
