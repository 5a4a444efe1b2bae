"""Start-up cost as a user meets it: what a fresh `searchkit` process imports before it answers.

`searchkit query` is run once per question, often from scripts, so every module it imports is paid
on each call. These tests run the command line in a fresh interpreter and check `sys.modules`
afterwards: the query path must not load the indexing side (readers, HTML extraction, encoding
detection, date parsing) or anything else it does not use. They assert on imports, never on
timings, so they fail for a reason a reviewer can read and not because the machine was busy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from query_fixtures import standard_index

ROOT = Path(__file__).resolve().parents[1]

# Needed only to read and index files; a query process that imports them pays for nothing it uses.
INDEXING_SIDE = (
    "searchkit.indexer",
    "searchkit.readers",
    "searchkit.decode",
    "searchkit.discover",
    "searchkit.doctor",
    "trafilatura",
    "lxml",
    "chardet",
    "dateutil",
)

# Runs the real entry point with the given arguments, then writes the exit code and the loaded
# modules to a file (stdout is the command's own).
PROBE = """
import json, sys
out, *args = sys.argv[1:]
sys.argv = ["searchkit", *args]
from searchkit.cli import main
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
with open(out, "w", encoding="utf-8") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
"""


def run_cli(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    """Run `searchkit ARGS` in a fresh interpreter: (exit code, top-level and dotted modules loaded, stdout)."""
    out = tmp_path / "probe.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )  # fmt: skip
    assert out.exists(), run.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    return data["code"], set(data["modules"]), run.stdout


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of `names` (packages count with their submodules) were imported."""
    return [name for name in names if any(m == name or m.startswith(name + ".") for m in modules)]


def imported_by(code: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standard_index(tmp_path_factory.mktemp("startup"))


def test_importing_the_cli_loads_neither_whoosh_nor_the_indexing_side() -> None:
    # `searchkit --help`, a typo'd command and shell completion all stop here.
    modules = imported_by("import searchkit.cli")
    assert loaded(modules, ("whoosh", "searchkit.searcher", "searchkit.storage", "rich.console", *INDEXING_SIDE)) == []


def test_importing_searchkit_is_cheap() -> None:
    modules = imported_by("import searchkit")
    assert loaded(modules, ("whoosh", "typer", "rich", "searchkit.cli", *INDEXING_SIDE)) == []


def test_a_query_loads_only_the_query_side(index_dir: Path, tmp_path: Path) -> None:
    code, modules, stdout = run_cli(tmp_path, "query", "joint headquarters", "--format", "jsonl", "--index", str(index_dir))
    assert code == 0
    assert json.loads(stdout.splitlines()[0])["id"] == "politics/joint-hq.txt"  # it really searched
    assert loaded(modules, INDEXING_SIDE) == []
    # JSON Lines with nothing to say on stderr: no rich console is built at all.
    assert loaded(modules, ("rich.console",)) == []


@pytest.mark.parametrize("args", [("--help",), ("index", "--help"), ("query", "--help")])
def test_help_loads_no_search_engine(tmp_path: Path, args: tuple[str, ...]) -> None:
    code, modules, stdout = run_cli(tmp_path, *args)
    assert code == 0 and "Usage: searchkit" in stdout
    assert loaded(modules, ("whoosh", "sqlite3", "searchkit.searcher", "searchkit.storage", *INDEXING_SIDE)) == []


def test_a_query_does_not_import_pydantic(index_dir: Path, tmp_path: Path) -> None:
    # typer 0.29 validates every option with a pydantic TypeAdapter (~80 ms per start); pyproject
    # keeps typer below it. An environment installed before that pin says so here, as a skip.
    typer_version = tuple(int(part) for part in version("typer").split(".")[:2])
    if typer_version >= (0, 29):
        pytest.skip(f"typer {version('typer')} imports pydantic for every option; pyproject pins typer<0.29 (pip install -e .)")
    for args in (("query", "joint headquarters", "--format", "jsonl", "--index", str(index_dir)), ("index", "--help")):
        code, modules, _ = run_cli(tmp_path, *args)
        assert code == 0
        assert loaded(modules, ("pydantic", "pydantic_core")) == [], args


# Whoosh imports these at start-up for functions searchkit never calls (`searchkit.lean_imports`).
WHOOSH_UNUSED = ("urllib.request", "http.client", "email", "asyncio", "cached_property", "whoosh.lang.morph_en")


def test_a_query_skips_whooshs_unused_imports(index_dir: Path, tmp_path: Path) -> None:
    code, modules, stdout = run_cli(tmp_path, "query", "joint headquarters", "--format", "jsonl", "--index", str(index_dir))
    assert code == 0 and json.loads(stdout.splitlines()[0])["id"] == "politics/joint-hq.txt"
    assert "whoosh.reading" in modules and "whoosh.query.terms" in modules
    assert loaded(modules, WHOOSH_UNUSED) == []


def test_what_whoosh_was_lent_still_works_and_the_real_modules_stay_importable() -> None:
    code = """
import searchkit.searcher  # Whoosh is imported with the stand-ins
import sys
from whoosh import compat, query, reading
from whoosh.lang import morph_en
assert "asyncio" not in sys.modules
assert reading.cached_property.__module__ == "functools"
assert sorted(query.terms.variations("rendering")) == sorted(morph_en.variations("rendering"))
import urllib.request
assert urllib.request.urlretrieve.__module__ == "urllib.request"
assert compat.urlretrieve.__name__ == "urlretrieve" and callable(compat.urlretrieve)
import cached_property
assert hasattr(cached_property, "threaded_cached_property")  # the real package, not the stand-in
"""
    modules = imported_by(code)
    assert "whoosh.lang.morph_en" in modules
