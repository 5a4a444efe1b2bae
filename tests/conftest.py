"""Shared fixtures. Tests that need the research corpora in ../shared skip cleanly without them."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip when that data is not beside this checkout."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/{'/'.join(parts)} (research data beside the checkout)")
    return path


@pytest.fixture(autouse=True)
def _isolated_index_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may touch a real index: $SEARCHKIT_INDEX points into the test's temp folder."""
    monkeypatch.setenv("SEARCHKIT_INDEX", str(tmp_path / "default-index"))
    monkeypatch.delenv("NO_COLOR", raising=False)
