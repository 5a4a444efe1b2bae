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
    help="Index folder, e.g. --index ~/news-index. Default: $SEARCHKIT_INDEX, else ./index.",
    show_default=False,
)

# --- cluster backend (issue 6): the one option every command that reads or writes articles takes ---
BackendOption = typer.Option(
    None,
    "--backend",
    help=(
        "Where the articles live: whoosh (the --index folder) or a Manticore/Sphinx cluster, "
        "e.g. --backend manticore://10.0.0.5:9306,10.0.0.6:9306 (with a cluster, --index is only the "
        "indexer's local state). Default: $SEARCHKIT_BACKEND, else what the index folder records, else whoosh."
    ),
    show_default=False,
)
# --- end cluster backend ---


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
        return "Run `searchkit doctor` to see what is damaged, and `searchkit doctor --repair` to rebuild it from the source files."
    if isinstance(error, errors.IndexWriteError):
        return "Free some space or make the index folder writable, then run the same command again; the index keeps its last commit."
    return None


# ---------------------------------------------------------------------------------------------
# index
# ---------------------------------------------------------------------------------------------

@app.command("index")
def index_command(
    paths: Optional[list[Path]] = typer.Argument(
        None,
        help="Files or folders to index, e.g. ~/archive/2025. Default: the folders already in the index, else ./sample_docs.",
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
        False, "--rebuild", help="Build a fresh index beside the old one and swap it in only when complete, e.g. searchkit index --rebuild."
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Reader processes (0 = one per core), e.g. -j 1 on a busy machine."),
    lock_timeout: float = typer.Option(
        5.0, "--lock-timeout", min=0, help="Seconds to wait for another indexer to release the index, e.g. --lock-timeout 60."
    ),
    max_file_size: int = typer.Option(
        100, "--max-file-size", min=0,
        help="Skip files larger than this many megabytes, checked before reading them (0 = no limit), e.g. --max-file-size 500.",
    ),
    batch_size: int = typer.Option(
        50000, "--batch-size", min=1, help="Articles per commit (at most; a batch also ends when its postings fill a worker's share of the writer memory): a crash loses at most the batches in flight, one per worker, e.g. --batch-size 1000."
    ),
    memory: int = typer.Option(
        512, "--memory", min=4,
        help="Megabytes of postings the reader processes hold, together, before each writes a segment: more makes fewer, larger segments (queries on a big archive run faster) at that much more peak memory, e.g. --memory 1024.",
    ),
    phrase_pairs: Optional[bool] = typer.Option(
        None, "--phrase-pairs/--no-phrase-pairs", show_default=False,
        help="When the index is created (or with --rebuild): also record which common words stand next to which, so phrases of common words (\"central bank\") are answered without comparing word positions. Default: only for an archive of about 50,000 articles or more (on Reuters ×5, 108k stories: phrase queries a third faster at the median and three times at the slowest, for ~15% more indexing time and a ~30% larger index). Kept for the index's life, e.g. searchkit index ~/archive --rebuild --phrase-pairs.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the run's summary as JSON on stdout, e.g. searchkit index docs --json | jq .files_failed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary on stderr (errors still go there), e.g. in cron jobs: -q."),
    backend: Optional[str] = BackendOption,
) -> None:
    """Index article files into a Whoosh index; re-runs update only what changed.

    Reads scraped text pages (.txt), HTML, JSON / JSON Lines dumps and SGML/XML wire archives,
    detecting each file's encoding. Unchanged files are skipped, changed files replace their
    articles, deleted files lose theirs. A file that cannot be read is named on stderr with the
    reason, and the rest is indexed. One indexer at a time: a second one waits --lock-timeout
    seconds. Each batch is committed, so an interrupted run keeps what it committed and the
    same command finishes the job.

    Exit codes: 0 = all files read, 1 = some files failed (the rest is committed),
    2 = fatal error (index locked, damaged, unwritable, of another version), 130 = interrupted.

    \b
    Example:  searchkit index sample_docs
              searchkit index ~/archive/reuters -g '*.sgm' --index reuters-index
    """
    from .indexer import IndexOptions
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
        writer_memory_mb=memory,
        phrase_pairs=phrase_pairs,
    )
    console = stderr_console()
    progress = None if quiet or json_output and not console.is_terminal else _progress_reporter(console)
    try:
        from .backends import index_into, resolve_backend  # cluster backend (issue 6)

        spec = resolve_backend(backend, index_dir)
        report = index_into(spec, [str(p) for p in paths or []], index_dir, options, progress=progress)
    except SearchkitError as error:
        raise fail(str(error), error_hint(error))
    except KeyboardInterrupt:
        console.print("Interrupted: the index keeps every batch committed so far; run the same command again to finish.")
        raise typer.Exit(ExitStatus.INTERRUPTED)
    render_index_report(report, console=console, as_json=json_output, quiet=quiet)
    raise typer.Exit(ExitStatus.SOME_FAILED if report.files_failed else ExitStatus.OK)


