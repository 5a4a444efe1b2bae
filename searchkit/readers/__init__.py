"""Readers: text of one source file → the Articles it holds.

One module per source format, each exposing:

- `NAME` — the format's name as reported to users ("text", "html", "json", "sgml");
- `SUFFIXES` — file suffixes it claims (lower case, with the dot);
- `sniff(head: str) -> bool` — whether the start of a file's text looks like this format, used for
  files whose suffix no reader claims;
- `read(text: str, source: Source) -> Iterator[Article | ReadWarning]` — the articles, plus a
  warning for each record that was skipped (a broken JSONL line, a story cut off mid-way), so one bad
  record never costs the rest of the file. A file that cannot be read at all raises `ReadError`.

`reader_for(path, head)` picks the reader: by suffix first, then by sniffing the content.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from types import ModuleType
from typing import Iterator, Protocol, Union

from ..models import Article, ParsedDate, Source, article_id


@dataclass(frozen=True)
class ReadWarning:
    """One record of a file that was skipped or damaged, and why (the rest of the file is read)."""

    message: str


ReadItem = Union[Article, ReadWarning]


class Reader(Protocol):
    NAME: str
    SUFFIXES: tuple[str, ...]

    def sniff(self, head: str) -> bool: ...

    def read(self, text: str, source: Source) -> Iterator[ReadItem]: ...


def _registry() -> list[ModuleType]:
    # Imported on first use so that `searchkit query` never pays for HTML parsing libraries.
    from . import html, jsonl, sgml, text

    return [sgml, html, jsonl, text]


def all_readers() -> list[ModuleType]:
    return _registry()


def reader_for(path: str, head: str) -> ModuleType | None:
    """The reader for a file, by its suffix, else by sniffing `head` (its first few KB of text)."""
    lowered = path.lower()
    readers = _registry()
    for reader in readers:
        if lowered.endswith(reader.SUFFIXES):
            return reader
    for reader in readers:
        if reader.sniff(head):
            return reader
    return None


def known_suffixes() -> tuple[str, ...]:
    return tuple(s for reader in _registry() for s in reader.SUFFIXES)


# --- shared helpers for readers -------------------------------------------------------------

# C0/C1 control characters other than tab and newline, DEL, and the bidi overrides and isolates
# that can make a title print differently from what it says.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]"
)
# A whole ANSI/OSC escape sequence (as in render.py), so that its parameters ("[31m") do not
# survive as visible junk once the ESC that starts it is dropped.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")
# A run of spaces, tabs and other blanks, except a lone space (which stays as it is): most text is
# single spaces between words, and leaving them unmatched halves the substitution's time.
_SPACES = re.compile(r"[\t\u00a0\u3000][ \t\u00a0\u3000]*| [ \t\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def strip_controls(text: str) -> str:
    """Drop escape sequences, control characters, zero-width characters and bidi overrides; keep tabs and newlines."""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    return _UNSAFE.sub("", text)


def clean_line(text: str) -> str:
    """One line of metadata (a title, a byline): controls dropped, whitespace collapsed."""
    return _SPACES.sub(" ", strip_controls(text).replace("\r", " ").replace("\n", " ")).strip()


def clean_body(text: str) -> str:
    """Body text: controls dropped, runs of spaces collapsed, at most one blank line between paragraphs."""
    text = strip_controls(text.replace("\r\n", "\n").replace("\r", "\n"))
    # One pass over the whole text: the runs of spaces never span a line break.
    lines = [line.strip() for line in _SPACES.sub(" ", text).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def guess_language(text: str) -> str:
    """A coarse language tag from the script of the text: ja, zh, ko, or "" when unsure.

    Enough to route CJK text and to filter by `--lang`; a reader that knows better (HTML `lang`,
    a JSON field) sets the language itself.
    """
    sample = text[:2000]
    kana = hangul = han = letters = 0
    for ch in sample:
        if "\u3040" <= ch <= "\u30ff":
            kana += 1
        elif "\uac00" <= ch <= "\ud7af":
            hangul += 1
        elif "\u4e00" <= ch <= "\u9fff":
            han += 1
        elif ch.isalpha():
            letters += 1
    if kana > 10:
        return "ja"
    if hangul > 10:
        return "ko"
    if han > 10:
        return "zh"
    if letters > 50 and all(unicodedata.name(ch, "").startswith("LATIN") for ch in sample if ch.isalpha()):
        return "en"
    return ""


def make_article(
    source: Source,
    /,
    *,
    record_key: str | None = None,
    title: str = "",
    body: str = "",
    date: ParsedDate | None = None,
    format: str,
    **metadata: object,
) -> Article:
    """An Article with its id and provenance filled in from `source`; metadata fields cleaned.

    `source` is positional-only so that a reader can still pass the article's `source=` (its site
    or wire service) as metadata.
    """
    fields: dict[str, object] = {}
    for name, value in metadata.items():
        if name == "keywords":
            fields[name] = tuple(dict.fromkeys(clean_line(str(k)) for k in value if clean_line(str(k))))  # type: ignore[attr-defined]
        elif value is None:
            fields[name] = ""
        else:
            fields[name] = clean_line(str(value))
    title = clean_line(title)
    body = clean_body(body)
    if "language" not in fields or not fields["language"]:
        fields["language"] = guess_language(title + "\n" + body)
    decoded = source.decoded
    return Article(
        id=article_id(source.path, record_key),
        title=title,
        body=body,
        date=date,
        path=source.path,
        record_key=record_key or "",
        format=format,
        encoding=decoded.encoding,
        encoding_method=decoded.method,
        encoding_confidence=decoded.confidence,
        **fields,  # type: ignore[arg-type]
    )


__all__ = [
    "ReadItem",
    "ReadWarning",
    "Reader",
    "all_readers",
    "clean_body",
    "clean_line",
    "guess_language",
    "known_suffixes",
    "make_article",
    "reader_for",
    "strip_controls",
]
