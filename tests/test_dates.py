"""Dates: every style in, one datetime out, with precision, source and plausibility."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from searchkit.dates import index_value, parse_date, parse_dateline

JST = timezone(timedelta(hours=9))


@pytest.mark.parametrize(
    ("text", "iso", "precision"),
    [
        ("17:24 JST, March 30, 2025", "2025-03-30T17:24:00+09:00", "minute"),
        ("April 3, 2025 at 6:15 a.m. EDT", "2025-04-03T06:15:00-04:00", "minute"),
        ("Mon, 30 Mar 2025 17:24:00 +0900", "2025-03-30T17:24:00+09:00", "second"),
        ("2025-03-30T08:24:00Z", "2025-03-30T08:24:00+00:00", "second"),
        ("26-FEB-1987 15:01:01.79", "1987-02-26T15:01:01.790000", "second"),
        ("2025年3月31日 10:00 JST", "2025-03-31T10:00:00+09:00", "minute"),
        ("March 30, 2025", "2025-03-30T00:00:00", "day"),
        ("2025-03", "2025-03-01T00:00:00", "month"),
        ("2025", "2025-01-01T00:00:00", "year"),
    ],
)
def test_date_styles(text: str, iso: str, precision: str) -> None:
    parsed = parse_date(text, "test")
    assert parsed is not None
    assert parsed.isoformat() == iso
    assert parsed.precision == precision
    assert parsed.implausible is False


def test_impossible_and_implausible_dates_are_kept_flagged_never_raised() -> None:
    feb31 = parse_date("31-FEB-1987 10:00:00.00", "sgml:DATE")
    assert feb31 is not None and feb31.value == datetime(1987, 2, 1) and feb31.implausible
    assert parse_date("9999-12-31", "x").implausible  # type: ignore[union-attr]
    assert parse_date(0, "x").implausible  # type: ignore[union-attr]  # the Unix epoch: a null in disguise
    assert parse_date("0000-01-01", "x") is None  # no datetime holds year 0
    assert parse_date("not a date at all", "x") is None
    assert parse_date("", "x") is None and parse_date(None, "x") is None


def test_epoch_seconds_and_milliseconds() -> None:
    assert parse_date(1743323040, "json").isoformat() == "2025-03-30T08:24:00+00:00"  # type: ignore[union-attr]
    assert parse_date("1743323040000", "json").isoformat() == "2025-03-30T08:24:00+00:00"  # type: ignore[union-attr]


def test_a_dateline_must_be_a_date_and_nothing_else() -> None:
    assert parse_dateline("17:24 JST, March 30, 2025") is not None
    assert parse_dateline("Nakatani and Hegseth met on March 30, 2025") is None
    assert parse_dateline("March 2025") is None  # too vague for a dateline
    assert parse_dateline("Talks resume in Geneva") is None


def test_index_value_is_naive_utc() -> None:
    parsed = parse_date("17:24 JST, March 30, 2025", "x")
    assert parsed is not None
    assert index_value(parsed) == datetime(2025, 3, 30, 8, 24)
    assert parsed.value.tzinfo is not None and parsed.value.utcoffset() == JST.utcoffset(None)
