"""Every date in, one datetime out, with its precision and where it came from.

Readers hand in whatever the source offers: a dateline such as `17:24 JST, March 30, 2025`,
an ISO 8601 stamp from a meta tag, a wire-service `26-FEB-1987 15:01:01.79`, a Unix epoch in a
JSON dump. python-dateutil does the parsing; this module adds what news needs on top of it:
time-zone abbreviations as newsrooms write them, the precision the text actually gave (a date
with no day is a month, not the first of the month), and a flag for dates that are impossible
or implausible (31-FEB-1987, year 9999, the epoch) which are kept rather than crashing the run.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .models import ParsedDate

# Abbreviations as they appear in datelines. Ambiguous ones take the reading newsrooms use most
# (CST = US Central, IST = India).
_ZONES_HOURS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 1, "BST": 1,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "IST": 5.5, "PKT": 5, "ICT": 7, "WIB": 7, "HKT": 8, "SGT": 8, "PHT": 8, "AWST": 8,
    "JST": 9, "KST": 9, "ACST": 9.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3,
}
TZINFOS = {name: timezone(timedelta(hours=hours), name) for name, hours in _ZONES_HOURS.items()}

# Two defaults that differ in every field: whatever differs between the two parses was absent
# from the text, which tells the precision.
_DEFAULT_A = datetime(2001, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(2002, 2, 2, 1, 1, 1)

_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december"
)
_MONTH_NAME = re.compile(rf"\b({_MONTHS})\b\.?", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[6-9]\d\d|2\d\d\d|\d{4})(?!\d)")
_MONTH_NUMBERS = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for name in names}

EARLIEST_PLAUSIBLE_YEAR = 1800

# East Asian dates, 2025年3月31日 (the day is optional), read as ISO before dateutil sees them.
_CJK_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")


def _cjk_date_to_iso(match: re.Match[str]) -> str:
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}" + (f"-{int(day):02d} " if day else " ")


def is_implausible(value: datetime) -> bool:
    """Dates no news archive holds: before 1800, after next year, or exactly the Unix epoch."""
    if value.year < EARLIEST_PLAUSIBLE_YEAR or value.year > datetime.now().year + 1:
        return True
    naive = value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(timezone.utc).replace(tzinfo=None)
    return naive == datetime(1970, 1, 1)


def _precision(a: datetime, b: datetime) -> str | None:
    if a.year != b.year:
        return None  # no year in the text: too vague to index as a date
    if a.month != b.month:
        return "year"
    if a.day != b.day:
        return "month"
    if a.hour != b.hour:
        return "day"
    if a.second != b.second and a.minute == b.minute:
        return "minute"
    if a.minute != b.minute:
        return "day"
    return "second"


def from_epoch(seconds: float, source: str) -> ParsedDate | None:
    """A Unix timestamp (seconds, or milliseconds when it is too large to be seconds)."""
    if seconds > 1e11:
        seconds /= 1000.0
    try:
        value = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return ParsedDate(value, "second", source, is_implausible(value))


def parse_date(text: str | float | int | None, source: str, *, dayfirst: bool = False) -> ParsedDate | None:
    """Parse one date as written in an article or its metadata; None when it holds no usable date.

    Never raises on bad input: an impossible day (31-FEB-1987) falls back to the month it names,
    flagged implausible.
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return from_epoch(float(text), source)
    text = text.strip()
    if not text or len(text) > 200:
        return None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        return from_epoch(float(text), source)
    text = _CJK_DATE.sub(_cjk_date_to_iso, text)
    # Imported here: only reading articles parses dates this way, and dateutil costs a query
    # process (which imports this module through the schema) ~10 ms at start-up.
    from dateutil import parser as _dateutil_parser

    try:
        a = _dateutil_parser.parse(text, default=_DEFAULT_A, tzinfos=TZINFOS, dayfirst=dayfirst)
        b = _dateutil_parser.parse(text, default=_DEFAULT_B, tzinfos=TZINFOS, dayfirst=dayfirst)
    except (ValueError, OverflowError, TypeError, _dateutil_parser.ParserError) as error:
        return _month_fallback(text, source) if "out of range" in str(error) else None
    precision = _precision(a, b)
    if precision is None:
        return None
    if precision in ("year", "month"):
        a = a.replace(tzinfo=None) if a.tzinfo is None else a
    return ParsedDate(a, precision, source, is_implausible(a))


def _month_fallback(text: str, source: str) -> ParsedDate | None:
    """Rescue the month and year from a date whose day is impossible, such as 31-FEB-1987."""
    month = _MONTH_NAME.search(text)
    year = _YEAR.search(text)
    if not month or not year:
        return None
    number = _MONTH_NUMBERS.get(month.group(1).lower())
    try:
        value = datetime(int(year.group(1)), number or 1, 1)
    except ValueError:
        return None  # year 0 and friends: no datetime can hold them
    return ParsedDate(value, "month", source, implausible=True)


_DATELINE_HINT = re.compile(rf"\d{{4}}|\b\d{{1,2}}:\d\d\b|{_MONTH_NAME.pattern}", re.IGNORECASE)


def parse_dateline(line: str, source: str = "dateline") -> ParsedDate | None:
    """A line that is a date and nothing else (e.g. `17:24 JST, March 30, 2025`), else None.

    Stricter than `parse_date`: the line must be short, name a year, and give at least a day, so
    that a headline mentioning "March" is not mistaken for a dateline.
    """
    line = line.strip().strip("|·-–— ")
    if not line or len(line) > 64 or not _YEAR.search(line) or not _DATELINE_HINT.search(line):
        return None
    # Words that are not date words mean this is a sentence, not a dateline.
    for word in re.findall(r"[A-Za-z]+", line):
        lowered = word.lower()
        if lowered in _MONTH_NUMBERS or word.upper() in TZINFOS or lowered in _DATE_WORDS:
            continue
        return None
    parsed = parse_date(line, source)
    if parsed is None or parsed.precision in ("year", "month"):
        return None
    return parsed


_DATE_WORDS = {
    "am", "pm", "a", "p", "m", "on", "at", "of", "the", "updated", "published", "posted",
    "t", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "st", "nd", "rd", "th",
}


def index_value(parsed: ParsedDate) -> datetime:
    """The naive UTC datetime Whoosh stores and sorts on; a date with no zone is taken as UTC."""
    value = parsed.value
    if value.tzinfo is not None:
        try:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:
            # 9999-12-31 west of UTC, or 0001-01-01 east of it: past datetime's range once in UTC.
            value = datetime.max if value.year > 1 else datetime.min
    return value
