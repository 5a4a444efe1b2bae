"""Rendering: spans become styles only at the edge; untrusted text never acts as markup or escapes."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from rich.console import Console

from searchkit.models import Article, Hit, ParsedDate, Results, Snippet
from searchkit.render import (
    CSV_COLUMNS,
    json_line,
    render_article_text,
    render_notes,
    render_results_text,
    render_stats_text,
    render_suggestion,
    render_timeline_text,
    results_csv_rows,
    stdout_console,
    styled,
    timeline_dict,
    wants_color,
    write_results,
)
from searchkit.searcher import IndexStats

NASTY_TITLE = "[bold red]Breaking[/bold red] \x1b[31mred alert\x1b[0m \x9b31m news"
NASTY_BODY = "Peace in the Indo-Pacific [region]. \x1b]0;pwned\x07Title change [link=http://x]here[/link]."


def nasty_results() -> Results:
    body_snippet = Snippet(NASTY_BODY, ((13, 25),))  # "Indo-Pacific"
    hit = Hit(
        id="tricky/markup.txt",
        rank=1,
        score=3.14159,
        title=NASTY_TITLE,
        date="2025-03-30T08:00:00+09:00",
        source="Wire",
        section="World",
        url="https://example.org/x",
        path="/archive/tricky/markup.txt",
        snippets=(body_snippet,),
        title_highlights=((11, 19),),  # "Breaking"
    )
    return Results(query="[bold]breaking[/bold]", total=1, page=1, hits=(hit,), suggestion=None, elapsed=0.012)


def recording_console(*, color: bool = True) -> Console:
    # As `stdout_console` makes it for a terminal: colour, or NO_COLOR (styles without colours).
    return Console(file=io.StringIO(), force_terminal=True, color_system="standard",
                   no_color=not color, width=200, highlight=False, markup=False, emoji=False)


def output_of(console: Console) -> str:
    return console.file.getvalue()  # type: ignore[attr-defined]


def assert_no_raw_escapes(text: str) -> None:
    assert "\x1b[31m" not in text and "\x1b]0;" not in text and "\x07" not in text and "\x9b" not in text
    assert "pwned" not in text  # the whole OSC sequence went, not just its ESC


def test_markup_in_titles_and_bodies_prints_as_written() -> None:
    console = recording_console(color=False)
    render_results_text(nasty_results(), console)
    plain = Console(file=io.StringIO(), width=200)
    render_results_text(nasty_results(), plain)
    text = output_of(plain)
    assert "[bold red]Breaking[/bold red]" in text
    assert "Indo-Pacific [region]" in text
    assert "[link=http://x]here[/link]" in text
    assert "[bold]breaking[/bold]" in text  # the query, in the header
    assert_no_raw_escapes(text)
    assert_no_raw_escapes(output_of(console).replace("\x1b[1m", "").replace("\x1b[0m", "").replace("\x1b[7m", ""))


def test_plain_output_has_no_escape_sequences_at_all() -> None:
    stream = io.StringIO()
    write_results(nasty_results(), "text", color="auto", stream=stream)
    assert "\x1b" not in stream.getvalue()
    assert "red alert" in stream.getvalue()


def test_highlights_are_styles_applied_to_spans() -> None:
    text = styled("the joint headquarters", ((4, 9), (10, 22)))
    assert text.plain == "the joint headquarters"
    assert [(s.start, s.end) for s in text.spans] == [(4, 9), (10, 22)]


def test_spans_survive_stripping_control_characters_before_them() -> None:
    raw = "\x1b[31mred\x1b[0m joint"
    text = styled(raw, ((raw.index("joint"), len(raw)),))
    assert text.plain == "red joint"
    assert [text.plain[s.start : s.end] for s in text.spans] == ["joint"]


def test_highlights_are_visible_without_colour() -> None:
    console = recording_console(color=False)
    console.print(styled("the joint plan", ((4, 9),)))
    out = output_of(console)
    assert "\x1b[1;7m" in out or ("\x1b[1m" in out and "7m" in out)  # bold + reverse
    assert "\x1b[33" not in out  # but no colour


def test_highlights_use_colour_when_allowed() -> None:
    console = recording_console(color=True)
    console.print(styled("the joint plan", ((4, 9),)))
    assert "33" in output_of(console)


@pytest.mark.parametrize(
    ("choice", "tty", "no_color", "expected"),
    [
        ("auto", True, "", True),
        ("auto", True, "1", False),
        ("auto", False, "", None),
        ("never", True, "", False),
        ("never", False, "", None),
        ("always", False, "", True),
        ("always", True, "1", True),  # an explicit flag beats the environment
    ],
)
def test_colour_decision(choice: str, tty: bool, no_color: str, expected: bool | None) -> None:
    assert wants_color(choice, tty, {"NO_COLOR": no_color} if no_color else {}) is expected


def test_stdout_console_follows_the_decision() -> None:
    piped = stdout_console("auto", io.StringIO())
    assert not piped.is_terminal
    forced = stdout_console("always", io.StringIO())
    assert forced.is_terminal and forced.color_system is not None


def test_json_is_one_object_with_the_documented_keys() -> None:
    stream = io.StringIO()
    write_results(nasty_results(), "json", stream=stream)
    (line,) = stream.getvalue().splitlines()
    data = json.loads(line)
    assert list(data) == ["query", "total", "page", "hits", "suggestion"]
    assert data["hits"][0]["title"] == NASTY_TITLE  # exact data, escapes and all, as JSON escapes
    assert "\x1b" not in line and "\x9b" not in line  # … so the raw line is safe to print


def test_json_line_escapes_what_terminals_obey_and_json_leaves_raw() -> None:
    data = {"t": "a\x9bb\u202ec\x7f"}
    line = json_line(data)
    assert "\\u009b" in line and "\\u202e" in line and "\\u007f" in line
    assert json.loads(line) == data


def test_jsonl_is_one_hit_per_line() -> None:
    results = nasty_results()
    stream = io.StringIO()
    write_results(results, "jsonl", stream=stream)
    lines = stream.getvalue().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [h.id for h in results.hits]


def test_csv_is_one_row_per_hit_without_control_characters() -> None:
    stream = io.StringIO()
    write_results(nasty_results(), "csv", stream=stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["title"] == "[bold red]Breaking[/bold red] red alert  news"  # the one-byte CSI went whole
    assert row["rank"] == "1" and row["score"] == "3.1416"
    assert_no_raw_escapes(stream.getvalue())
    assert results_csv_rows(Results("q", 0, 1, ())) == []


def test_notes_and_suggestion_are_plain_lines() -> None:
    console = Console(file=io.StringIO(), width=200)
    results = Results(query="q", total=0, page=1, hits=(), suggestion="[b]fixed\x1b[0m", notes=("searched as plain words",))
    render_notes(results, console)
    render_suggestion(results, console)
    assert output_of(console).splitlines() == ["note: searched as plain words", "Did you mean: [b]fixed ?"]


def test_header_counts_hits() -> None:
    console = Console(file=io.StringIO(), width=200)
    render_results_text(Results(query="nothing", total=0, page=1, hits=()), console)
    assert output_of(console).startswith("0 hits for nothing")


def test_article_text_shows_metadata_and_highlighted_body() -> None:
    article = Article(
        id="a.txt", title="[i]Title[/i]", body="Line one.\nIndo-Pacific [region] \x1b[2J cleared?",
        date=ParsedDate(__import__("datetime").datetime(2025, 3, 30), "day", "dateline"), source="Wire",
        keywords=("x", "y"), path="a.txt", encoding="utf-8", encoding_method="bom",
    )
    console = Console(file=io.StringIO(), width=200)
    render_article_text(article, console, body_spans=((10, 22),))
    out = output_of(console)
    assert out.splitlines()[0] == "[i]Title[/i]"
    assert "Indo-Pacific [region]  cleared?" in out
    assert "Line one.\n" in out  # the body keeps its line breaks
    assert "keywords: x, y" in out and "encoding: utf-8 (bom, 1.00)" in out
    assert_no_raw_escapes(out)
    assert "\x1b[2J" not in out


def test_stats_text() -> None:
    stats = IndexStats("ix", 3, "2025-01-01T00:00:00+00:00", "2025-03-01T00:00:00+00:00", 1,
                       {"Wire": 2, "[red]x[/red]": 1}, {"(none)": 3}, {"en": 3}, {"utf-8": 3}, 2048, 1)
    console = Console(file=io.StringIO(), width=100)
    render_stats_text(stats, console, top=1)
    out = output_of(console)
    assert "documents: 3" in out and "2025-01-01 → 2025-03-01" in out and "(1 undated)" in out
    assert "2.0 KB" in out and "… 1 more" in out
    assert "phrase pairs" not in out  # a backend without pair lists says nothing of them


def test_stats_text_tells_of_phrase_pairs_and_advises_them_for_a_large_index() -> None:
    def shown(**pairs: Any) -> str:
        stats = IndexStats("ix [b]dir[/b]\x1b[2J", 60_000, None, None, 0, {}, {}, {}, {}, 1, 1, **pairs)
        console = Console(file=io.StringIO(), width=200)
        render_stats_text(stats, console)
        return output_of(console)

    assert "phrase pairs: 1,024 common words" in shown(phrase_pairs=1024)
    plain = shown(phrase_pairs=0)
    assert "phrase pairs: none" in plain and "--rebuild" not in plain
    advised = shown(phrase_pairs=0, phrase_pairs_advised=True)
    assert "searchkit index PATHS --index 'ix [b]dir[/b]" in advised and "--rebuild --phrase-pairs" in advised
    assert_no_raw_escapes(advised)


def test_timeline_chart_and_data() -> None:
    series = [("2025-01", 4), ("2025-02", 0), ("2025-03", 2)]
    console = Console(file=io.StringIO(), width=60)
    render_timeline_text("budget [x]", "month", series, console)
    lines = output_of(console).splitlines()
    assert lines[0] == "6 dated articles for budget [x], by month"
    assert lines[1].startswith("2025-01") and lines[1].rstrip().endswith("4")
    assert lines[1].count("█") > lines[3].count("█") > 0 == lines[2].count("█")
    assert timeline_dict("budget", "month", series) == {
        "query": "budget", "by": "month", "total": 6,
        "periods": [{"period": "2025-01", "count": 4}, {"period": "2025-02", "count": 0}, {"period": "2025-03", "count": 2}],
    }
