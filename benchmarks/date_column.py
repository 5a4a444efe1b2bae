"""What a column-based date filter and date sort would buy: a prototype measured against searcher.py.

    python benchmarks/date_column.py INDEX_DIR        # an index built by `searchkit index`

The `date` and `sorted` queries of `queries.txt` are run on INDEX_DIR twice, with the median of 3
runs per query (no snippets):

- through `SearchIndex` as it is. A `--since/--until` range becomes a `DateRange` filter, which Whoosh
  expands into an OR of tiered numeric terms. In a segment of more than 5,000 documents, Whoosh
  matches that OR with a binary tree of UnionMatchers, one Python step per document per node.
  A newest/oldest sort calls a Python function per matching document (`TranslateFacet`);
- through a subclass that reads the segments' raw `date` column once per searcher (one bytes read
  per segment), and keeps it sorted. A range then becomes a set of docnums by bisection, and a sort
  becomes `heapq.nlargest` over the unscored matches.

It prints p50/p95 per class for both, and checks that totals and pages agree. Ties between equal
dates (Reuters ×N holds N copies of each date) may come out in another order.
"""

from __future__ import annotations

import bisect
import heapq
import sys
import time
from array import array
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import DEFAULT_QUERIES, percentile, read_queries  # noqa: E402


class DateColumn:
    """The raw `date` column of every segment as one array by global docnum, plus a sorted copy."""

    UNDATED_ABOVE = 2**63  # undated documents hold the column default, 2**64 - 1

    def __init__(self, reader: Any) -> None:
        values = array("Q")
        for segment, _offset in reader.leaf_readers():
            column = segment.column_reader("date", translate=False)
            count = column._count  # a NumericColumn("Q") reader: 8 big-endian bytes per document
            part = array("Q")
            part.frombytes(column._dbfile.get(column._basepos, count * 8) if count else b"")
            if sys.byteorder == "little":
                part.byteswap()
            part.extend([column._default] * (segment.doc_count_all() - len(part)))
            values.extend(part)
        self.values = values
        order = sorted(range(len(values)), key=values.__getitem__)
        self.sorted_docs = array("I", order)
        self.sorted_values = array("Q", (values[i] for i in order))
        self.newest_key = [v if 0 < v < self.UNDATED_ABOVE else -1 for v in values]

    def between(self, low: int, high: int) -> set[int]:
        start = bisect.bisect_left(self.sorted_values, low)
        stop = bisect.bisect_right(self.sorted_values, high)
        return set(self.sorted_docs[start:stop])


def column_index_class() -> type:
    from whoosh.util.times import datetime_to_long

    from searchkit import searcher as S

    class ColumnSearchIndex(S.SearchIndex):  # type: ignore[misc,name-defined]
        _column: tuple[Any, DateColumn] | None = None

        def _date_column(self, searcher: Any) -> DateColumn:
            if self._column is None or self._column[0] is not searcher:
                self._column = (searcher, DateColumn(searcher.reader()))
            return self._column[1]

        def _filter(self, *, since: Any, until: Any, source: Any, section: Any, lang: Any) -> Any:
            start, stop = S.date_bound(since, end=False), S.date_bound(until, end=True)
            if (start is None and stop is None) or source or section or lang:
                return super()._filter(since=since, until=until, source=source, section=section, lang=lang)
            column = self._date_column(self._s())
            return column.between(datetime_to_long(start) if start else 0, datetime_to_long(stop) if stop else DateColumn.UNDATED_ABOVE)

        def _run(self, searcher: Any, q: Any, filter_q: Any, limit: int, page: int, sort: str) -> Any:
            if sort == "relevance" or not (filter_q is None or isinstance(filter_q, set)):
                return super()._run(searcher, q, filter_q, limit, page, sort)
            column = self._date_column(searcher)
            docs = searcher.docs_for_query(q)  # unscored
            matched = [d for d in docs if d in filter_q] if filter_q is not None else list(docs)
            wanted = page * limit
            if sort == "newest":
                top = heapq.nlargest(wanted, matched, key=column.newest_key.__getitem__)
            else:
                top = heapq.nsmallest(wanted, matched, key=column.values.__getitem__)
            return len(matched), [(searcher.stored_fields(d), 0.0) for d in top[(page - 1) * limit :]]

    return ColumnSearchIndex


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    from searchkit import searcher as S

    index_dir = sys.argv[1]
    queries = [q for q in read_queries(DEFAULT_QUERIES) if q.cls in ("date", "sorted")]
    results: dict[str, tuple[list[int], list[list[str]], list[float]]] = {}
    for name, cls in (("as is", S.SearchIndex), ("date column", column_index_class())):
        with cls(index_dir) as ix:
            def run(q: Any) -> Any:
                return ix.search(q.text, limit=10, page=q.page, since=q.since, until=q.until, sort=q.sort, fragments=0)

            pages = [run(q) for q in queries]  # warm-up, and the answers compared below
            times = []
            for q in queries:
                runs = []
                for _ in range(3):
                    started = time.perf_counter()
                    run(q)
                    runs.append(time.perf_counter() - started)
                times.append(sorted(runs)[1] * 1000)
            results[name] = ([p.total for p in pages], [[h.id for h in p.hits] for p in pages], times)
    for cls_name in ("date", "sorted"):
        idx = [i for i, q in enumerate(queries) if q.cls == cls_name]
        cells = [f"{name}: p50 {percentile([r[2][i] for i in idx], 50):.1f} ms, p95 {percentile([r[2][i] for i in idx], 95):.1f} ms" for name, r in results.items()]
        print(f"{cls_name:6} " + " | ".join(cells))
    base, new = results["as is"], results["date column"]
    print(f"totals equal: {base[0] == new[0]}; same page of ids: {sum(a == b for a, b in zip(base[1], new[1]))}/{len(queries)}"
          f"; same set of ids on the page: {sum(set(a) == set(b) for a, b in zip(base[1], new[1]))}/{len(queries)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