@app.command("doctor")
def doctor_command(
    index: Optional[Path] = IndexOption,
    repair: bool = typer.Option(
        False, "--repair",
        help="Fix what was found: finish an interrupted run, or rebuild a damaged index from the folders it was made from, e.g. searchkit doctor --repair.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the findings as one JSON object on stdout, e.g. searchkit doctor --json."),
    lock_timeout: float = typer.Option(
        5.0, "--lock-timeout", min=0, help="With --repair: seconds to wait for another indexer, e.g. --lock-timeout 60."
    ),
) -> None:
    """Check that an index is whole: the manifest reads, the schema version fits, every segment
    reads to the end, and the articles match what the manifest recorded.

    Findings go to stdout, one line each (ok / note / problem). With --repair, a damaged index
    is rebuilt from the source folders recorded in it (the old one stays until the new one is
    complete), and an interrupted indexing run is finished.

    Exit codes: 0 = healthy (or repaired), 2 = damaged (or the repair failed), 130 = interrupted.

    \b
    Example:  searchkit doctor --index reuters-index
              searchkit doctor --index reuters-index --repair
    """
    from .doctor import check_index, repair_index
    from .render import render_index_report

    index_dir = resolve_index_dir_or_default(index)
    console = stderr_console()
    try:
        health = check_index(index_dir)
    except SearchkitError as error:
        raise fail(str(error), error_hint(error))
    if repair and (not health.healthy or health.interrupted):
        try:
            report = repair_index(index_dir, lock_timeout=lock_timeout, progress=None if json_output else _progress_reporter(console))
        except SearchkitError as error:
            _print_health(health, json_output)
            raise fail(f"could not repair the index: {error}", error_hint(error))
        except KeyboardInterrupt:
            console.print("Interrupted: the old index is untouched.")
            raise typer.Exit(ExitStatus.INTERRUPTED)
        if report is not None:
            render_index_report(report, console=console, as_json=False, quiet=json_output)
        health = check_index(index_dir)
    _print_health(health, json_output)
    if not health.healthy:
        hint = None if repair else "Run `searchkit doctor --repair` to rebuild it from the source folders it was made from."
        raise fail(f"the index in {index_dir} is damaged ({len(health.problems)} problem(s))", hint)
    raise typer.Exit(ExitStatus.OK)


