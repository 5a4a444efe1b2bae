"""Score searchkit's HTML body extraction on the Zyte (Scrapinghub) article-extraction benchmark.

    python benchmarks/extraction.py [--corpus PATH] [--jobs N] [--worst N]

The corpus (181 pages, `html/<id>.html.gz` and `ground-truth.json`) lives beside the checkout in
`../shared/corpora/article-extraction-benchmark` by default. Each page goes through the same
`searchkit.readers.html.read` the indexer uses, and through plain `trafilatura.extract(html)` with
its defaults as a baseline measured in the same run (plus `include_comments=False`, the setting
the benchmark's own trafilatura runner uses for its published figure).

The metric is the benchmark's own (scrapinghub/article-extraction-benchmark, evaluate.py),
re-implemented here with the same semantics:

- tokens are `\\w+` runs; shingles are 4-grams of tokens (a text of 1–3 tokens is one shorter
  shingle, an empty text has none), counted as a multiset;
- per page, TP/FP/FN are shingle counts normalised by their sum, so long pages weigh no more;
- precision is averaged over pages where the output had shingles (an empty output does not drag
  precision down, it costs recall), recall over pages whose truth had shingles; a page where
  both sides are identical scores 1;
- F1 is the harmonic mean of the two averages; accuracy is the share of pages whose token
  sequence equals the truth exactly.

Published figures on this set, for orientation: trafilatura F1 0.958, the best commercial
extractor 0.970.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark"
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from searchkit.errors import ReadError  # noqa: E402
from searchkit.models import Decoded, Source  # noqa: E402
from searchkit.readers import html as html_reader  # noqa: E402

_TOKEN = re.compile(r"\w+")
SHINGLE = 4


# --- the benchmark's metric ---------------------------------------------------------------


def shingles(text: str, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def tp_fp_fn(truth: str, prediction: str) -> tuple[float, float, float]:
    true, pred = shingles(truth), shingles(prediction)
    tp = sum((true & pred).values())
    fp = sum((pred - true).values())
    fn = sum((true - pred).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    accuracy: float


def score(truths: dict[str, str], predictions: dict[str, str]) -> Score:
    counts = [tp_fp_fn(truths[key], predictions.get(key, "")) for key in truths]
    p = statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0)
    exact = statistics.mean(
        float(_TOKEN.findall(truths[key]) == _TOKEN.findall(predictions.get(key, ""))) for key in truths
    )
    return Score(p, r, 2 * p * r / (p + r) if p + r else 0.0, exact)


def page_f1(truth: str, prediction: str) -> float:
    counts = tp_fp_fn(truth, prediction)
    p, r = precision(*counts), recall(*counts)
    return 2 * p * r / (p + r) if p + r else 0.0


# --- running the extractors ---------------------------------------------------------------


@dataclass(frozen=True)
class PageResult:
    key: str
    searchkit: str
    searchkit_seconds: float
    searchkit_error: str
    baseline: str
    baseline_seconds: float
    upstream: str


def run_page(path: Path) -> PageResult:
    key = path.name.split(".")[0]
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        html = handle.read()
    source = Source(path=f"html/{path.name}", decoded=Decoded(html, "utf-8", 1.0, "explicit"))

    start = time.perf_counter()
    body, error = "", ""
    try:
        for item in html_reader.read(html, source):
            body = getattr(item, "body", body)
    except ReadError as failure:
        error = failure.reason
    ours = time.perf_counter() - start

    import trafilatura

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline = trafilatura.extract(html) or ""
        theirs = time.perf_counter() - start
        # The settings of the benchmark's own trafilatura runner, behind its published figure.
        upstream = trafilatura.extract(html, include_comments=False) or ""
    return PageResult(key, body, ours, error, baseline, theirs, upstream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="benchmark folder (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default: %(default)s)")
    parser.add_argument("--worst", type=int, default=0, help="also list the N pages where searchkit scores worst")
    args = parser.parse_args(argv)

    truth_file = args.corpus / "ground-truth.json"
    if not truth_file.exists():
        print(f"error: {truth_file} not found; pass --corpus PATH", file=sys.stderr)
        return 2
    ground_truth = json.loads(truth_file.read_text(encoding="utf-8"))
    truths = {key: entry.get("articleBody", "") for key, entry in ground_truth.items()}
    pages = sorted(args.corpus.glob("html/*.html.gz"))
    missing = set(truths) - {p.name.split(".")[0] for p in pages}
    if missing:
        print(f"error: {len(missing)} pages of the ground truth have no HTML file", file=sys.stderr)
        return 2

    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(run_page, pages, chunksize=4))
    wall = time.perf_counter() - started

    ours = score(truths, {r.key: r.searchkit for r in results})
    theirs = score(truths, {r.key: r.baseline for r in results})
    upstream = score(truths, {r.key: r.upstream for r in results})
    failures = [r for r in results if r.searchkit_error]
    empty = sum(1 for r in results if not r.searchkit.strip())

    import trafilatura

    print(f"article-extraction-benchmark: {len(results)} pages, {args.jobs} worker(s), {wall:.1f} s wall")
    print(f"{'extractor':<40} {'precision':>9} {'recall':>7} {'F1':>7} {'accuracy':>8} {'s/page':>7}")
    rows = [
        ("searchkit html reader", ours, sum(r.searchkit_seconds for r in results)),
        (f"trafilatura {trafilatura.__version__} defaults", theirs, sum(r.baseline_seconds for r in results)),
        (f"trafilatura {trafilatura.__version__} include_comments=False", upstream, None),
    ]
    for name, s, seconds in rows:
        timing = f"{seconds / len(results):>7.3f}" if seconds is not None else f"{'':>7}"
        print(f"{name:<40} {s.precision:>9.4f} {s.recall:>7.4f} {s.f1:>7.4f} {s.accuracy:>8.4f} {timing}")
    print(f"searchkit: {empty} page(s) with empty body, {len(failures)} ReadError(s)")
    for failure in failures:
        print(f"  {failure.key}: {failure.searchkit_error}")
    if args.worst:
        ranked = sorted(results, key=lambda r: page_f1(truths[r.key], r.searchkit))
        print(f"worst {args.worst} pages (searchkit F1 / baseline F1):")
        for r in ranked[: args.worst]:
            print(
                f"  {r.key[:16]}  {page_f1(truths[r.key], r.searchkit):.3f} / "
                f"{page_f1(truths[r.key], r.baseline):.3f}  {ground_truth[r.key].get('url', '')}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
