"""Rendering at the edge: results and reports → terminal (rich) or machine formats.

Article text and queries are untrusted: they are never interpolated into rich markup (a title may
say `[bold red]`, a body `Indo-Pacific [region]`), and control characters and escape sequences are
stripped before anything reaches a terminal. Styles are applied to spans with `Text.stylize`.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from .models import IndexReport

# C0 and C1 controls (ESC starts ANSI/OSC sequences; U+009B is the one-byte CSI), DEL, bidi
# overrides/isolates and zero-width characters: none of them may reach a terminal from article text.
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# A whole escape sequence, so its parameters do not survive as visible junk when ESC is dropped.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")


def safe_text(text: str, *, keep_newlines: bool = True) -> str:
    """Untrusted text made safe for a terminal: escape sequences and control characters removed."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    if not keep_newlines:
        text = text.replace("\n", " ").replace("\t", " ")
    return _TERMINAL_UNSAFE.sub("", text)


def json_dumps(data: Any) -> str:
    """JSON that is always valid: lone surrogates (from broken input) are replaced, not crashed on."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --- index runs ------------------------------------------------------------------------------


class IndexProgress:
    """A rich progress bar on stderr, updated by the indexer's progress callback."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, event: str, done: int = 0, total: int = 0, detail: str = "") -> None:
        if not self.console.is_terminal:
            return  # piped or redirected stderr: no bar, just the summary
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        if event == "start" and total:
            self._progress = Progress(
                TextColumn("indexing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[detail]}"),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("index", total=total, detail="")
        elif event == "file" and self._progress is not None:
            self._progress.update(self._task, completed=done, detail=safe_text(detail, keep_newlines=False)[-40:])
        elif event == "commit" and self._progress is not None:
            self._progress.update(self._task, detail="committing…")
        elif event == "end" and self._progress is not None:
            self._progress.stop()
            self._progress = None


def render_index_report(report: IndexReport, *, console: Any, as_json: bool, quiet: bool) -> None:
    """Failures and warnings on stderr (always); the summary on stderr, or as JSON on stdout."""
    from rich.text import Text

    for failure in report.failures:
        console.print(Text(f"error: {safe_text(failure.path, keep_newlines=False)}: {safe_text(failure.reason, keep_newlines=False)}"))
    for warning in report.warnings:
        console.print(Text("warning: " + safe_text(warning, keep_newlines=False)))
    if as_json:
        sys.stdout.write(json_dumps(report.to_dict()) + "\n")
        sys.stdout.flush()
        return
    if quiet:
        return
    if not report.wrote and not report.files_failed:
        console.print(Text(f"Index {report.index_dir} is up to date: {report.files_unchanged} files unchanged, nothing written."))
        return
    console.print(
        Text(
            f"Indexed {report.articles_written} articles into {report.index_dir} in {report.seconds:.1f}s "
            f"({report.articles_per_second:.0f} articles/s). Files: {report.files_seen} seen, "
            f"{report.files_new} new, {report.files_changed} changed, {report.files_unchanged} unchanged, "
            f"{report.files_deleted} deleted, {report.files_skipped} skipped, {report.files_failed} failed."
        )
    )


# --- query side (below this line) --------------------------------------------------------------
#
# Results, articles, stats and timelines, for a person (rich) or a script (JSON, JSON Lines, CSV).
# Spans from `highlight` become styles here and only here: each plain or highlighted piece of
# article text is made safe on its own (so stripping a control character cannot shift a span) and
# appended to a `rich.text.Text` with a style — never interpolated into markup.

_C1_AND_INVISIBLE = re.compile("[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

# Visible without colour too: bold + reverse survive NO_COLOR and --color never on a terminal.
HIGHLIGHT_STYLE = "bold reverse yellow"
TITLE_STYLE = "bold"
META_STYLE = "dim"
NOTE_STYLE = "yellow"
COLOR_CHOICES = ("auto", "always", "never")
OUTPUT_FORMATS = ("text", "json", "jsonl", "csv")
CSV_COLUMNS = ("query", "rank", "score", "id", "title", "date", "source", "section", "url", "path", "snippet")


def json_line(data: Any) -> str:
    """`json_dumps`, with the characters JSON leaves raw but terminals obey (C1 controls such as
    the one-byte CSI, DEL, bidi overrides) written as \\u escapes: same data, safe to `cat`."""
    text = json_dumps(data)
    return _C1_AND_INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def wants_color(choice: str, is_tty: bool, environ: dict[str, str] | None = None) -> bool | None:
    """True = colour, False = no colour (bold/reverse only), None = plain text (not a terminal).

    `--color always` beats NO_COLOR (an explicit setting beats the environment); `auto` colours a
    terminal unless NO_COLOR is set to anything non-empty.
    """
    import os

    env = os.environ if environ is None else environ
    if choice == "always":
        return True
    if not is_tty:
        return None
    if choice == "never" or env.get("NO_COLOR"):
        return False
    return True


def stdout_console(color: str = "auto", file: Any = None) -> Any:
    """The console for data on stdout, with the colour decision made once, here."""
    from rich.console import Console

    stream = file if file is not None else sys.stdout
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    mode = wants_color(color, is_tty)
    console = Console(
        file=stream,
        force_terminal=mode is not None,
        no_color=mode is False,
        color_system="auto" if mode else ("standard" if mode is False else None),
        highlight=False,
        markup=False,
        emoji=False,
        # Piped output keeps each line whole rather than wrapping it at 80 columns.
        soft_wrap=mode is None,
    )
    # rich answers a closed pipe with SystemExit(1); let the CLI decide (a quiet exit, as `main` does).
    console.on_broken_pipe = _raise_broken_pipe
    return console


def _raise_broken_pipe() -> None:
    raise BrokenPipeError()


def styled(text: str, spans: tuple[tuple[int, int], ...] | list[tuple[int, int]] = (), *, style: str = HIGHLIGHT_STYLE, base: str = "", one_line: bool = True) -> Any:
    """Untrusted text with its spans styled: a `rich.text.Text`, safe piece by piece."""
    from rich.text import Text

    result = Text(style=base)
    index = 0
    for start, end in sorted(spans):
        start, end = max(start, index), min(end, len(text))
        if end <= start:
            continue
        result.append(safe_text(text[index:start], keep_newlines=not one_line))
        piece = safe_text(text[start:end], keep_newlines=not one_line)
        offset = len(result)
        result.append(piece)
        result.stylize(style, offset, offset + len(piece))
        index = end
    result.append(safe_text(text[index:], keep_newlines=not one_line))
    return result


def _short_date(iso: str | None) -> str:
    return iso[:10] if iso else "undated"


def _hit_lines(hit: Any) -> list[Any]:
    from rich.text import Text

    head = Text(f"{hit.rank:>3}. ")
    head.append_text(styled(hit.title or "(untitled)", hit.title_highlights, base=TITLE_STYLE))
    meta_parts = [_short_date(hit.date)]
    where = " / ".join(p for p in (hit.source, hit.section) if p)
    if where:
        meta_parts.append(where)
    meta_parts.append(f"score {hit.score:.2f}")
    meta_parts.append(hit.id)
    meta = Text("     ", style=META_STYLE)
    meta.append(safe_text(" · ".join(meta_parts), keep_newlines=False))
    lines = [head, meta]
    for snippet in hit.snippets:
        line = Text("     ")
        line.append_text(styled(snippet.text, snippet.highlights))
        lines.append(line)
    return lines


def render_results_text(results: Any, console: Any) -> None:
    """A page of hits for a person: a header, then each hit with its highlighted fragments."""
    from rich.text import Text

    shown = f"{results.hits[0].rank}–{results.hits[-1].rank}" if results.hits else "none"
    noun = "hit" if results.total == 1 else "hits"
    header = Text(style="bold")
    header.append(f"{results.total} {noun} for ")
    header.append(safe_text(results.query, keep_newlines=False))
    header.append(f"  (showing {shown}, page {results.page}, {results.elapsed * 1000:.0f} ms)", style=META_STYLE)
    console.print(header)
    for hit in results.hits:
        console.print()
        for line in _hit_lines(hit):
            console.print(line)


def render_notes(results: Any, console: Any) -> None:
    """What was done to the query (fallbacks, expansion caps), on stderr: talk, not data."""
    from rich.text import Text

    for note in results.notes:
        console.print(Text("note: " + safe_text(note, keep_newlines=False), style=NOTE_STYLE if console.is_terminal else ""))


def render_suggestion(results: Any, console: Any) -> None:
    """"Did you mean" on stderr, when the searcher has a better query."""
    from rich.text import Text

    if results.suggestion:
        line = Text("Did you mean: ")
        line.append(safe_text(results.suggestion, keep_newlines=False), style="bold" if console.is_terminal else "")
        line.append(" ?")
        console.print(line)


def results_csv_rows(results: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for hit in results.hits:
        snippet = " … ".join(s.text for s in hit.snippets)
        row = [results.query, str(hit.rank), f"{hit.score:.4f}", hit.id, hit.title, hit.date or "", hit.source,
               hit.section, hit.url, hit.path, snippet]
        # CSV is read in terminals and spreadsheets: no control characters, one physical line per row.
        rows.append([safe_text(value, keep_newlines=False) for value in row])
    return rows


def write_csv(rows: list[list[str]], header: tuple[str, ...] | None, stream: Any = None) -> None:
    import csv

    out = stream if stream is not None else sys.stdout
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    out.flush()


def write_results(results: Any, fmt: str, *, color: str = "auto", stream: Any = None) -> None:
    """Results on stdout in one of OUTPUT_FORMATS (json = one object; jsonl = one hit a line)."""
    out = stream if stream is not None else sys.stdout
    if fmt == "json":
        out.write(json_line(results.to_dict()) + "\n")
    elif fmt == "jsonl":
        for hit in results.hits:
            out.write(json_line(hit.to_dict()) + "\n")
    elif fmt == "csv":
        write_csv(results_csv_rows(results), CSV_COLUMNS, out)
    else:
        render_results_text(results, stdout_console(color, out))
    out.flush()


def render_article_text(article: Any, console: Any, *, title_spans: tuple[tuple[int, int], ...] = (), body_spans: tuple[tuple[int, int], ...] = ()) -> None:
    """One whole article: its metadata, then its body with any highlights."""
    from rich.text import Text

    console.print(styled(article.title or "(untitled)", title_spans, base=TITLE_STYLE))
    fields = [
        ("id", article.id),
        ("date", article.date.isoformat() + f" ({article.date.precision}, from {article.date.source})" if article.date else "undated"),
        ("source", article.source),
        ("section", article.section),
        ("byline", article.byline),
        ("dateline", article.dateline),
        ("url", article.url),
        ("language", article.language),
        ("keywords", ", ".join(article.keywords)),
        ("file", article.path + (f" (record {article.record_key})" if article.record_key else "")),
        ("format", article.format),
        ("encoding", f"{article.encoding} ({article.encoding_method}, {article.encoding_confidence:.2f})" if article.encoding else ""),
    ]
    for name, value in fields:
        if value:
            line = Text(f"{name:>9}: ", style=META_STYLE)
            line.append(safe_text(str(value), keep_newlines=False))
            console.print(line)
    console.print()
    console.print(styled(article.body, body_spans, one_line=False))


def article_json(article: Any, *, title_spans: tuple[tuple[int, int], ...] = (), body_spans: tuple[tuple[int, int], ...] | None = None) -> dict[str, Any]:
    data = article.to_dict()
    if body_spans is not None:
        data["title_highlights"] = [list(s) for s in title_spans]
        data["highlights"] = [list(s) for s in body_spans]
    return data


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def render_stats_text(stats: Any, console: Any, *, top: int = 10) -> None:
    from rich.table import Table
    from rich.text import Text

    def line(name: str, value: str) -> None:
        text = Text(f"{name:>15}: ", style=META_STYLE)
        text.append(safe_text(value, keep_newlines=False))
        console.print(text)

    line("index", stats.index_dir)
    line("documents", f"{stats.documents:,}")
    span = f"{_short_date(stats.earliest)} → {_short_date(stats.latest)}" if stats.earliest else "no dated articles"
    line("dates (UTC)", span + (f"  ({stats.undated:,} undated)" if stats.undated else ""))
    line("index size", _human_size(stats.size_bytes))
    line("schema version", str(stats.schema_version))
    if stats.phrase_pairs is not None:
        line("phrase pairs", f"{stats.phrase_pairs:,} common words" if stats.phrase_pairs else "none")
    if stats.phrase_pairs_advised:
        import shlex

        advice = Text(f"{'':>17}an archive this large answers phrases of common words faster with them:\n{'':>17}", style=META_STYLE)
        command = f"searchkit index PATHS --index {shlex.quote(stats.index_dir)} --rebuild --phrase-pairs"
        advice.append(safe_text(command, keep_newlines=False))
        console.print(advice)
    for title, counts in (("source", stats.sources), ("section", stats.sections), ("language", stats.languages), ("encoding", stats.encodings)):
        table = Table(title=None, show_edge=False, box=None, pad_edge=False, padding=(0, 2))
        table.add_column(Text(title, style="bold"))
        table.add_column(Text("articles", style="bold"), justify="right")
        items = list(counts.items())
        for name, count in items[:top]:
            table.add_row(Text(safe_text(name, keep_newlines=False)), Text(f"{count:,}"))
        if len(items) > top:
            rest = sum(c for _, c in items[top:])
            table.add_row(Text(f"… {len(items) - top} more", style=META_STYLE), Text(f"{rest:,}", style=META_STYLE))
        console.print()
        console.print(table)


def render_timeline_text(query: str, by: str, series: list[tuple[str, int]], console: Any) -> None:
    """A horizontal bar chart, one row per period, scaled to the terminal's width."""
    from rich.text import Text

    total = sum(count for _, count in series)
    header = Text(style="bold")
    header.append(f"{total} dated articles for ")
    header.append(safe_text(query, keep_newlines=False))
    header.append(f", by {by}", style=META_STYLE)
    console.print(header)
    if not series:
        return
    peak = max(count for _, count in series) or 1
    label_width = max(len(p) for p, _ in series)
    count_width = len(f"{peak:,}")
    room = max(10, min(60, (console.width or 80) - label_width - count_width - 4))
    for period, count in series:
        cells = count / peak * room
        bar = "█" * int(cells) + ("▌" if cells - int(cells) >= 0.5 else "")
        if count and not bar:
            bar = "▏"
        row = Text(f"{period:<{label_width}}  ")
        row.append(bar.ljust(room), style="cyan")
        row.append(f" {count:>{count_width},}")
        console.print(row)


def timeline_dict(query: str, by: str, series: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "query": query,
        "by": by,
        "total": sum(count for _, count in series),
        "periods": [{"period": period, "count": count} for period, count in series],
    }