def _print_health(health, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    from .render import json_dumps, safe_text

    if as_json:
        sys.stdout.write(json_dumps(health.to_dict()) + "\n")
    else:
        lines = [f"index: {health.index_dir}"]
        lines += [f"ok: {line}" for line in health.checks]
        lines += [f"note: {line}" for line in health.notes]
        lines += [f"problem: {line}" for line in health.problems]
        sys.stdout.write("".join(safe_text(line, keep_newlines=False) + "\n" for line in lines))
    sys.stdout.flush()


def resolve_index_dir_or_default(index: Optional[Path]) -> Path:
    from .storage import resolve_index_dir

    return resolve_index_dir(index)


def _progress_reporter(console):  # type: ignore[no-untyped-def]
    from .render import IndexProgress

    return IndexProgress(console)


# ---------------------------------------------------------------------------------------------
# query side: query, show, stats, similar, timeline  (below this line)
# ---------------------------------------------------------------------------------------------


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class ShowFormat(str, enum.Enum):
    text = "text"
    json = "json"


class TimelineFormat(str, enum.Enum):
    text = "text"
    json = "json"
    csv = "csv"


class ColorChoice(str, enum.Enum):
    auto = "auto"
    always = "always"
    never = "never"


class SortOrder(str, enum.Enum):
    relevance = "relevance"
    newest = "newest"
    oldest = "oldest"


class Period(str, enum.Enum):
    year = "year"
    month = "month"
    day = "day"


LimitOption = typer.Option(10, "--limit", "-n", min=1, help="Hits per page, e.g. -n 25.")
PageOption = typer.Option(1, "--page", "-p", min=1, help="Which page of hits to show, e.g. --page 2 -n 10 for hits 11-20.")
SinceOption = typer.Option(
    None, "--since", help="Only articles dated on or after this: YYYY, YYYY-MM, YYYY-MM-DD or relative 30d/6w/12m/2y (UTC), e.g. --since 2025-03."
)
UntilOption = typer.Option(
    None, "--until", help="Only articles dated on or before this (a month or year counts whole), e.g. --until 2025-03-31."
)
SourceOption = typer.Option(None, "--source", help="Only articles from this source (its words, any case), e.g. --source 'yomiuri'.")
SectionOption = typer.Option(None, "--section", help="Only articles in this section, e.g. --section politics.")
LangOption = typer.Option(None, "--lang", help="Only articles in this language code, e.g. --lang ja.")
FragmentsOption = typer.Option(3, "--fragments", min=0, help="Highlighted fragments per hit, best first (0 = none), e.g. --fragments 1.")
FormatOption = typer.Option(
    OutputFormat.text, "--format", "-f", case_sensitive=False,
    help="text for a person; json = one object; jsonl = one hit per line; csv = one row per hit, e.g. --format jsonl.",
)
JsonOption = typer.Option(False, "--json", help="Same as --format json, e.g. searchkit query budget --json.")
ColorOption = typer.Option(
    ColorChoice.auto, "--color", case_sensitive=False,
    help="Colour in text output: auto (on a terminal, unless NO_COLOR is set), always or never, e.g. --color never.",
)


class _guard:
    """Library errors → `Error: …` and exit 2; Ctrl-C → 130; a closed pipe → a quiet exit."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> bool:
        from . import errors

        if error is None or isinstance(error, (typer.Exit, typer.Abort)):
            return False
        if isinstance(error, errors.QuerySyntaxError):
            raise fail(str(error), _query_pointer(error)) from None
        if isinstance(error, errors.ArticleNotFoundError):
            raise fail(str(error), "Find article ids with `searchkit query WORDS --format jsonl` (the \"id\" key).") from None
        if isinstance(error, SearchkitError):
            raise fail(str(error), error_hint(error)) from None
        if isinstance(error, ValueError):
            raise fail(str(error)) from None
        if isinstance(error, KeyboardInterrupt):
            sys.stderr.write("Interrupted.\n")
            raise typer.Exit(ExitStatus.INTERRUPTED) from None
        if isinstance(error, BrokenPipeError):
            # `searchkit query … | head`: the reader left. Point stdout at /dev/null so the final
            # flush at exit cannot raise a second time, and leave quietly.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError, AttributeError):
                pass
            raise typer.Exit(ExitStatus.OK) from None
        return False


def _query_pointer(error: Exception) -> str | None:
    """A caret line under the part of the query that failed, when the error knows where it is."""
    query = getattr(error, "query", None)
    position = getattr(error, "position", None)
    if query is None or position is None:
        return None
    from .render import safe_text

    shown = safe_text(query, keep_newlines=False)
    length = max(1, int(getattr(error, "length", 1)))
    return f"  {shown}\n  {' ' * position}{'^' * length}"


def _open(index: Optional[Path], backend: Optional[str] = None):  # type: ignore[no-untyped-def]
    # Whoosh in the index folder, or the cluster that --backend / $SEARCHKIT_BACKEND / the folder names.
    from .backends import open_search, resolve_backend

    index_dir = resolve_index_dir_or_default(index)
    return open_search(resolve_backend(backend, index_dir), index_dir)


def _format(fmt: enum.Enum, json_flag: bool) -> str:
    return "json" if json_flag else str(fmt.value)


def _exit_for(found: bool) -> "typer.Exit":
    return typer.Exit(ExitStatus.OK if found else ExitStatus.NO_HITS)


@app.command("query")
def query_command(
    query: Optional[str] = typer.Argument(
        None,
        metavar="QUERY",
        help=(
            'What to search for: words (ranked, all words first), "exact phrases", AND/OR/NOT, -word, '
            "field:value (title, section, source, byline, keywords, lang), word*, word~, "
            'date:2025-03 or date:[2025-03-01 TO 2025-03-31], e.g. \'"joint headquarters" -academy\'.'
        ),
        show_default=False,
    ),
    index: Optional[Path] = IndexOption,
    backend: Optional[str] = BackendOption,
    limit: int = LimitOption,
    page: int = PageOption,
    since: Optional[str] = SinceOption,
    until: Optional[str] = UntilOption,
    source: Optional[str] = SourceOption,
    section: Optional[str] = SectionOption,
    lang: Optional[str] = LangOption,
    sort: SortOrder = typer.Option(
        SortOrder.relevance, "--sort", "-s", case_sensitive=False,
        help="relevance (best first), newest or oldest (undated articles last), e.g. --sort newest.",
    ),
    fragments: int = FragmentsOption,
    fmt: OutputFormat = FormatOption,
    json_flag: bool = JsonOption,
    color: ColorChoice = ColorOption,
    batch: Optional[str] = typer.Option(
        None, "--batch", "-b",
        help="Run one query per line of this file ('-' = stdin) and print JSON Lines, each tagged with its query, e.g. --batch queries.txt.",
    ),
) -> None:
    """Search the index: ranked hits with highlighted fragments.

    Words are ranked with BM25 (title counts double); for two or three words, articles holding all
    of them come first and articles holding some still follow; a longer question is re-ranked with
    the words of its best matches (pseudo-relevance feedback). Text output is for a person; --format json/jsonl/csv is
    for scripts (stdout is data only; notes and "did you mean" go to stderr).

    Exit codes: 0 = hits, 1 = no hits, 2 = error (no index, bad query, bad option), 130 = interrupted.

    \b
    Example:  searchkit query "joint headquarters" --since 2025 -n 5
              searchkit query budget --format jsonl | jq .title
    """
    from .render import render_notes, render_suggestion, write_results

    output = _format(fmt, json_flag)
    with _guard():
        if batch is not None:
            raise typer.Exit(
                _run_batch(batch, index, output, backend=backend, options=dict(limit=limit, page=page, since=since, until=until, source=source,
                                                      section=section, lang=lang, sort=sort.value, fragments=fragments))
            )
        if query is None:
            raise fail("give a QUERY, or --batch FILE", "Example: searchkit query \"joint headquarters\"")
        with _open(index, backend) as ix:
            try:
                results = ix.search(
                    query, limit=limit, page=page, since=since, until=until, source=source,
                    section=section, lang=lang, sort=sort.value, fragments=fragments,
                )
            except SearchkitError as error:
                error.query = query  # type: ignore[attr-defined]  # for the caret pointer
                raise
        # The stderr console (and rich.console with it) only when there is something to say.
        talk = stderr_console() if results.notes or results.suggestion else None
        if talk is not None:
            render_notes(results, talk)
        write_results(results, output, color=color.value)
        if talk is not None:
            render_suggestion(results, talk)
        raise _exit_for(bool(results.hits))


def _run_batch(source_name: str, index: Optional[Path], output: str, options: dict, backend: Optional[str] = None) -> int:  # type: ignore[type-arg]
    """One query per line → JSON Lines (csv: rows); returns the exit code for the whole batch."""
    from .errors import SearchkitError as _Error
    from .render import CSV_COLUMNS, json_line, results_csv_rows, write_csv

    if source_name == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(source_name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as error:
            raise fail(f"cannot read the batch file {source_name}: {error.strerror or error}")
    queries = [line.strip() for line in lines if line.strip()]
    any_hits = any_error = False
    out = sys.stdout
    if output == "csv":
        write_csv([], CSV_COLUMNS, out)
    with _open(index, backend) as ix:
        for query in queries:
            try:
                results = ix.search(query, **options)
            except _Error as error:
                any_error = True
                out.write(json_line({"query": query, "error": str(error)}) + "\n") if output != "csv" else None
                stderr_console().print("Error: " + _safe(f"{query}: {error}"))
                continue
            any_hits = any_hits or bool(results.hits)
            if output == "jsonl":
                for hit in results.hits:
                    out.write(json_line({"query": query, **hit.to_dict()}) + "\n")
            elif output == "csv":
                write_csv(results_csv_rows(results), None, out)
            else:
                out.write(json_line(results.to_dict()) + "\n")
            out.flush()
    if any_error:
        return ExitStatus.ERROR
    return ExitStatus.OK if any_hits else ExitStatus.NO_HITS


def _safe(text: str) -> str:
    from .render import safe_text

    return safe_text(text, keep_newlines=False)


@app.command("show")
def show_command(
    article_id: str = typer.Argument(..., metavar="ID", help="The article's id, as query output shows it, e.g. politics/joint-hq.txt."),
    index: Optional[Path] = IndexOption,
    backend: Optional[str] = BackendOption,
    highlight: Optional[str] = typer.Option(
        None, "--highlight", "-H", help="Highlight what this query matches in the article, e.g. --highlight 'joint headquarters'."
    ),
    fmt: ShowFormat = typer.Option(
        ShowFormat.text, "--format", "-f", case_sensitive=False,
        help="text for a person, json for scripts (the article's fields, plus highlight spans), e.g. --format json.",
    ),
    json_flag: bool = typer.Option(False, "--json", help="Same as --format json, e.g. searchkit show ID --json."),
    color: ColorChoice = ColorOption,
) -> None:
    """Print one whole article: its metadata and body.

    Exit codes: 0 = shown, 2 = error (no index, no article with that id), 130 = interrupted.

    \b
    Example:  searchkit show politics/joint-hq.txt --highlight "joint headquarters"
    """
    from .render import article_json, json_line, render_article_text, stdout_console

    output = _format(fmt, json_flag)
    with _guard():
        with _open(index, backend) as ix:
            article = ix.get(article_id)
            title_spans: tuple[tuple[int, int], ...] = ()
            body_spans: tuple[tuple[int, int], ...] | None = None
            if highlight:
                try:
                    body_spans = ix.highlight(article.body, highlight)
                    title_spans = ix.title_highlight(article.title, highlight)
                except SearchkitError as error:
                    error.query = highlight  # type: ignore[attr-defined]
                    raise
        if output == "json":
            sys.stdout.write(json_line(article_json(article, title_spans=title_spans, body_spans=body_spans)) + "\n")
            sys.stdout.flush()
        else:
            render_article_text(article, stdout_console(color.value), title_spans=title_spans, body_spans=body_spans or ())
    raise typer.Exit(ExitStatus.OK)


@app.command("stats")
def stats_command(
    index: Optional[Path] = IndexOption,
    backend: Optional[str] = BackendOption,
    fmt: ShowFormat = typer.Option(
        ShowFormat.text, "--format", "-f", case_sensitive=False, help="text for a person, json for scripts, e.g. --format json."
    ),
    json_flag: bool = typer.Option(False, "--json", help="Same as --format json, e.g. searchkit stats --json."),
    color: ColorChoice = ColorOption,
) -> None:
    """What the index holds: documents, date span, counts by source, section, language and encoding,
    index size, schema version and its phrase pairs (with the rebuild that adds them, once an
    index without them has grown large).

    Exit codes: 0 = done, 2 = error (no index), 130 = interrupted.

    \b
    Example:  searchkit stats --index reuters-index
    """
    from .render import json_line, render_stats_text, stdout_console

    output = _format(fmt, json_flag)
    with _guard():
        with _open(index, backend) as ix:
            stats = ix.stats()
        if output == "json":
            sys.stdout.write(json_line(stats.to_dict()) + "\n")
            sys.stdout.flush()
        else:
            render_stats_text(stats, stdout_console(color.value))
    raise typer.Exit(ExitStatus.OK)


@app.command("similar")
def similar_command(
    article_id: str = typer.Argument(..., metavar="ID", help="The article to find others like, e.g. politics/joint-hq.txt."),
    index: Optional[Path] = IndexOption,
    backend: Optional[str] = BackendOption,
    limit: int = LimitOption,
    page: int = PageOption,
    fragments: int = FragmentsOption,
    fmt: OutputFormat = FormatOption,
    json_flag: bool = JsonOption,
    color: ColorChoice = ColorOption,
) -> None:
    """Articles like this one, found from its most telling words (Whoosh's more-like-this).

    Same output formats as `query`. Exit codes: 0 = hits, 1 = none, 2 = error, 130 = interrupted.

    \b
    Example:  searchkit similar politics/joint-hq.txt -n 5
    """
    from .render import write_results

    output = _format(fmt, json_flag)
    with _guard():
        with _open(index, backend) as ix:
            results = ix.similar(article_id, limit=limit, page=page, fragments=fragments)
        write_results(results, output, color=color.value)
        raise _exit_for(bool(results.hits))


@app.command("timeline")
def timeline_command(
    query: str = typer.Argument(..., metavar="QUERY", help="What to count, in the syntax of `query` ('*' = every article), e.g. 'budget'."),
    index: Optional[Path] = IndexOption,
    backend: Optional[str] = BackendOption,
    by: Period = typer.Option(Period.month, "--by", case_sensitive=False, help="One bar per year, month or day (UTC), e.g. --by year."),
    since: Optional[str] = SinceOption,
    until: Optional[str] = UntilOption,
    source: Optional[str] = SourceOption,
    section: Optional[str] = SectionOption,
    lang: Optional[str] = LangOption,
    fmt: TimelineFormat = typer.Option(
        TimelineFormat.text, "--format", "-f", case_sensitive=False,
        help="text = a bar chart; json = {query, by, total, periods: [{period, count}]}; csv = period,count rows, e.g. --format csv.",
    ),
    json_flag: bool = typer.Option(False, "--json", help="Same as --format json, e.g. searchkit timeline budget --json."),
    color: ColorChoice = ColorOption,
) -> None:
    """How many matching articles fall in each period, as a bar chart or data.

    Periods with no articles between the first and last are shown as 0; undated articles are not
    counted. Exit codes: 0 = some articles, 1 = none, 2 = error, 130 = interrupted.

    \b
    Example:  searchkit timeline "joint headquarters" --by month --since 2024
    """
    from .render import json_line, render_timeline_text, stdout_console, timeline_dict, write_csv

    output = _format(fmt, json_flag)
    with _guard():
        with _open(index, backend) as ix:
            try:
                series = ix.timeline(query, by=by.value, since=since, until=until, source=source, section=section, lang=lang)
            except SearchkitError as error:
                error.query = query  # type: ignore[attr-defined]
                raise
        if output == "json":
            sys.stdout.write(json_line(timeline_dict(query, by.value, series)) + "\n")
            sys.stdout.flush()
        elif output == "csv":
            write_csv([[period, str(count)] for period, count in series], ("period", "count"))
        else:
            render_timeline_text(query, by.value, series, stdout_console(color.value))
        raise _exit_for(any(count for _, count in series))



# ---------------------------------------------------------------------------------------------
# cluster (issue 6): configs for a sharded Manticore/Sphinx cluster  (below this line)
# ---------------------------------------------------------------------------------------------

cluster_app = typer.Typer(
    name="cluster",
    help=(
        "Run searchkit on a sharded Manticore Search (or Sphinx 2.2) cluster, past what one machine holds.\n\n"
        "Example:  searchkit cluster config --shards 4 --nodes 10.0.0.5:9306,10.0.0.6:9306 --out cluster/"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("config")
def cluster_config_command(
    shards: int = typer.Option(..., "--shards", min=1, help="How many shards to split the archive into (dealt round-robin over the nodes), e.g. --shards 6."),
    nodes: str = typer.Option(
        ..., "--nodes",
        help="Each node's address for SphinxQL, comma-separated (agents use PORT+1, or host:port:agent_port), e.g. --nodes 10.0.0.5:9306,10.0.0.6:9306.",
    ),
    data_dir: str = typer.Option(
        "/var/lib/searchkit", "--data-dir", help="Where each node keeps its shards, in a node-K sub-folder, e.g. --data-dir /srv/searchkit."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Write node-1.conf, node-2.conf, … into this folder instead of printing them, e.g. --out cluster/."
    ),
    node: Optional[int] = typer.Option(None, "--node", min=1, help="Print only this node's config (1 = the first of --nodes), e.g. --node 2 > node-2.conf."),
    name: str = typer.Option("searchkit", "--name", help="The distributed index's name (shards are NAME_0, NAME_1, …), e.g. --name news."),
    connect_timeout: int = typer.Option(
        1000, "--connect-timeout", min=1, help="Milliseconds a node waits to reach another before reporting it dead, e.g. --connect-timeout 500."
    ),
    query_timeout: int = typer.Option(
        10000, "--query-timeout", min=1, help="Milliseconds a node waits for another's answer before reporting it dead, e.g. --query-timeout 30000."
    ),
) -> None:
    """Print ready-to-use searchd configs: one per node, each with its shards and a distributed index
    that searches them all (agent timeouts set, so a dead node is reported, never waited for).

    Start each node with `searchd --config node-K.conf`, then index and query with
    `--backend manticore://NODE,NODE…`. Exit codes: 0 = done, 2 = bad options.

    \b
    Example:  searchkit cluster config --shards 3 --nodes 127.0.0.1:9306,127.0.0.1:9406 --data-dir /tmp/sk --out cluster/
              searchd --config cluster/node-1.conf && searchd --config cluster/node-2.conf
              searchkit index sample_docs --backend manticore://127.0.0.1:9306,127.0.0.1:9406 --index sk-state
    """
    from .backends import BackendError, parse_node
    from .backends.cluster_config import backend_url, node_configs, write_configs

    try:
        parsed = [parse_node(part) for part in nodes.split(",") if part.strip()]
        configs = node_configs(
            parsed, shards, data_dir=data_dir, name=name, connect_timeout_ms=connect_timeout, query_timeout_ms=query_timeout
        )
    except BackendError as error:
        raise fail(str(error), "Example: searchkit cluster config --shards 3 --nodes 10.0.0.5:9306,10.0.0.6:9306")
    if node is not None and node > len(configs):
        raise fail(f"--node {node}: there are only {len(configs)} nodes")
    talk = stderr_console()
    if out is not None:
        for path in write_configs(configs, out):
            talk.print(f"wrote {path}")
        talk.print(f"Start each with `searchd --config FILE`, then use --backend {backend_url(parsed, name)}")
        raise typer.Exit(ExitStatus.OK)
    chosen = [configs[node - 1]] if node is not None else configs
    for config in chosen:
        if len(chosen) > 1:
            sys.stdout.write(f"# ===== {config.filename} =====\n")
        sys.stdout.write(config.text + ("\n" if len(chosen) > 1 else ""))
    sys.stdout.flush()
    raise typer.Exit(ExitStatus.OK)


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
    except Exception as error:  # a bug of ours: one line for the user, the traceback on request
        if os.environ.get("SEARCHKIT_DEBUG"):
            raise
        from .render import safe_text

        sys.stderr.write(
            f"Error: unexpected {error.__class__.__name__}: {safe_text(str(error), keep_newlines=False)[:300]}\n"
            "This is a bug in searchkit; run again with SEARCHKIT_DEBUG=1 to see where it happened.\n"
        )
        sys.exit(ExitStatus.ERROR)
