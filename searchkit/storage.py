"""The index folder: the Whoosh index plus `searchkit.db`, the manifest of what was indexed from where.

The manifest is a small SQLite database beside the Whoosh files. It records the schema version
(an index of another version is refused), the folders that were indexed (so a bare
`searchkit index` re-indexes them), and for each source file its size, mtime, content hash and
how many articles it gave. It is always written *after* the Whoosh commit it describes, so it can
lag behind the index but never run ahead of it: after a crash, files the manifest does not know
are simply indexed again, and because a file's articles are deleted by path before they are
added, that is idempotent. Its `app` key is the marker that says "this folder is a searchkit
index": nothing is ever deleted from a folder without it.

One indexer at a time: `IndexLock` holds an fcntl lock on Whoosh's own `MAIN_WRITELOCK` file for
the whole run (Whoosh's writers are then opened without taking it again, so no other process can
slip in between two batches), and writes `searchkit.lock` beside it, naming the holder's pid and
start time so that a waiting indexer can say who holds the index. The kernel drops the fcntl lock
when its process dies, even by `kill -9`; a `searchkit.lock` found while the fcntl lock is free
was left by a dead process and is cleared.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from .errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, IndexVersionError, IndexWriteError, NotAnIndexError


def _hostname() -> str:
    # Imported here: only locks need it, and `socket` is a few ms of every query's start-up.
    import socket

    return socket.gethostname()


MANIFEST_NAME = "searchkit.db"
LOCK_NAME = "searchkit.lock"
WHOOSH_INDEX_NAME = "MAIN"
WHOOSH_LOCK_NAME = WHOOSH_INDEX_NAME + "_WRITELOCK"
# Whoosh's writer keeps its posting pool in this sub-folder; a killed writer leaves it behind.
WHOOSH_TEMP_DIR = WHOOSH_INDEX_NAME + ".tmp"
# Segments written by the indexer's reader processes are named `STAGED-<pid>_<id>.<ext>` until the
# writing process renames them into the index (`MAIN_<id>.<ext>`) as it lists them in a commit.
# Whoosh deletes files named like its own segments but listed nowhere, which a segment still being
# written would be.
STAGING_PREFIX = "STAGED-"
# What may sit in an index folder besides Whoosh's own files (which start with MAIN_ or _MAIN_).
_OWN_FILES = {
    MANIFEST_NAME, MANIFEST_NAME + "-journal", MANIFEST_NAME + "-wal", MANIFEST_NAME + "-shm",
    LOCK_NAME, ".gitignore", "README.md",
}  # fmt: skip
# Kept across a rebuild: the repository's own index/ folder carries them.
KEEP_ACROSS_REBUILD = (".gitignore", "README.md")

# Tries to open an index whose files a writer keeps replacing (each commit removes the older ones).
_OPEN_ATTEMPTS = 20

# errno values that mean "this folder cannot be written", as opposed to a bug or a damaged file.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO, errno.EFBIG}


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


def _is_temp_file(name: str) -> bool:
    # `searchkit.db.<pid>.tmp` and, when a writer was killed mid-transaction, its `-journal`.
    return name.startswith((LOCK_NAME + ".", MANIFEST_NAME + ".")) and name.endswith(
        (".tmp", ".tmp-journal", ".tmp-wal", ".tmp-shm")
    )


def is_own_file(name: str) -> bool:
    """Whether a name in an index folder is one searchkit or Whoosh writes there."""
    if name in _OWN_FILES or name == WHOOSH_TEMP_DIR:
        return True
    if _is_temp_file(name):
        return True  # searchkit.lock or a new manifest being written (with SQLite's journal)
    return name.startswith((WHOOSH_INDEX_NAME + "_", "_" + WHOOSH_INDEX_NAME + "_", STAGING_PREFIX))


def _is_own_entry(entry: Path) -> bool:
    # Only Whoosh's pool folder may be a folder: a folder named like an index file is someone else's.
    if entry.is_dir() and not entry.is_symlink():
        return entry.name == WHOOSH_TEMP_DIR
    return is_own_file(entry.name)


def strangers_in(index_dir: Path) -> list[str]:
    """Names in `index_dir` that neither searchkit nor Whoosh put there."""
    return sorted(p.name for p in index_dir.iterdir() if not _is_own_entry(p))


def has_index(index_dir: Path) -> bool:
    return (index_dir / MANIFEST_NAME).is_file()


def check_folder_is_ours(index_dir: Path) -> None:
    """Refuse to write an index into a folder that holds files of someone else's."""
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise NotAnIndexError(f"{index_dir} is a file, not an index folder")
    strangers = strangers_in(index_dir)
    if strangers:
        shown = ", ".join(strangers[:3])
        raise NotAnIndexError(
            f"{index_dir} holds files that are not part of a searchkit index ({shown}); "
            "choose an empty or new folder with --index"
        )


