"""The index folder: the Whoosh index plus `searchkit.db`, the manifest of what was indexed from where.

The manifest is a small SQLite database beside the Whoosh files. It records the schema version
(an index of another version is refused), the folders that were indexed (so a bare
`searchkit index` re-indexes them), and for each source file its size, mtime, content hash and
how many articles it gave. It is always written *after* the Whoosh commit it describes, so it can
lag behind the index but never run ahead of it: after a crash, files the manifest does not know
are simply indexed again, and because a file's articles are deleted by path before they are
added, that is idempotent.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import IndexCorruptError, IndexNotFoundError, IndexVersionError, NotAnIndexError
from .schema import SCHEMA_VERSION

MANIFEST_NAME = "searchkit.db"
WHOOSH_INDEX_NAME = "MAIN"
# What may sit in an index folder besides Whoosh's own files (which start with MAIN_ or _MAIN_).
_OWN_FILES = {MANIFEST_NAME, MANIFEST_NAME + "-journal", MANIFEST_NAME + "-wal", MANIFEST_NAME + "-shm", ".gitignore", "README.md"}


@dataclass(frozen=True)
class FileRecord:
    """What the manifest knows of one indexed source file."""

    path: str  # absolute
    root: str  # the indexed folder it was found under
    size: int
    mtime_ns: int
    sha256: str
    articles: int
    status: str  # "ok", "failed", "skipped"


def resolve_index_dir(explicit: str | os.PathLike[str] | None) -> Path:
    """`--index`, else `$SEARCHKIT_INDEX`, else `./index`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SEARCHKIT_INDEX")
    return Path(env) if env else Path("index")


def is_own_file(name: str) -> bool:
    return name in _OWN_FILES or name.startswith((WHOOSH_INDEX_NAME + "_", "_" + WHOOSH_INDEX_NAME + "_"))


def has_index(index_dir: Path) -> bool:
    return (index_dir / MANIFEST_NAME).is_file()


def check_folder_is_ours(index_dir: Path) -> None:
    """Refuse to write an index into a folder that holds files of someone else's."""
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise NotAnIndexError(f"{index_dir} is a file, not an index folder")
    strangers = [p.name for p in index_dir.iterdir() if not is_own_file(p.name)]
    if strangers:
        shown = ", ".join(sorted(strangers)[:3])
        raise NotAnIndexError(
            f"{index_dir} holds files that are not part of a searchkit index ({shown}); "
            "choose an empty or new folder with --index"
        )


class Manifest:
    """The manifest database of one index folder. Use as a context manager."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.path = index_dir / MANIFEST_NAME
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY);
                CREATE TABLE IF NOT EXISTS files (
                    path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL,
                    mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL, articles INTEGER NOT NULL,
                    status TEXT NOT NULL
                );
                """
            )
        except sqlite3.DatabaseError as error:
            raise IndexCorruptError(f"{self.path}: the manifest cannot be read ({error})") from error

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # meta
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def stamp(self) -> None:
        self.set_meta("app", "searchkit")
        self.set_meta("schema_version", str(SCHEMA_VERSION))

    def check_version(self) -> None:
        found = self.get_meta("schema_version")
        if found is None or int(found) != SCHEMA_VERSION:
            raise IndexVersionError(
                f"the index in {self.index_dir} was written by schema version {found or 'unknown'}; "
                f"this searchkit reads version {SCHEMA_VERSION}"
            )

    # roots
    def roots(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT path FROM roots ORDER BY path")]

    def add_roots(self, roots: list[str]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO roots (path) VALUES (?)", [(r,) for r in roots])

    # files
    def files(self) -> dict[str, FileRecord]:
        rows = self._db.execute("SELECT path, root, size, mtime_ns, sha256, articles, status FROM files")
        return {row[0]: FileRecord(*row) for row in rows}

    def iter_files(self) -> Iterator[FileRecord]:
        for row in self._db.execute("SELECT path, root, size, mtime_ns, sha256, articles, status FROM files"):
            yield FileRecord(*row)

    def record(self, records: list[FileRecord], deleted: list[str]) -> None:
        """Record one committed batch: files written and files removed, in one transaction."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO files (path, root, size, mtime_ns, sha256, articles, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.path, r.root, r.size, r.mtime_ns, r.sha256, r.articles, r.status) for r in records],
            )
            self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in deleted])


def open_whoosh(index_dir: Path):  # type: ignore[no-untyped-def]
    """The Whoosh index of a searchkit index folder, after checking it is one and of our version."""
    from whoosh import index as whoosh_index

    if not has_index(index_dir):
        raise IndexNotFoundError(f"no searchkit index in {index_dir}")
    with Manifest(index_dir) as manifest:
        manifest.check_version()
    try:
        return whoosh_index.open_dir(str(index_dir), indexname=WHOOSH_INDEX_NAME)
    except whoosh_index.EmptyIndexError as error:
        raise IndexNotFoundError(f"no searchkit index in {index_dir}") from error
    except Exception as error:  # Whoosh raises many kinds of error on damaged files
        raise IndexCorruptError(f"the index in {index_dir} cannot be opened ({error.__class__.__name__}: {error})") from error
