"""Reader for scraped text pages: a headline, maybe a caption, a dateline, the story, then site chrome.

Pages saved from news sites as plain text share a shape, whatever the site:

    Headline
    (a photo caption, optional)
    17:24 JST, March 30, 2025            ← a dateline, in any common style
    By A. Writer                          ← a byline, optional
    paragraph … paragraph
    "Politics" POPULAR ARTICLE           ← chrome begins: a heading, often naming the section
    -
    Another headline
    -
    …
    JN ACCESS RANKING
    -
    …

The reader finds the dateline near the top by parsing (not by matching one site's format), and
finds where the chrome begins by its structure — a heading followed by a list of items separated by
lone `-` lines, or a short upper-case heading built from chrome words ("MOST READ", "TRENDING",
"ACCESS RANKING", …) — so the other headlines never enter the body. A section named in the chrome
heading (`"Politics" POPULAR ARTICLE`) is kept as metadata.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..dates import parse_dateline
from ..errors import ReadError
from ..models import ParsedDate, Source
from . import ReadItem, make_article

NAME = "text"
SUFFIXES = (".txt", ".text")

# Lines that separate items in a list of headlines.
_SEPARATOR = re.compile(r"^\s*[-–—•*·|]+\s*$")
# Words that make up chrome headings on news sites.
_CHROME_WORDS = re.compile(
    r"\b(popular|most[- ]read|most[- ]viewed|most[- ]popular|ranking|trending|related|recommended|"
    r"editor'?s[- ]picks?|top[- ]stories|latest[- ]news|more[- ]from|more[- ]stories|read[- ]more|"
    r"you may also like|don'?t miss|also read|more in|newsletter|sign up|subscribe|advertisement)\b",
    re.IGNORECASE,
)
_SECTION_IN_HEADING = re.compile(r"[\"“”'‘’«]([^\"“”'‘’«»]{2,40})[\"“”'‘’»]")
_SECTION_LINE = re.compile(r"^(?:section|category|desk)\s*[:|]\s*(.{2,40})$", re.IGNORECASE)
_BYLINE = re.compile(r"^(?:[Bb]y|BY|[Ff]rom)\s+([A-Z][\w.'’-]+(?:[ ,]+(?:and\s+)?[A-Z][\w.'’-]+){0,8})\s*$")
# Single lines of chrome that can sit inside a story.
_INLINE_CHROME = re.compile(
    r"^(advertisement|advertising|sponsored( content)?|share( this( article| story)?)?|tweet|"
    r"print|email|read more|continue reading|related( articles| stories)?:?|click here.*)$",
    re.IGNORECASE,
)
# How far down the page the dateline may sit: title, caption lines, byline.
_HEADER_LINES = 6


def sniff(head: str) -> bool:
    # Plain text has no signature; files reach this reader by their suffix only.
    return False


def _is_chrome_heading(lines: list[str], i: int) -> bool:
    line = lines[i]
    if not line or len(line) > 80:
        return False
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if _SEPARATOR.match(nxt):
        return True
    letters = [c for c in line if c.isalpha()]
    mostly_upper = bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.6
    return mostly_upper and len(line.split()) <= 8 and bool(_CHROME_WORDS.search(line))


def _section_from_heading(line: str) -> str:
    quoted = _SECTION_IN_HEADING.search(line)
    return quoted.group(1).strip() if quoted else ""


def read(text: str, source: Source) -> Iterator[ReadItem]:
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    content = [(i, line) for i, line in enumerate(lines) if line]
    if not content:
        raise ReadError(source.path, "the file holds no text")

    # Chrome: everything from the first chrome heading on (never the title line itself).
    nonblank = [line for _, line in content]
    chrome_at = len(nonblank)
    for k in range(1, len(nonblank)):
        if _is_chrome_heading(nonblank, k) or (_SEPARATOR.match(nonblank[k]) and k + 1 < len(nonblank)):
            chrome_at = k
            break
    story, chrome = nonblank[:chrome_at], nonblank[chrome_at:]

    date: ParsedDate | None = None
    dateline_text = ""
    title_at = 0
    # A page may open with its dateline, then the headline.
    first_date = parse_dateline(story[0])
    if first_date is not None and len(story) > 1:
        date, dateline_text, title_at = first_date, story[0], 1
    title = story[title_at]
    body_start = title_at + 1
    caption: list[str] = []
    byline = ""
    section = ""
    if date is None:
        for k in range(title_at + 1, min(len(story), title_at + 1 + _HEADER_LINES)):
            parsed = parse_dateline(story[k])
            if parsed is not None:
                date, dateline_text = parsed, story[k]
                caption = story[title_at + 1 : k]
                body_start = k + 1
                break
    # A byline or a "Section: X" line right after the header.
    while body_start < len(story):
        line = story[body_start]
        by = _BYLINE.match(line)
        sec = _SECTION_LINE.match(line)
        if by and not byline:
            byline = by.group(1)
        elif sec and not section:
            section = sec.group(1).strip()
        else:
            break
        body_start += 1

    paragraphs = [line for line in story[body_start:] if not _INLINE_CHROME.match(line)]
    if caption:
        # The caption describes the story's photo: searchable text, but after the story itself.
        paragraphs = paragraphs + caption
    for heading in chrome:
        if section:
            break
        if not _SEPARATOR.match(heading):
            section = _section_from_heading(heading)
            break

    if not paragraphs and not title:
        raise ReadError(source.path, "no article text found")
    yield make_article(
        source,
        title=title,
        body="\n".join(paragraphs),
        date=date,
        format=NAME,
        section=section,
        byline=byline,
        dateline=dateline_text,
    )