def check_replaceable(index_dir: Path) -> None:
    """Refuse a rebuild that would delete anything but a searchkit index.

    The folder may be missing, empty, or hold only our files; Whoosh segments without the
    manifest's marker are a Whoosh index someone else made, and are left alone.
    """
    check_folder_is_ours(index_dir)
    if not index_dir.exists():
        return
    # A Whoosh index has a table of contents whether its segments are compound `.seg` files or not.
    segments = [p.name for p in index_dir.iterdir() if p.name.startswith("_" + WHOOSH_INDEX_NAME + "_") and p.name.endswith(".toc")]
    meta = read_meta(index_dir)
    # A manifest that exists but cannot be read is still ours by name (and a rebuild is how it is
    # repaired); one that reads but lacks the marker, or none at all, is not.
    if segments and (not has_index(index_dir) or (meta is not None and meta.get("app") != "searchkit")):
        raise NotAnIndexError(
            f"{index_dir} holds a Whoosh index without searchkit's manifest ({MANIFEST_NAME}); refusing to replace it"
        )


def read_meta(index_dir: Path) -> dict[str, str] | None:
    """The manifest's meta table, read without writing anything (None if there is no manifest or it is unreadable)."""
    path = index_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    # Read-only first (a query must not write); but a manifest killed mid-transaction has a hot
    # journal that only a writable connection can roll back, so try that before giving up.
    for target, uri in ((path.absolute().as_uri() + "?mode=ro", True), (str(path), False)):
        try:
            db = sqlite3.connect(target, uri=uri, timeout=30)
            try:
                return dict(db.execute("SELECT key, value FROM meta").fetchall())
            finally:
                db.close()
        except sqlite3.Error:
            continue
    return None


def write_error(index_dir: Path, error: BaseException) -> IndexWriteError | None:
    """The IndexWriteError for an OS or SQLite error that means the folder cannot be written, else None."""
    if isinstance(error, OSError) and error.errno in _WRITE_ERRNOS:
        return IndexWriteError(f"{index_dir}: cannot write to the index ({error.strerror or error})")
    if isinstance(error, sqlite3.OperationalError):
        text = str(error)
        if "full" in text or "readonly" in text or "read-only" in text or "disk I/O" in text:
            return IndexWriteError(f"{index_dir}: cannot write to the manifest ({text})")
    return None


class Manifest:
    """The manifest database of one index folder. Use as a context manager."""

    def __init__(self, index_dir: Path, *, _path: Path | None = None) -> None:
        self.index_dir = index_dir
        self.path = _path or index_dir / MANIFEST_NAME
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
            raise write_error(index_dir, error) or IndexCorruptError(
                f"{self.path}: the manifest cannot be read ({error})"
            ) from error

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: Any = ()) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.OperationalError as error:
            raise write_error(self.index_dir, error) or error

    # meta
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self._write("DELETE FROM meta WHERE key = ?", (key,))

    def stamp(self) -> None:
        from .schema import SCHEMA_VERSION

        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("app", "searchkit"), ("schema_version", str(SCHEMA_VERSION))],
                )
        except sqlite3.OperationalError as error:
            raise write_error(self.index_dir, error) or error

    @classmethod
    def create(cls, index_dir: Path) -> None:
        """Put a new, stamped manifest in place in one step: a reader never sees one half made."""
        temp = index_dir / f"{MANIFEST_NAME}.{os.getpid()}.tmp"
        temp.unlink(missing_ok=True)
        manifest = cls(index_dir, _path=temp)
        try:
            manifest.stamp()
        finally:
            manifest.close()
        try:
            os.replace(temp, index_dir / MANIFEST_NAME)
        except OSError as error:
            raise write_error(index_dir, error) or error

    def check_version(self) -> None:
        check_version(self.index_dir, self.get_meta("schema_version"))

    # An indexing run that has begun writing and not finished: set before its first commit,
    # cleared after its last. While set, the manifest may lag behind the index (see above).
    def begin_run(self) -> None:
        self.set_meta("run_in_progress", json.dumps({"pid": os.getpid(), "started": _now_iso()}))

    def end_run(self) -> None:
        self.delete_meta("run_in_progress")

    def run_in_progress(self) -> dict[str, Any] | None:
        value = self.get_meta("run_in_progress")
        return json.loads(value) if value else None

    # roots: kept as they are (a root whose name is not UTF-8 as its raw bytes), since a bare
    # `searchkit index` walks them again.
    def roots(self) -> list[str]:
        rows = self._db.execute("SELECT path FROM roots ORDER BY path")
        return [os.fsdecode(r[0]) if isinstance(r[0], bytes) else r[0] for r in rows]

    def add_roots(self, roots: list[str]) -> None:
        def stored(root: str) -> str | bytes:
            try:
                root.encode("utf-8")
                return root
            except UnicodeEncodeError:
                return os.fsencode(root)

        try:
            self._db.executemany("INSERT OR IGNORE INTO roots (path) VALUES (?)", [(stored(r),) for r in roots])
        except sqlite3.OperationalError as error:
            raise write_error(self.index_dir, error) or error

    # files
    def files(self) -> dict[str, FileRecord]:
        rows = self._db.execute("SELECT path, root, size, mtime_ns, sha256, articles, status FROM files")
        return {row[0]: FileRecord(*row) for row in rows}

    def iter_files(self) -> Iterator[FileRecord]:
        for row in self._db.execute("SELECT path, root, size, mtime_ns, sha256, articles, status FROM files"):
            yield FileRecord(*row)

    def record(self, records: list[FileRecord], deleted: list[str]) -> None:
        """Record one committed batch: files written and files removed, in one transaction."""
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO files (path, root, size, mtime_ns, sha256, articles, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(r.path, r.root, r.size, r.mtime_ns, r.sha256, r.articles, r.status) for r in records],
                )
                self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in deleted])
        except sqlite3.OperationalError as error:
            raise write_error(self.index_dir, error) or error


