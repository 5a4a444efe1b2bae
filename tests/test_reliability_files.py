"""Hostile and broken input files, beside good ones that must still be indexed.

One generated corpus holds every case of issue 5's list; one `searchkit index` run over it must
end with exit 1, every good article indexed, each hostile file either indexed with the right text
or named on stderr with a one-line reason, and nothing from a file reaching stderr as an escape
sequence. `CASES` below is the table docs/reliability.md reports.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

import searchkit.indexer as indexer
from searchkit.cli import app
from searchkit.discover import FoundFile
from searchkit.indexer import IndexOptions, index_paths
from searchkit.storage import open_whoosh

runner = CliRunner()

FRENCH = (
    "Les propriétaires de café ont manifesté mardi devant la mairie. « Nous ne pouvons plus payer », "
    "a déclaré une gérante. Le préfet a reçu une délégation à midi et promis une réponse avant l’été. "
    "Les prix ont augmenté de 5 € en un an.\n"
)
JAPANESE = "東京で防衛大臣が会談し、統合司令部の設置で合意した。ひらがなとカタカナも含む記事である。\n"
ENGLISH = "The harbour council approved the ferry budget on Tuesday after a long debate about fares.\n"


def page(title: str, body: str, dateline: str = "10:00 JST, April 1, 2025") -> str:
    return f"{title}\n\n{dateline}\n{body}\n"


# file name → (what it is, expected outcome): "error: <reason fragment>", "warning: <fragment>",
# or "indexed". Names are relative to the corpus folder.
CASES: dict[str, tuple[str, str]] = {
    "empty.txt": ("empty file", "error: empty file"),
    "image.txt": ("PNG bytes with a .txt name", "error: binary data"),
    "archive.txt": ("gzip bytes with a .txt name", "error: binary data"),
    "paper.html": ("PDF bytes with a .html name", "error: binary data"),
    "nul.txt": ("a title, then NUL bytes", "error: binary data"),
    "broken-utf8.txt": ("UTF-8 with invalid bytes in the middle", "warning: decoded as utf-8 with replacement characters"),
    "mixed/french-cp1252.txt": ("cp1252 French beside UTF-8 and Shift_JIS files", "indexed"),
    "mixed/japanese-sjis.txt": ("Shift_JIS Japanese", "indexed"),
    "mixed/english-utf8.txt": ("UTF-8 English", "indexed"),
    "utf16-no-bom.txt": ("UTF-16 LE without a byte-order mark", "indexed"),
    "too-big.txt": ("9 MB (sparse) over --max-file-size 8", "error: larger than --max-file-size (9 MB > 8 MB)"),
    "one-line.txt": ("a 5 MB single line", "indexed"),
    "deep.html": ("10,000 nested <div>s", "warning: no body text found"),
    "table.html": ("a 5,000-row HTML table", "indexed"),
    "feed.jsonl": ("JSONL: truncated line, array, string, null lines; odd dates; hostile titles", "warning: line 2: not valid JSON"),
    "cut.sgm": ("SGML cut off mid-story", "warning: cut off"),
    "loop.txt": ("a symlink to itself", "error: Too many levels of symbolic links"),
    "ping.txt": ("two symlinks pointing at each other", "error: Too many levels of symbolic links"),
    "pong.txt": ("(the other one)", "error: Too many levels of symbolic links"),
    "sub/up": ("a symlink to the folder above (a folder loop)", "not followed"),
    "caf\\xe9-latin1.txt": ("a file name that is not UTF-8", "indexed"),
    "bad\\xff-empty.txt": ("an empty file whose name is not UTF-8", "error: empty file"),
}
GOOD_IDS = {"good1.txt", "good2.txt", "good.html", "good.jsonl#g1", "good.jsonl#g2"}


def build_corpus(root: Path) -> Path:
    root.mkdir()
    (root / "good1.txt").write_text(page("Harbour Council Approves Budget", ENGLISH))
    (root / "good2.txt").write_text(page("Ferry Service Resumes", "Ferries resumed service across the bay on Monday."))
    (root / "good.html").write_text(
        "<html><head><title>Storm Closes Port</title></head><body><article><h1>Storm Closes Port</h1>"
        + "<p>A winter storm closed the port for two days and stranded forty ships in the bay.</p>" * 3
        + "</article></body></html>"
    )
    (root / "good.jsonl").write_text(
        json.dumps({"id": "g1", "title": "Market Opens", "body": "The new market opened.", "date": "2025-04-01"}) + "\n"
        + json.dumps({"id": "g2", "title": "Bank Merger", "body": "Two banks agreed to merge.", "date": "2025-04-02"}) + "\n"
    )
    (root / "empty.txt").write_bytes(b"")
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (root / "archive.txt").write_bytes(gzip.compress(b"harbour news " * 200))
    (root / "paper.html").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)))
    (root / "nul.txt").write_bytes(b"Title\n\n" + b"\x00" * 600)
    text = page("Café Owners Protest", FRENCH * 4).encode()
    (root / "broken-utf8.txt").write_bytes(text[:300] + b"\xff\xfe\xc3(" + text[300:])
    (root / "mixed").mkdir()
    (root / "mixed" / "french-cp1252.txt").write_bytes(page("Les cafés protestent", FRENCH * 3).encode("cp1252"))
    (root / "mixed" / "japanese-sjis.txt").write_bytes(page("東京で会議が開かれた", JAPANESE * 3, "2025年3月31日").encode("shift_jis"))
    (root / "mixed" / "english-utf8.txt").write_text(page("Rail Strike Ends", ENGLISH * 3))
    (root / "utf16-no-bom.txt").write_bytes(page("Mayor Opens Bridge", "The mayor opened the new bridge on Monday morning.\n" * 3).encode("utf-16-le"))
    with open(root / "too-big.txt", "wb") as handle:
        handle.truncate(9 * 1024 * 1024)  # sparse: no disk, and never read
    (root / "one-line.txt").write_text(page("Long Line Story", "harbour council ferry budget " * 180_000))
    nested = "<div>" * 10_000 + "<p>Buried harbour story text here.</p>" + "</div>" * 10_000
    (root / "deep.html").write_text(f"<html><head><title>Deep Page</title></head><body>{nested}</body></html>")
    rows = "".join(f"<tr><td>row {i}</td><td>{i * 7}</td><td>stop {i % 13}</td></tr>" for i in range(5000))
    (root / "table.html").write_text(f"<html><head><title>Timetable</title></head><body><h1>Timetable</h1><table>{rows}</table></body></html>")
    lines = [
        json.dumps({"id": "a1", "title": "JSON One", "body": "First story about ferries.", "date": "2025-04-01"}),
        '{"id": "a2", "title": "Trunc',
        "[1, 2, 3]",
        '"just a string"',
        "null",
        json.dumps({"id": "s1", "title": "Surrogate \ud800 title", "body": "Body with a lone \udfff surrogate.", "date": "2025-04-02"}),
        json.dumps({"id": "d1", "title": "February 31", "body": "Impossible date story.", "date": "31-FEB-1987"}),
        json.dumps({"id": "d2", "title": "Year Zero", "body": "Year zero story.", "date": "0000-01-01"}),
        json.dumps({"id": "d3", "title": "Year 9999", "body": "Far future story.", "date": "9999-12-31T23:00:00-05:00"}),
        json.dumps({"id": "d4", "title": "Epoch", "body": "Epoch story.", "date": 0}),
        json.dumps({"id": "d5", "title": "Year One", "body": "Year one east of UTC.", "date": "0001-01-01T00:00:00+09:00"}),
        json.dumps({
            "id": "t1",
            "title": "[bold red]Alert[/bold red] \x1b[31mRed\x1b[0m \x1b]8;;http://evil.example\x07link\x1b]8;;\x07 "
                     "\u202eevil\u202c zero\u200bwidth\x9b2J",
            "body": "Markup title story \x1b[2J with an escape in the body.",
            "date": "2025-04-03",
        }),
    ]  # fmt: skip
    (root / "feed.jsonl").write_text("\n".join(lines) + "\n")
    (root / "cut.sgm").write_text(
        '<REUTERS NEWID="1"><DATE>26-FEB-1987 15:01:01.79</DATE><TEXT><TITLE>COCOA TALKS</TITLE>'
        "<BODY>Cocoa talks went on.</BODY></TEXT></REUTERS>\n"
        '<REUTERS NEWID="2"><DATE>26-FEB-1987</DATE><TEXT><TITLE>CUT STORY</TITLE><BODY>This story is cut'
    )
    os.symlink("loop.txt", root / "loop.txt")
    os.symlink("pong.txt", root / "ping.txt")
    os.symlink("ping.txt", root / "pong.txt")
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")
    raw = os.fsencode(root)
    with open(os.path.join(raw, b"caf\xe9-latin1.txt"), "wb") as handle:
        handle.write(page("Latin Name File", "A file whose name is not UTF-8.").encode())
    open(os.path.join(raw, b"bad\xff-empty.txt"), "wb").close()
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("hostile")
    corpus = build_corpus(base / "corpus")
    index_dir = base / "ix"
    started = time.monotonic()
    result = CliRunner().invoke(app, ["index", str(corpus), "--index", str(index_dir), "--max-file-size", "8", "-j", "1"])
    seconds = time.monotonic() - started
    with open_whoosh(index_dir).searcher() as searcher:
        docs = {doc["id"]: doc for doc in searcher.all_stored_fields()}
    return {"result": result, "docs": docs, "corpus": corpus, "seconds": seconds}


def lines_about(stderr: str, name: str, kind: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{kind}: ") and f"/{name}:" in line]


def test_the_run_exits_1_with_every_good_article_indexed(run: dict[str, object]) -> None:
    result = run["result"]
    assert result.exit_code == 1, result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    assert GOOD_IDS <= set(run["docs"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_hostile_file_is_indexed_right_or_named_with_one_line(run: dict[str, object], name: str) -> None:
    stderr: str = run["result"].stderr  # type: ignore[attr-defined]
    docs: dict[str, dict] = run["docs"]  # type: ignore[assignment]
    _, expected = CASES[name]
    kind, _, fragment = expected.partition(": ")
    if kind == "error":
        [line] = lines_about(stderr, name, "error")  # exactly one line, naming the file
        assert fragment in line
        assert not any(doc_id == name or doc_id.startswith(name + "#") for doc_id in docs)
    elif kind == "warning":
        assert any(fragment in line for line in lines_about(stderr, name, "warning")), stderr
        assert not lines_about(stderr, name, "error")
        assert any(doc_id == name or doc_id.startswith(name + "#") for doc_id in docs)
    elif kind == "indexed":
        assert not lines_about(stderr, name, "error")
        assert name in docs, sorted(docs)
    else:  # "not followed": nothing under the loop, and no error about it
        assert not [d for d in docs if d.startswith("sub/")]
        assert "sub/up" not in stderr


def test_every_stderr_line_is_one_line_without_escape_sequences(run: dict[str, object]) -> None:
    stderr: str = run["result"].stderr  # type: ignore[attr-defined]
    for line in stderr.splitlines():
        assert line.startswith(("error: ", "warning: ", "Indexed ")), line
        assert not any(ch in line for ch in "\x1b\x9b\x07\u202e\u200b\x00"), repr(line)


def test_decoded_text_is_right(run: dict[str, object]) -> None:
    docs: dict[str, dict] = run["docs"]  # type: ignore[assignment]
    assert docs["mixed/french-cp1252.txt"]["title"] == "Les cafés protestent"
    assert "réponse avant l’été" in docs["mixed/french-cp1252.txt"]["body"] and "5 €" in docs["mixed/french-cp1252.txt"]["body"]
    assert docs["mixed/japanese-sjis.txt"]["title"] == "東京で会議が開かれた"
    assert docs["mixed/english-utf8.txt"]["title"] == "Rail Strike Ends"
    assert docs["utf16-no-bom.txt"]["title"] == "Mayor Opens Bridge"
    broken = docs["broken-utf8.txt"]
    assert broken["title"] == "Café Owners Protest"  # the valid UTF-8 around the bad bytes is kept
    assert "\ufffd" in broken["body"] and "délégation à midi" in broken["body"]
    assert len(docs["one-line.txt"]["body"]) > 5_000_000
    assert "row 4999" in docs["table.html"]["body"]
    assert docs["deep.html"]["title"] == "Deep Page"
    assert docs["caf\\xe9-latin1.txt"]["title"] == "Latin Name File"
    assert docs["cut.sgm#1"]["title"] == "COCOA TALKS" and docs["cut.sgm#2"]["title"] == "CUT STORY"


def test_titles_are_stored_clean_of_escapes_bidi_and_zero_width(run: dict[str, object]) -> None:
    docs: dict[str, dict] = run["docs"]  # type: ignore[assignment]
    title = docs["feed.jsonl#t1"]["title"]
    # Markup-looking text is text: kept as written, and escaped by the renderer, never interpreted.
    assert title == "[bold red]Alert[/bold red] Red link evil zerowidth"
    assert "\x1b" not in docs["feed.jsonl#t1"]["body"] and "[2J" not in docs["feed.jsonl#t1"]["body"]
    assert docs["feed.jsonl#s1"]["title"] == "Surrogate \ufffd title"  # lone surrogates replaced, not crashed on


def test_odd_dates_are_kept_flagged_and_never_crash(run: dict[str, object]) -> None:
    stderr: str = run["result"].stderr  # type: ignore[attr-defined]
    docs: dict[str, dict] = run["docs"]  # type: ignore[assignment]
    for key in ("d1", "d2", "d3", "d4", "d5"):
        assert f"feed.jsonl#{key}" in docs  # every article kept, with or without its date
    flagged = {key for key in ("d1", "d3", "d4", "d5") if f"feed.jsonl#{key}: implausible date" in stderr}
    assert flagged == {"d1", "d3", "d4", "d5"}
    assert docs["feed.jsonl#d3"]["date_iso"] == "9999-12-31T23:00:00-05:00"  # past datetime's range in UTC
    assert docs["feed.jsonl#d4"]["date_iso"].startswith("1970-01-01")
    assert docs["feed.jsonl#d5"]["date_info"][2] is True
    assert docs["feed.jsonl#d2"].get("date_iso") is None  # there is no year 0: no date, article kept


def test_bad_jsonl_lines_are_each_reported(run: dict[str, object]) -> None:
    warnings = lines_about(run["result"].stderr, "feed.jsonl", "warning")  # type: ignore[attr-defined]
    assert any("line 2: not valid JSON" in w for w in warnings)
    assert any("line 3: expected a JSON object, found an array" in w for w in warnings)
    assert any("line 4: expected a JSON object, found a string" in w for w in warnings)
    assert any("line 5: expected a JSON object, found null" in w for w in warnings)
    assert "feed.jsonl#a1" in run["docs"]  # type: ignore[operator]


def test_the_whole_hostile_run_takes_seconds(run: dict[str, object]) -> None:
    # 5 MB line ~1.5s, 5,000-row table ~1s, 10,000-level nesting ~0.5s on a 2-core CI machine.
    assert run["seconds"] < 60, run["seconds"]


def test_unreadable_file_is_named_with_its_reason(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop root from reading")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "good.txt").write_text(page("Good Story", ENGLISH))
    secret = root / "secret.txt"
    secret.write_text(page("Secret", ENGLISH))
    secret.chmod(0)
    try:
        result = runner.invoke(app, ["index", str(root), "--index", str(tmp_path / "ix")])
    finally:
        secret.chmod(0o644)
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert line == f"error: {secret}: Permission denied"


def test_size_limit_is_checked_before_reading_so_memory_stays_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "good.txt").write_text(page("Good Story", ENGLISH))
    huge = root / "huge.txt"
    with open(huge, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # 200 MB, sparse
    opened: list[str] = []
    real_open = open

    def spying_open(path: object, *args: object, **kwargs: object) -> object:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    # Warm up first: importing the readers (lxml, trafilatura, chardet) allocates ~100 MB once.
    warm = tmp_path / "warm"
    warm.mkdir()
    (warm / "good.txt").write_text(page("Warm Story", ENGLISH))
    index_paths([str(warm)], tmp_path / "warm-ix", IndexOptions(jobs=1))
    monkeypatch.setattr(indexer, "open", spying_open, raising=False)
    tracemalloc.start()
    try:
        report = index_paths([str(root)], tmp_path / "ix", IndexOptions(jobs=1))  # the default limit, 100 MB
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.reason for f in report.failures] == ["larger than --max-file-size (200 MB > 100 MB)"]
    assert str(huge) not in opened
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    assert report.articles_written == 1


def test_a_file_that_grows_past_the_limit_after_the_walk_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "growing.txt"
    path.write_text(page("Growing", ENGLISH * 5000))  # ~450 KB now
    found = FoundFile(str(path), "growing.txt", str(tmp_path), 100, path.stat().st_mtime_ns)  # 100 bytes at walk time
    result = indexer.read_file(found, None, 64 * 1024)
    assert result.error == "larger than --max-file-size (0.1 MB; it grew while being indexed)"


CRASHING_READER = """
import multiprocessing, os
import searchkit.indexer as indexer
real = indexer.read_file
def read_file(found, *args):
    # Only in reader processes: the file whose name says so kills its process outright,
    # as a segfault in a parser or the OOM killer would.
    if "crash-me" in found.path and multiprocessing.current_process().name != "MainProcess":
        os._exit(1)
    return real(found, *args)
indexer.read_file = read_file
"""


@pytest.mark.slow
def test_a_reader_process_that_dies_costs_its_file_only(tmp_path: Path) -> None:
    import subprocess

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CRASHING_READER)
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(24):  # 2.6 MB in all: reader processes are used
        (root / f"story{i:02d}.txt").write_text(page(f"Story {i}", ENGLISH * 1200))
    (root / "story05-crash-me.txt").write_text(page("Crash", ENGLISH))
    env = {**os.environ, "PYTHONPATH": str(hook)}
    run = subprocess.run(
        [sys.executable, "-m", "searchkit", "index", str(root), "--index", str(tmp_path / "ix"), "--jobs", "2"],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {root / 'story05-crash-me.txt'}: the reader process died on this file (out of memory, or a crash in a parser)"]
    with open_whoosh(tmp_path / "ix").searcher() as searcher:
        assert searcher.doc_count() == 24


def test_cp1252_english_with_smart_quotes_decodes_as_cp1252() -> None:
    from searchkit.decode import decode

    text = page("Budget Vote Looms", "The mayor said the budget “will not raise taxes” — critics disagreed at the café.\n" * 4)
    assert decode(text.encode("cp1252")).text == text
