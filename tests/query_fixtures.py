"""Small indexes for the query-side tests (searcher, highlight, render, CLI).

The articles are written for these tests. They are indexed straight through the schema, not
through `index_paths`, so the query side can be tested on its own: `build_index(folder, articles)`
creates a searchkit index folder (Whoosh files + stamped manifest) holding exactly those articles.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from whoosh import index as whoosh_index

from searchkit.models import Article, ParsedDate
from searchkit.schema import build_schema, to_document
from searchkit.storage import WHOOSH_INDEX_NAME, Manifest

JST = timezone(timedelta(hours=9), "JST")


def when(year: int, month: int, day: int, hour: int = 12, tz: timezone | None = timezone.utc) -> ParsedDate:
    return ParsedDate(datetime(year, month, day, hour, 0, tzinfo=tz), "minute", "test")


def build_index(index_dir: Path, articles: Iterable[Article], root: str = "/archive") -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(index_dir), build_schema(), indexname=WHOOSH_INDEX_NAME)
    with Manifest(index_dir) as manifest:
        manifest.stamp()
    with ix.writer() as writer:
        for article in articles:
            path = article.id.split("#", 1)[0]
            writer.add_document(**to_document(article, f"{root}/{path}"))
    ix.close()
    return index_dir


LONG_FILLER = "The committee reviewed routine paperwork about harbour fees and parking permits. "

ARTICLES: list[Article] = [
    Article(
        id="politics/joint-hq.txt",
        title="Ministers agree on joint headquarters for allied forces",
        body=(
            "Defence ministers met in Tokyo on Sunday. They agreed that the allied forces would move to a "
            "joint headquarters next year. The joint force headquarters will coordinate command and control. "
            "Both ministers talked about peace in the Indo-Pacific [region] and promised closer training."
        ),
        date=when(2025, 3, 30, 8, JST),
        source="Daily Ledger",
        section="Politics",
        language="en",
        keywords=("defence", "alliance"),
        byline="By Aiko Mori",
        url="https://example.org/joint-hq",
    ),
    Article(
        id="politics/headquarters-move.txt",
        title="Insurance company relocates its headquarters",
        body=(
            "The insurer said on Tuesday that its headquarters would leave the old town centre. "
            "Staff will move to a new building by the river. The headquarters building will be sold."
        ),
        date=when(2025, 2, 11),
        source="Daily Ledger",
        section="Business",
        language="en",
    ),
    Article(
        id="sport/joint-venture.txt",
        title="Clubs form a joint youth academy",
        body=(
            "Two football clubs announced a joint academy for young players. The academy opens in the "
            "autumn and will train two hundred children."
        ),
        date=when(2024, 9, 5),
        source="Evening Post",
        section="Sport",
        language="en",
    ),
    Article(
        id="world/talks.txt",
        title="Trade talks resume after long pause",
        body=(
            "Negotiators talked for six hours on Monday. The talks will continue next week. "
            "A spokesperson said the mood of talking was constructive."
        ),
        date=when(2023, 11, 20),
        source="Evening Post",
        section="World",
        language="en",
    ),
    Article(
        id="world/japanese.txt",
        title="日本語の学習者が増加",
        body="私は日本語を勉強します。日本語の授業は毎週あります。",
        date=when(2025, 1, 15, 9, JST),
        source="Asahi Test",
        section="Culture",
        language="ja",
    ),
    Article(
        id="tricky/markup.txt",
        title="[bold red]Breaking[/bold red] \x1b[31mred alert\x1b[0m news",
        body=(
            "Reporters saw [link=http://evil.example]a link[/link] and \x1b]0;pwned\x07 a title change. "
            "The volcano erupted near the village of [bold]Vik[/bold]."
        ),
        date=when(2022, 6, 1),
        source="Wire",
        section="World",
        language="en",
    ),
    Article(
        id="long/deep.txt",
        title="Annual report of the harbour committee",
        body=LONG_FILLER * 1300 + "At the very end the committee found a sunken treasure chest. " + LONG_FILLER * 5,
        date=when(2021, 12, 31),
        source="Harbour Gazette",
        section="Local",
        language="en",
    ),
    Article(
        id="undated/note.txt",
        title="A note about volcanoes",
        body="Volcanoes erupt when pressure builds under the crust.",
        source="Wire",
        section="Science",
        language="en",
    ),
    Article(
        id="feeds/wire.jsonl#7",
        title="Parliament debates the budget",
        body="Members of parliament debated the budget until midnight. The vote is on Friday.",
        date=when(2025, 3, 2),
        source="Wire",
        section="Politics",
        language="en",
        record_key="7",
        format="jsonl",
        encoding="utf-8",
        encoding_method="utf-8",
    ),
]


def standard_index(tmp_path: Path) -> Path:
    return build_index(tmp_path / "index", ARTICLES)


def write_jsonl(folder: Path, name: str, records: list[dict[str, Any]]) -> None:
    """A JSON Lines dump of `records` as `folder/name`."""
    (folder / name).write_text("".join(json.dumps(record) + "\n" for record in records))


def page_of(index: Any, text: str, **kwargs: Any) -> tuple[int, list[tuple[str, float]]]:
    """(total, [(id, score), …]) of a page of `index.search(text)`: what two ranking paths must agree on."""
    results = index.search(text, fragments=0, suggest=False, **kwargs)
    return results.total, [(hit.id, hit.score) for hit in results.hits]


def whoosh_page_of(index: Any, monkeypatch: Any, text: str, **kwargs: Any) -> tuple[int, list[tuple[str, float]]]:
    """`page_of` from Whoosh's own collector and matchers (`searcher.BULK_RANKING` off)."""
    from searchkit import searcher

    with monkeypatch.context() as patch:
        patch.setattr(searcher, "BULK_RANKING", False)
        return page_of(index, text, **kwargs)
