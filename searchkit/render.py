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