def check_version(index_dir: Path, found: str | None) -> None:
    # The schema module brings Whoosh and the analyzer with it: imported only when a version is
    # checked, so that resolving a folder or reading the manifest stays cheap.
    from .schema import SCHEMA_VERSION

    if found is None or not found.isdigit() or int(found) != SCHEMA_VERSION:
        raise IndexVersionError(
            f"the index in {index_dir} was written by schema version {found or 'unknown'}; "
            f"this searchkit reads version {SCHEMA_VERSION}"
        )


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


# --- the writer lock ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) an index's writer lock, as its `searchkit.lock` says."""

    pid: int
    started: str
    host: str

    def alive(self) -> bool:
        """Whether the process still runs (a holder on another host is assumed to)."""
        if self.host != _hostname():
            return True
        return pid_alive(self.pid)

    def describe(self) -> str:
        where = "" if self.host == _hostname() else f" on {self.host}"
        return f"pid {self.pid}{where}, started {self.started}"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return False
    return True


def read_lock_holder(index_dir: Path) -> LockHolder | None:
    """What `searchkit.lock` says, or None when there is none or it is unreadable (half written)."""
    try:
        data = json.loads((index_dir / LOCK_NAME).read_text(encoding="utf-8"))
        return LockHolder(int(data["pid"]), str(data.get("started", "?")), str(data.get("host", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class IndexLock:
    """The writer lock of one index folder, held for a whole indexing run. Use as a context manager.

    Waits up to `timeout` seconds for another holder, then raises `IndexLockedError` naming it.
    `stale` is set when a `searchkit.lock` left by a dead process was found and cleared.
    """

    def __init__(self, index_dir: Path, timeout: float = 10.0, delay: float = 0.1) -> None:
        self.index_dir = index_dir
        self.timeout = timeout
        self.delay = delay
        self.stale: LockHolder | None = None
        self._lock: Any = None

    def __enter__(self) -> "IndexLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        from whoosh.util.filelock import FileLock

        path = self.index_dir / WHOOSH_LOCK_NAME
        deadline = time.monotonic() + max(self.timeout, 0.0)
        while True:
            lock = FileLock(str(path))
            try:
                got = lock.acquire(blocking=False)
            except OSError as error:
                raise write_error(self.index_dir, error) or IndexWriteError(
                    f"{self.index_dir}: cannot create the lock file ({error.strerror or error})"
                ) from error
            if got and not self._same_file(lock, path):
                # A rebuild swapped the folder while we waited: what we locked is the old one.
                lock.release()
                continue
            if got:
                break
            if time.monotonic() >= deadline:
                raise IndexLockedError(self._locked_message())
            time.sleep(self.delay)
        self._lock = lock
        previous = read_lock_holder(self.index_dir)
        if previous is not None and previous.pid != os.getpid():
            # We hold the kernel lock, so whoever wrote this is not writing any more.
            self.stale = previous
        try:
            self._write_holder()
        except OSError as error:
            self.release()
            raise write_error(self.index_dir, error) or error

    @staticmethod
    def _same_file(lock: Any, path: Path) -> bool:
        fd = getattr(lock, "fd", None)
        if fd is None:
            return True  # a platform lock without a descriptor: nothing to compare
        try:
            return os.fstat(fd).st_ino == os.stat(path).st_ino
        except OSError:
            return False

    def _write_holder(self) -> None:
        # Written to a temporary name and renamed, so a reader sees the whole record or none.
        record = {"pid": os.getpid(), "started": _now_iso(), "host": _hostname()}
        temp = self.index_dir / f"{LOCK_NAME}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        os.replace(temp, self.index_dir / LOCK_NAME)

    def _locked_message(self) -> str:
        holder = read_lock_holder(self.index_dir)
        waited = f"waited {self.timeout:g}s"
        if holder is not None and holder.alive():
            return f"another indexer ({holder.describe()}) holds the index in {self.index_dir}; {waited}"
        return f"another process holds the write lock of the index in {self.index_dir}; {waited}"

    def release(self) -> None:
        if self._lock is None:
            return
        try:
            holder = read_lock_holder(self.index_dir)
            if holder is not None and holder.pid == os.getpid():
                (self.index_dir / LOCK_NAME).unlink()
        except OSError:
            pass  # a read-only folder: the next holder sees a dead pid and clears it
        finally:
            try:
                self._lock.release()
            except Exception:
                pass
            self._lock = None


def lock_is_held(index_dir: Path) -> LockHolder | bool:
    """Whether another process holds the index's writer lock now: its holder, True if unnamed, False if free."""
    from whoosh.util.filelock import FileLock

    path = index_dir / WHOOSH_LOCK_NAME
    if not path.exists():
        return False
    lock = FileLock(str(path))
    try:
        if lock.acquire(blocking=False):
            lock.release()
            return False
    except OSError:
        return False  # a read-only folder: nobody can be writing to it
    return read_lock_holder(index_dir) or True


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove what a killed writer leaves behind; call only while holding the lock. Returns the names removed."""
    removed = []
    for entry in index_dir.iterdir():
        name = entry.name
        try:
            if name == WHOOSH_TEMP_DIR and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif name.startswith("_" + WHOOSH_INDEX_NAME + "_") and ".toc." in name:
                entry.unlink()  # a table of contents written but never renamed into place
            elif _is_temp_file(name) or (name.startswith(STAGING_PREFIX) and not entry.is_dir()):
                entry.unlink()  # a staged segment (see STAGING_PREFIX) whose run was killed
            else:
                continue
        except OSError:
            continue
        removed.append(name)
    return removed


def remove_index_folder(index_dir: Path) -> list[str]:
    """Delete an index folder's own files and then the folder; return the names of anything else, left in place."""
    left: list[str] = []
    for entry in index_dir.iterdir():
        if not _is_own_entry(entry):
            left.append(entry.name)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            try:
                entry.unlink()
            except OSError:
                left.append(entry.name)
    if not left:
        try:
            index_dir.rmdir()
        except OSError:
            left.append(".")
    return left


# --- opening -------------------------------------------------------------------------------------


_RETRYING_INDEX: Any = None


def _retrying_index_class() -> Any:
    """Whoosh's FileIndex, made safe to use while another process commits.

    Whoosh re-reads the table of contents on every `ix.schema`, `ix.doc_count()` and the like, by
    listing the folder for the newest `_MAIN_<n>.toc` and then opening it; a writer's commit in
    between deletes that file, and the read fails with FileNotFoundError. Listing again finds the
    new one.
    """
    global _RETRYING_INDEX
    if _RETRYING_INDEX is None:
        from whoosh.index import FileIndex

        class RetryingFileIndex(FileIndex):  # type: ignore[misc]
            def __init__(self, storage, schema=None, indexname=WHOOSH_INDEX_NAME):  # type: ignore[no-untyped-def]
                # FileIndex reads the table of contents once when it is made, without the retry below.
                self.storage, self.indexname = storage, indexname
                for attempt in range(_OPEN_ATTEMPTS):
                    generation = self.latest_generation()
                    try:
                        super().__init__(storage, schema=schema, indexname=indexname)
                        return
                    except FileNotFoundError:
                        if attempt == _OPEN_ATTEMPTS - 1 or self.latest_generation() == generation:
                            raise
                        time.sleep(0.01)

            def _read_toc(self):  # type: ignore[no-untyped-def]
                for attempt in range(_OPEN_ATTEMPTS):
                    generation = self.latest_generation()
                    try:
                        return super()._read_toc()
                    except FileNotFoundError:
                        # Only a commit that has happened since is worth waiting for; a file
                        # missing from an index nobody is changing is damage, reported at once.
                        if attempt == _OPEN_ATTEMPTS - 1 or self.latest_generation() == generation:
                            raise
                        time.sleep(0.01)

        _RETRYING_INDEX = RetryingFileIndex
    return _RETRYING_INDEX


_MAPPED_STORAGE = None


def _mapped_storage_class() -> Any:
    """Whoosh's FileStorage with each file opened read-only as a memory map (on POSIX systems).

    A query reads hundreds of small pieces of the segment files (term entries, block headers,
    positions, stored stories): from a map each is a copy out of memory, ~1 µs, where a seek and a
    read of the file cost 3–6 µs here. Whoosh maps only compound segments, which searchkit does not
    write. Segment files never change once written, and a merge only unlinks them, which leaves a
    map valid on POSIX (Windows would refuse to delete a mapped file: there, files are read)."""
    global _MAPPED_STORAGE
    if _MAPPED_STORAGE is None:
        import mmap

        from whoosh.filedb.filestore import FileStorage
        from whoosh.filedb.structfile import StructFile

        class MappedFileStorage(FileStorage):  # type: ignore[misc]
            def open_file(self, name, **kwargs):  # type: ignore[no-untyped-def]
                with open(self._fpath(name), "rb") as file:
                    try:
                        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
                    except ValueError:  # an empty file cannot be mapped
                        return super().open_file(name, **kwargs)
                return StructFile(mapped, name=name, **kwargs)

        _MAPPED_STORAGE = MappedFileStorage
    return _MAPPED_STORAGE


def open_whoosh(index_dir: Path, *, keep_reader: bool = False, mapped: bool = False):  # type: ignore[no-untyped-def]
    """The Whoosh index of a searchkit index folder, after checking it is one, of our version, and
    readable; its table of contents is re-read safely while another process commits.

    Every segment is opened to check it. With `keep_reader`, the reader that did so is left open
    as `ix.checked_reader` for the caller to search with (and close), instead of opening the
    segments a second time. With `mapped` (searching; on POSIX systems), files are read through
    memory maps (`_mapped_storage_class`); the indexer reads them as files, so that the segments a
    merge reads do not count in its resident memory.
    """
    from whoosh import index as whoosh_index
    from whoosh.filedb.filestore import FileStorage

    from . import whoosh_readers

    whoosh_readers.install()
    if not has_index(index_dir):
        raise IndexNotFoundError(f"no searchkit index in {index_dir}")
    meta = read_meta(index_dir)
    if meta is None:
        with Manifest(index_dir) as manifest:  # raises IndexCorruptError for a damaged manifest
            manifest.check_version()
    else:
        check_version(index_dir, meta.get("schema_version"))
    try:
        storage_class = _mapped_storage_class() if mapped and os.name == "posix" else FileStorage
        ix = _retrying_index_class()(storage_class(str(index_dir)), indexname=WHOOSH_INDEX_NAME)
        for attempt in range(_OPEN_ATTEMPTS):
            # Opening reads only the table of contents; open the segments too, so that a damaged
            # one is reported here, as a clear error, not as a traceback from the first search.
            # (Not ix.reader(): it retries any missing file for half a second, damage included.)
            toc = ix._read_toc()
            try:
                reader = ix._reader(ix.storage, toc.schema, toc.segments, toc.generation)
                if keep_reader:
                    ix.checked_reader = reader
                else:
                    reader.close()
                return ix
            except FileNotFoundError:
                # A writer committed after we read the table of contents and removed the segments
                # it merged: read the new one. With no new commit, the file is really gone.
                if attempt == _OPEN_ATTEMPTS - 1 or ix.latest_generation() == toc.generation:
                    raise
                time.sleep(0.01)
        raise AssertionError("unreachable")
    except whoosh_index.EmptyIndexError as error:
        # The manifest is written after the Whoosh files, so with a manifest there was an index.
        raise IndexCorruptError(f"the index in {index_dir} has lost its table of contents (_{WHOOSH_INDEX_NAME}_*.toc)") from error
    except Exception as error:  # Whoosh raises many kinds of error on damaged files
        raise IndexCorruptError(f"the index in {index_dir} cannot be opened ({error.__class__.__name__}: {error})") from error
