"""The query-side commands as a user runs them: stdout (data) and stderr (talk) asserted apart."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_fixtures import ARTICLES, standard_index
from typer.testing import CliRunner

from searchkit.cli import app
from searchkit.schema import SCHEMA_VERSION

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standard_index(tmp_path_factory.mktemp("query-cli"))


def run(index_dir: Path | None, *args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    argv = [*args, "--index", str(index_dir)] if index_dir is not None else list(args)
    return runner.invoke(app, argv, input=input, env=env)


def jsonl(text: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in text.splitlines()]


# --- query: formats ---------------------------------------------------------------------------------


def test_text_output_for_a_person(index_dir: Path) -> None:
    result = run(index_dir, "query", "joint headquarters")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3 hits for joint headquarters")
    assert "  1. Ministers agree on joint headquarters for allied forces" in lines
    assert any("2025-03-30 · Daily Ledger / Politics · score" in line and "politics/joint-hq.txt" in line for line in lines)
    assert any("joint headquarters next year" in line for line in lines)
    assert "\x1b" not in result.stdout  # not a terminal: no styling codes
    assert result.stderr == ""


def test_json_output_is_one_documented_object(index_dir: Path) -> None:
    for args in (["--format", "json"], ["--json"], ["-f", "JSON"]):
        result = run(index_dir, "query", "joint headquarters", *args)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert list(data) == ["query", "total", "page", "hits", "suggestion"]
        assert data["total"] == 3 and data["page"] == 1 and data["suggestion"] is None
        hit = data["hits"][0]
        assert hit["id"] == "politics/joint-hq.txt" and hit["rank"] == 1
        assert list(hit) == ["id", "rank", "score", "title", "date", "source", "section", "url", "path", "snippets"]
        snippet = hit["snippets"][0]
        assert {snippet["text"][a:b].lower() for a, b in snippet["highlights"]} <= {"joint", "headquarters"}
        assert result.stderr == ""


def test_jsonl_output_is_one_hit_per_line(index_dir: Path) -> None:
    result = run(index_dir, "query", "joint headquarters", "--format", "jsonl")
    assert result.exit_code == 0
    assert [h["rank"] for h in jsonl(result.stdout)] == [1, 2, 3]


def test_csv_output_is_one_row_per_hit(index_dir: Path) -> None:
    result = run(index_dir, "query", "joint headquarters", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows][0] == "politics/joint-hq.txt"
    assert len(rows) == 3 and rows[0]["query"] == "joint headquarters"


def test_color_always_styles_highlights_and_never_does_not(index_dir: Path) -> None:
    coloured = run(index_dir, "query", "joint", "--color", "always")
    assert "\x1b[" in coloured.stdout
    plain = run(index_dir, "query", "joint", "--color", "never")
    assert "\x1b" not in plain.stdout


def test_no_color_environment_is_respected(index_dir: Path) -> None:
    result = run(index_dir, "query", "joint", env={"NO_COLOR": "1"})
    assert "\x1b" not in result.stdout


# --- untrusted text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "csv"])
def test_markup_and_escape_sequences_in_articles_never_reach_output_raw(index_dir: Path, fmt: str) -> None:
    for color in ("never", "always"):
        result = run(index_dir, "query", "volcano OR breaking", "--format", fmt, "--color", color)
        assert result.exit_code == 0
        out = result.stdout
        assert "\x1b[31m" not in out and "\x1b]0;" not in out and "\x07" not in out
        if fmt == "text":
            visible = re.sub(r"\x1b\[[0-9;]*m", "", out)  # our own styling codes removed
            assert "[bold red]Breaking[/bold red] red alert news" in visible
            assert "\x1b" not in visible and "pwned" not in visible
        else:
            assert "[bold red]Breaking[/bold red]" in out  # JSON/CSV carry the title as data


def test_square_brackets_print_as_written(index_dir: Path) -> None:
    result = run(index_dir, "query", "Indo-Pacific", "--color", "always")
    assert result.exit_code == 0
    assert "Indo-Pacific" in result.stdout and "[region]" in result.stdout
    plain = run(index_dir, "query", "Indo-Pacific")
    assert "Indo-Pacific [region]" in plain.stdout


def test_markup_in_the_query_is_printed_as_text(index_dir: Path) -> None:
    result = run(index_dir, "query", "[bold]volcano[/bold]")
    assert re.match(r"\d+ hits? for \[bold\]volcano\[/bold\]  \(", result.stdout)


# --- exit codes ----------------------------------------------------------------------------------------


def test_exit_1_when_nothing_matches(index_dir: Path) -> None:
    result = run(index_dir, "query", "zzqxv")
    assert result.exit_code == 1
    assert result.stdout.startswith("0 hits for zzqxv")
    assert result.stderr == ""
    assert json.loads(run(index_dir, "query", "zzqxv", "--json").stdout)["total"] == 0


def test_exit_2_without_an_index(tmp_path: Path) -> None:
    result = run(tmp_path / "missing", "query", "joint")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error: no searchkit index in" in result.stderr
    assert "searchkit index PATH" in result.stderr


def test_exit_2_for_a_bad_date_clause_with_a_pointer(index_dir: Path) -> None:
    result = run(index_dir, "query", "joint date:2025-13")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: cannot read the date clause `date:2025-13`")
    assert lines[1] == "  joint date:2025-13"
    assert lines[2] == "        ^^^^^^^^^^^^"


@pytest.mark.parametrize(
    "args",
    [
        ["query", "joint", "--sort", "random"],
        ["query", "joint", "--limit", "0"],
        ["query", "joint", "--page", "0"],
        ["query", "joint", "--format", "xml"],
        ["query", "joint", "--color", "sometimes"],
        ["query", "joint", "--since", "yesterday"],
        ["query", "joint", "--since", "2025", "--until", "2024"],
        ["query", "joint", "--no-such-option"],
        ["query"],
        ["query", ""],
        ["timeline", "joint", "--by", "week"],
    ],
)
def test_exit_2_for_bad_options(index_dir: Path, args: list[str]) -> None:
    result = run(index_dir, *args)
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert "Error" in result.stderr or "Usage" in result.stderr


def test_exit_130_when_interrupted(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import searcher

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(searcher.SearchIndex, "search", interrupted)
    result = run(index_dir, "query", "joint")
    assert result.exit_code == 130
    assert result.stdout == ""
    assert result.stderr == "Interrupted.\n"


def test_closed_pipe_exits_quietly(index_dir: Path) -> None:
    # `show` of a 100K-character article overfills the pipe, so the write after `head` leaves fails.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "show", "long/deep.txt", "--index", str(index_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert stderr == ""


# --- query: syntax, filters, sorting, paging, suggestions --------------------------------------------------


@pytest.mark.parametrize("query", ['"unclosed joint', "(joint", "joint AND", "joint^", "NOT AND joint", "} NOT OR joint"])
def test_broken_queries_still_search(index_dir: Path, query: str) -> None:
    result = run(index_dir, "query", query, "--format", "jsonl")
    assert result.exit_code == 0
    assert "politics/joint-hq.txt" in {h["id"] for h in jsonl(result.stdout)}


def test_a_fallback_is_noted_on_stderr_only(index_dir: Path) -> None:
    result = run(index_dir, "query", "NOT AND joint", "--format", "json")
    assert result.exit_code == 0
    json.loads(result.stdout)
    assert result.stderr.startswith("note: the query did not parse")


def test_phrase_and_exclusion(index_dir: Path) -> None:
    phrase = run(index_dir, "query", '"joint headquarters"', "--format", "jsonl")
    assert [h["id"] for h in jsonl(phrase.stdout)] == ["politics/joint-hq.txt"]
    excluded = run(index_dir, "query", "joint -academy", "--format", "jsonl")
    assert [h["id"] for h in jsonl(excluded.stdout)] == ["politics/joint-hq.txt"]


def test_filters(index_dir: Path) -> None:
    def found(*args: str) -> set[str]:
        return {h["id"] for h in jsonl(run(index_dir, "query", "*", "-n", "50", "--format", "jsonl", *args).stdout)}

    assert found("--since", "2025", "--until", "2025-02") == {"politics/headquarters-move.txt", "world/japanese.txt"}
    assert found("--source", "daily ledger") == {"politics/joint-hq.txt", "politics/headquarters-move.txt"}
    assert found("--section", "politics") == {"politics/joint-hq.txt", "feeds/wire.jsonl#7"}
    assert found("--lang", "ja") == {"world/japanese.txt"}
    assert found("--since", "100y") == {a.id for a in ARTICLES if a.date}


def test_sorting_and_paging(index_dir: Path) -> None:
    newest = jsonl(run(index_dir, "query", "*", "--sort", "newest", "-n", "3", "--format", "jsonl").stdout)
    assert [h["id"] for h in newest] == ["politics/joint-hq.txt", "feeds/wire.jsonl#7", "politics/headquarters-move.txt"]
    oldest_page2 = jsonl(run(index_dir, "query", "*", "--sort", "oldest", "-n", "3", "--page", "2", "--format", "jsonl").stdout)
    assert [h["rank"] for h in oldest_page2] == [4, 5, 6]
    assert oldest_page2[0]["id"] == "sport/joint-venture.txt"  # 2021, 2022, 2023 are on page 1
    beyond = run(index_dir, "query", "*", "--page", "50", "--format", "json")
    assert beyond.exit_code == 1
    assert json.loads(beyond.stdout)["hits"] == []


def test_did_you_mean(index_dir: Path) -> None:
    result = run(index_dir, "query", "jont hedquarters")
    assert result.exit_code == 1
    assert result.stderr == "Did you mean: joint headquarters ?\n"
    data = json.loads(run(index_dir, "query", "jont hedquarters", "--json").stdout)
    assert data["suggestion"] == "joint headquarters"


def test_cjk_query(index_dir: Path) -> None:
    result = run(index_dir, "query", "日本語", "--format", "json")
    assert result.exit_code == 0
    hit = json.loads(result.stdout)["hits"][0]
    assert hit["id"] == "world/japanese.txt"
    snippet = hit["snippets"][0]
    assert [snippet["text"][a:b] for a, b in snippet["highlights"]] == ["日本語"]


def test_stems_and_deep_matches_are_highlighted(index_dir: Path) -> None:
    talks = json.loads(run(index_dir, "query", "talks", "--json").stdout)["hits"][0]
    assert {s["text"][a:b] for s in talks["snippets"] for a, b in s["highlights"]} == {"talked", "talks", "talking"}
    deep = json.loads(run(index_dir, "query", "treasure", "--json").stdout)["hits"][0]
    assert deep["snippets"][0]["text"] == "At the very end the committee found a sunken treasure chest."


# --- batch ---------------------------------------------------------------------------------------------


def test_batch_from_stdin_is_json_lines_tagged_with_queries(index_dir: Path) -> None:
    result = run(index_dir, "query", "--batch", "-", input="joint headquarters\n\nzzqxv\n日本語\n")
    assert result.exit_code == 0
    lines = jsonl(result.stdout)
    assert [line["query"] for line in lines] == ["joint headquarters", "zzqxv", "日本語"]
    assert [line["total"] for line in lines] == [3, 0, 1]
    assert result.stderr == ""


def test_batch_from_a_file_as_hits(index_dir: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("joint\nbudget\n", encoding="utf-8")
    result = run(index_dir, "query", "--batch", str(queries), "--format", "jsonl")
    assert result.exit_code == 0
    assert [(h["query"], h["rank"]) for h in jsonl(result.stdout)] == [("joint", 1), ("joint", 2), ("budget", 1)]
    as_csv = list(csv.DictReader(io.StringIO(run(index_dir, "query", "--batch", str(queries), "--format", "csv").stdout)))
    assert [r["query"] for r in as_csv] == ["joint", "joint", "budget"]


def test_batch_exit_codes(index_dir: Path, tmp_path: Path) -> None:
    assert run(index_dir, "query", "--batch", "-", input="zzqxv\n").exit_code == 1
    bad = run(index_dir, "query", "--batch", "-", input="date:2025-13\njoint\n")
    assert bad.exit_code == 2
    first, second = jsonl(bad.stdout)
    assert first["query"] == "date:2025-13" and "date:2025-13" in first["error"]
    assert second["total"] == 2
    assert "Error: date:2025-13" in bad.stderr
    missing = run(index_dir, "query", "--batch", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "cannot read the batch file" in missing.stderr


# --- show, stats, similar, timeline --------------------------------------------------------------------------


def test_show_text_and_json(index_dir: Path) -> None:
    text = run(index_dir, "show", "politics/joint-hq.txt", "--highlight", "joint headquarters")
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0] == "Ministers agree on joint headquarters for allied forces"
    assert "Indo-Pacific [region]" in text.stdout
    data = json.loads(run(index_dir, "show", "politics/joint-hq.txt", "--highlight", "joint headquarters", "--format", "json").stdout)
    assert data["id"] == "politics/joint-hq.txt" and data["date"] == "2025-03-30T08:00:00+09:00"
    assert {data["body"][a:b] for a, b in data["highlights"]} == {"joint", "headquarters"}
    assert [data["title"][a:b] for a, b in data["title_highlights"]] == ["joint", "headquarters"]
    plain = json.loads(run(index_dir, "show", "feeds/wire.jsonl#7", "--json").stdout)
    assert plain["record_key"] == "7" and "highlights" not in plain


def test_show_escapes_the_body(index_dir: Path) -> None:
    result = run(index_dir, "show", "tricky/markup.txt", "--color", "always")
    assert result.exit_code == 0
    assert "[link=http://evil.example]a link[/link]" in result.stdout
    assert "\x1b]0;" not in result.stdout and "pwned" not in result.stdout


def test_show_unknown_id(index_dir: Path) -> None:
    result = run(index_dir, "show", "no/such.txt")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no article with id 'no/such.txt'" in result.stderr


def test_stats_text_and_json(index_dir: Path) -> None:
    text = run(index_dir, "stats")
    assert text.exit_code == 0
    assert "documents: 9" in text.stdout and "2021-12-31 → 2025-03-29" in text.stdout
    data = json.loads(run(index_dir, "stats", "--format", "json").stdout)
    assert data["documents"] == 9 and data["languages"] == {"en": 8, "ja": 1} and data["schema_version"] == SCHEMA_VERSION
    assert run(index_dir.parent / "nothing", "stats").exit_code == 2


def test_similar(index_dir: Path) -> None:
    result = run(index_dir, "similar", "politics/joint-hq.txt", "--format", "jsonl")
    assert result.exit_code == 0
    found = [h["id"] for h in jsonl(result.stdout)]
    assert found and "politics/joint-hq.txt" not in found
    assert run(index_dir, "similar", "politics/joint-hq.txt").stdout.startswith(f"{len(found)} hits for similar:")
    unknown = run(index_dir, "similar", "no/such.txt")
    assert unknown.exit_code == 2 and "no article with id" in unknown.stderr


def test_timeline_formats(index_dir: Path) -> None:
    chart = run(index_dir, "timeline", "*", "--by", "year")
    assert chart.exit_code == 0
    lines = chart.stdout.splitlines()
    assert lines[0] == "8 dated articles for *, by year"
    assert lines[-1].startswith("2025") and lines[-1].rstrip().endswith("4")
    data = json.loads(run(index_dir, "timeline", "joint", "--by", "month", "--format", "json").stdout)
    assert data["total"] == 2 and data["periods"][0] == {"period": "2024-09", "count": 1}
    rows = list(csv.reader(io.StringIO(run(index_dir, "timeline", "budget", "--by", "day", "--format", "csv").stdout)))
    assert rows == [["period", "count"], ["2025-03-02", "1"]]
    empty = run(index_dir, "timeline", "zzqxv")
    assert empty.exit_code == 1 and empty.stdout.startswith("0 dated articles")


# --- help ---------------------------------------------------------------------------------------------------

ALL_COMMANDS = ("index", "doctor", "query", "show", "stats", "similar", "timeline", "cluster")


def test_the_command_list_is_complete() -> None:
    import typer.main

    assert set(typer.main.get_command(app).commands) == set(ALL_COMMANDS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_every_command_and_option_has_help_with_an_example(command: str) -> None:
    import typer.main

    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    for param in click_command.params:
        if param.name == "help":
            continue  # the framework's own
        assert param.help and ("e.g." in param.help or "Example" in param.help), f"{command} {param.name}"


# --- hypothesis: no input escapes as a traceback -------------------------------------------------------------

query_pieces = st.sampled_from(
    list('abcjoint日本語 "\'()[]{}:*?~^+-!\\/&|<>=.,0123456789\x1b\n\t')
    + ["AND", "OR", "NOT", "TO", " AND ", " OR ", " NOT ", "date:", "title:", "lang:", "2025-03", "joint", "headquarters", "~2", "[2025 TO 2024]"]
)
query_text = st.one_of(st.lists(query_pieces, max_size=12).map("".join), st.text(max_size=20))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=query_text)
def test_random_queries_never_escape_the_cli(index_dir: Path, query: str) -> None:
    result = runner.invoke(app, ["query", query, "--index", str(index_dir), "--format", "json"])
    assert result.exit_code in (0, 1, 2), result.stderr
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code in (0, 1):
        json.loads(result.stdout)
    else:
        assert result.stdout == "" and result.stderr.startswith(("Error", "Usage"))


def test_typer_exit_codes_are_what_the_cli_documents() -> None:
    assert typer.Exit(2).exit_code == 2
