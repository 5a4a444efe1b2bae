"""The command line: a thin typer app over the library.

Each command parses its options, resolves the index folder (`--index` > `$SEARCHKIT_INDEX` >
`./index`), calls one library function, renders the result and chooses the exit code. It holds no
indexing or search logic. stdout carries data only; progress, warnings and errors go to stderr.

Exit codes (like grep and ripgrep):
  query/similar/timeline: 0 hits, 1 no hits, 2 error;   index: 0 all files read,
  1 some files failed (the rest is committed), 2 fatal;  any command: 130 interrupted.
"""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import SearchkitError


class ExitStatus(enum.IntEnum):
    OK = 0
    NO_HITS = 1  # query: nothing matched
    SOME_FAILED = 1  # index: some files could not be read; the rest is committed
    ERROR = 2
    INTERRUPTED = 130


EXIT_CODES_HELP = (
    "Exit codes: query/similar/timeline 0 = hits, 1 = no hits, 2 = error; "
    "index 0 = all files read, 1 = some files failed (the rest is committed), 2 = fatal error; "
    "130 = interrupted."
)

app = typer.Typer(
    name="searchkit",
    help=(
        "Full-text search for news archives.\n\n"
        "Index a folder of articles (scraped text pages, HTML, JSON/JSONL dumps, SGML wire archives) "
        "once, then query it by hand or from scripts.\n\n"
        "Example:  searchkit index sample_docs && searchkit query \"joint headquarters\"\n\n"
        + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

IndexOption = typer.Option(
    None,
    "--index",
    "-i",
    help="Index folder. Default: $SEARCHKIT_INDEX, else ./index.",
    show_default=False,
)


def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"searchkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    # A callback keeps `searchkit` a group of commands, so `searchkit index PATH` never reads
    # "index" as a path.
    pass


def stderr_console():  # type: ignore[no-untyped-def]
    """The console for talk (progress, warnings, errors): stderr, coloured only on a tty."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)


def fail(message: str, hint: str | None = None, code: int = ExitStatus.ERROR) -> "typer.Exit":
    """Print `Error: message` (and the next step) on stderr; return the Exit to raise."""
    from .render import safe_text

    console = stderr_console()
    console.print("Error: " + safe_text(message), style="bold red" if console.is_terminal else None)
    if hint:
        console.print(safe_text(hint))
    return typer.Exit(code)


def error_hint(error: SearchkitError) -> str | None:
    from . import errors

    if isinstance(error, errors.IndexVersionError):
        return "Run `searchkit index --rebuild` to rebuild it from the source files."
    if isinstance(error, errors.IndexNotFoundError):
        return "Create it with `searchkit index PATH`, or point --index / $SEARCHKIT_INDEX at an existing index."
    if isinstance(error, errors.IndexLockedError):
        return "Wait for the other indexer to finish, or raise --lock-timeout."
    if isinstance(error, errors.IndexCorruptError):
        return "Rebuild it with `searchkit index --rebuild`."
    return None


# ---------------------------------------------------------------------------------------------
# index
# ---------------------------------------------------------------------------------------------

@app.command("index")
def index_command(
    paths: Optional[list[Path]] = typer.Argument(
        None,
        help="Files or folders to index. Default: the folders already in the index, else ./sample_docs.",
        show_default=False,
    ),
    index: Optional[Path] = IndexOption,
    include: Optional[list[str]] = typer.Option(
        None, "--include", "-g", help="Only files whose path matches this glob (repeatable), e.g. -g '*.sgm'."
    ),
    exclude: Optional[list[str]] = typer.Option(
        None, "--exclude", help="Leave out files whose path matches this glob (repeatable), e.g. --exclude 'drafts/*'."
    ),
    encoding: Optional[str] = typer.Option(
        None, "--encoding", help="Decode every file with this encoding instead of detecting it, e.g. cp1252."
    ),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Build a fresh index beside the old one and swap it in only when complete."
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Reader processes (0 = one per core)."),
    lock_timeout: float = typer.Option(
        10.0, "--lock-timeout", help="Seconds to wait for another indexer to release the index."
    ),
    max_file_size: int = typer.Option(
        100, "--max-file-size", help="Skip files larger than this many megabytes (0 = no limit)."
    ),
    batch_size: int = typer.Option(
        5000, "--batch-size", min=1, help="Articles per commit: a crash loses at most one batch."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the run's summary as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary on stderr."),
) -> None:
    """Index article files into a Whoosh index; re-runs update only what changed.

    Reads scraped text pages (.txt), HTML, JSON / JSON Lines dumps and SGML/XML wire archives,
    detecting each file's encoding. Unchanged files are skipped, changed files replace their
    articles, deleted files lose theirs.

    Example:  searchkit index sample_docs
              searchkit index ~/archive/reuters -g '*.sgm' --index reuters-index
    """
    from .indexer import IndexOptions, index_paths
    from .render import render_index_report

    index_dir = resolve_index_dir_or_default(index)
    options = IndexOptions(
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        encoding=encoding,
        rebuild=rebuild,
        jobs=jobs,
        lock_timeout=lock_timeout,
        max_file_size=max_file_size * 1024 * 1024 if max_file_size > 0 else 0,
        batch_articles=batch_size,
    )
    console = stderr_console()
    progress = None if quiet or json_output and not console.is_terminal else _progress_reporter(console)
    try:
        report = index_paths([str(p) for p in paths or []], index_dir, options, progress=progress)
    except SearchkitError as error:
        raise fail(str(error), error_hint(error))
    except KeyboardInterrupt:
        console.print("Interrupted: the index keeps every batch committed so far; run the same command again to finish.")
        raise typer.Exit(ExitStatus.INTERRUPTED)
    render_index_report(report, console=console, as_json=json_output, quiet=quiet)
    raise typer.Exit(ExitStatus.SOME_FAILED if report.files_failed else ExitStatus.OK)


def resolve_index_dir_or_default(index: Optional[Path]) -> Path:
    from .storage import resolve_index_dir

    return resolve_index_dir(index)


def _progress_reporter(console):  # type: ignore[no-untyped-def]
    from .render import IndexProgress

    return IndexProgress(console)


# ---------------------------------------------------------------------------------------------
# query side: query, show, stats, similar, timeline  (below this line)
# ---------------------------------------------------------------------------------------------


def main() -> None:
    """Entry point: run the app, turning Ctrl-C and closed pipes into quiet exits."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # `searchkit query … | head`: the reader left; exit quietly without a second error on flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
