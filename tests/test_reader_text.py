"""The scraped-text-page reader: headline, caption, dateline, body, and site chrome kept out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import shared_path
from searchkit.errors import ReadError
from searchkit.models import Decoded, Source
from searchkit.readers import reader_for, text


def read_one(page: str, path: str = "page.txt"):
    source = Source(path, Decoded(page, "utf-8", 1.0, "utf-8"))
    items = list(text.read(page, source))
    assert len(items) == 1
    return items[0]


PAGE_WITH_CHROME = """Harbour Council Approves New Ferry Timetable After Long Debate

Commuters wait at the north pier on Tuesday morning.
09:05 JST, April 2, 2025
The harbour council voted on Tuesday to approve a new ferry timetable for the spring season.
Councillors said the change would shorten waiting times at the north pier by ten minutes.
"Business" MOST READ
-
Bakery Chain Opens Its Hundredth Shop in the Suburbs
-
Steel Prices Climb for a Third Straight Week
TRENDING NOW
-
Night Market Returns to the Riverside After Repairs
"""


def test_scraped_page_splits_title_caption_date_body_and_chrome() -> None:
    article = read_one(PAGE_WITH_CHROME)
    assert article.title == "Harbour Council Approves New Ferry Timetable After Long Debate"
    assert article.date is not None
    assert article.date.value == datetime(2025, 4, 2, 9, 5, tzinfo=timezone(timedelta(hours=9)))
    assert article.date.isoformat() == "2025-04-02T09:05:00+09:00"
    assert article.date.source == "dateline"
    assert article.section == "Business"
    assert article.body.startswith("The harbour council voted")
    assert "north pier by ten minutes" in article.body
    for junk in ("Bakery Chain", "Steel Prices", "Night Market", "MOST READ", "TRENDING"):
        assert junk not in article.body
    # The caption is kept as searchable text, after the story.
    assert article.body.endswith("Commuters wait at the north pier on Tuesday morning.")
    assert article.format == "text"
    assert article.id == "page.txt"


def test_page_without_caption_or_chrome_and_other_date_style() -> None:
    page = (
        "Library Extends Weekend Opening Hours\n"
        "April 3, 2025 at 6:15 a.m. EDT\n"
        "By Mara Lind\n"
        "The city library will stay open until nine on Saturdays from next month.\n"
        "Staff numbers will rise to cover the longer hours.\n"
    )
    article = read_one(page)
    assert article.title == "Library Extends Weekend Opening Hours"
    assert article.date is not None and article.date.isoformat() == "2025-04-03T06:15:00-04:00"
    assert article.byline == "Mara Lind"
    assert article.body.splitlines() == [
        "The city library will stay open until nine on Saturdays from next month.",
        "Staff numbers will rise to cover the longer hours.",
    ]
    assert article.section == ""


def test_page_with_no_dateline_keeps_everything_after_the_title() -> None:
    article = read_one("Short Notice\nThe meeting moved to Thursday.\nBring the minutes of March 2024.\n")
    assert article.date is None
    assert article.body == "The meeting moved to Thursday.\nBring the minutes of March 2024."


def test_headline_mentioning_a_month_is_not_a_dateline() -> None:
    page = "Farmers Expect Early Harvest in March 2025\nGrowers in the valley said the warm winter helped.\n"
    article = read_one(page)
    assert article.title.startswith("Farmers Expect")
    assert article.date is None
    assert "Growers" in article.body


def test_empty_page_is_a_read_error() -> None:
    with pytest.raises(ReadError):
        read_one("\n \n\t\n")


def test_txt_files_go_to_this_reader_and_unknown_suffixes_are_not_sniffed_as_text() -> None:
    assert reader_for("a/b/page.TXT", "anything") is text
    assert reader_for("notes.md", "Just some notes") is None


@pytest.mark.shared
def test_seed_page() -> None:
    seed = shared_path("seeds", "000_dd111037f3b2551f.txt")
    page = seed.read_text(encoding="utf-8")
    article = read_one(page, seed.name)
    assert article.title == page.splitlines()[0].strip()
    assert article.date is not None and article.date.isoformat() == "2025-03-30T17:24:00+09:00"
    assert article.section == "Politics"
    assert "Akasaka Press Center" in article.body
    for heading in ("POPULAR ARTICLE", "ACCESS RANKING", "Keidanren", "NISA", "Takaichi", "Rare Earths"):
        assert heading not in article.body
    # The quote with square brackets survives as text.
    assert "Indo-Pacific [region]" in article.body
