"""Discovery: the paths a user names → the source files to consider, with their stat fingerprints.

Folders are walked recursively in a stable order, skipping hidden files and folders (a leading
dot), the index folder itself, and anything `--include`/`--exclude` rule out. Globs follow
ripgrep's `-g`: a glob without a `/` matches a file's name at any depth (`*.sgm`); one with a `/`
matches the path relative to the folder being indexed (`2024/*.json`). Symlinked folders are not
followed, so a symlink loop cannot trap the walk; symlinked files are read. A folder that cannot be
listed is reported, and the walk goes on. A file name that is not valid UTF-8 is read all the same;
the index and manifest know it by `path_key`, its odd bytes written as `\\xff` escapes.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class FoundFile:
    path: str  # absolute, as the OS gave it (may hold surrogate escapes): what is opened
    relpath: str  # relative to root, "/"-separated, a `path_key`: the id of its articles
    root: str  # the `path_key` of the absolute root it was found under
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        """The path as the index and the manifest record it (see `path_key`)."""
        return path_key(self.path)


@dataclass(frozen=True)
class WalkProblem:
    path: str
    reason: str


def _matches(relpath: str, globs: tuple[str, ...]) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    for glob in globs:
        target = relpath if "/" in glob.strip("/") else name
        if fnmatch.fnmatchcase(target, glob.strip("/")) or fnmatch.fnmatchcase(relpath, glob):
            return True
    return False


def selected(relpath: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    if include and not _matches(relpath, include):
        return False
    return not (exclude and _matches(relpath, exclude))


def path_key(path: str) -> str:
    """A path any UTF-8 store accepts: the path itself, or, for a name that is not valid UTF-8
    (Python holds its bytes as surrogate escapes, which SQLite and Whoosh refuse), those bytes
    written as `\\xff` escapes. Stable across runs, so the manifest and index can key on it."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def display_path(path: str) -> str:
    """A file name that prints safely even when it is not valid UTF-8 (its odd bytes as `\\xff`)."""
    return path_key(path)


def walk(
    root: str,
    *,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    skip_dirs: tuple[str, ...] = (),
) -> Iterator[FoundFile | WalkProblem]:
    """Every selected file under `root` (a folder or a single file), in sorted order."""
    root_path = os.path.abspath(root)
    if os.path.isfile(root_path):
        rel = os.path.basename(root_path)
        try:
            st = os.stat(root_path)
        except OSError as error:
            yield WalkProblem(display_path(root_path), error.strerror or str(error))
            return
        # A file named on the command line is taken even if hidden or outside the globs' reach.
        yield FoundFile(root_path, path_key(rel), path_key(root_path), st.st_size, st.st_mtime_ns)
        return
    if not os.path.isdir(root_path):
        yield WalkProblem(display_path(root_path), "no such file or folder")
        return
    skip = {os.path.abspath(d) for d in skip_dirs}
    root_key = path_key(root_path)
    problems: list[WalkProblem] = []

    def on_error(error: OSError) -> None:
        problems.append(WalkProblem(display_path(str(error.filename)), error.strerror or str(error)))

    for dirpath, dirnames, filenames in os.walk(root_path, onerror=on_error):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and os.path.join(dirpath, d) not in skip
        )
        while problems:
            yield problems.pop(0)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            rel = path_key(os.path.relpath(full, root_path).replace(os.sep, "/"))
            if not selected(rel, include, exclude):
                continue
            try:
                st = os.stat(full)
            except OSError as error:
                # A dangling symlink or a file removed mid-walk.
                yield WalkProblem(display_path(full), error.strerror or str(error))
                continue
            if not os.path.isfile(full):
                continue
            yield FoundFile(full, rel, root_key, st.st_size, st.st_mtime_ns)
    while problems:
        yield problems.pop(0)
