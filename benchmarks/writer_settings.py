"""What the writer's settings are worth: searchkit's build under other Whoosh writer settings.

    python benchmarks/writer_settings.py [--times 1] [--configs default,one-commit,procs2]

Builds the same Reuters copy (see `run.py`: replicated ×N, split into files of 100 stories) with
`searchkit.index_paths`, each build in a child process, once per configuration. A configuration
patches `searchkit.indexer._open_writer` (and, for `lengths`, one Whoosh codec method) in that
child only, so the numbers say what a change to `indexer.py` would buy before anyone makes it:

- `default`            — the indexer as it is;
- `one-commit`         — one commit at the end (`batch_articles` = ∞): no intermediate segments to merge;
- `limitmb-1024`       — a posting pool that never spills to disk on Reuters ×1;
- `procs2`             — `ix.writer(procs=2, multisegment=True)`: two writer processes, segments kept;
- `procs2-one-commit`  — both;
- `lengths`            — `W3PerDocReader.doc_field_length` served from an in-memory array instead of a
  struct read per posting (Whoosh calls it once per posting when it writes a segment);
- `inline4`            — `codec=W3Codec(inlinelimit=4)`: posting lists shorter than 4 kept inside the term
  dictionary instead of one pickled, zlib-compressed block each (most of the vocabulary is that rare).

It prints wall time, stories/s, peak memory and index size per configuration, and the ratio to
`default`. Never pass/fail.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402

CONFIGS = {
    "default": {},
    "one-commit": {"batch": 10**9},
    "limitmb-1024": {"limitmb": 1024},
    "procs2": {"procs": 2, "multisegment": True},
    "procs2-one-commit": {"procs": 2, "multisegment": True, "batch": 10**9},
    "lengths": {"lengths": True},
    "inline4": {"inlinelimit": 4},
    "procs2-one-commit-lengths": {"procs": 2, "multisegment": True, "batch": 10**9, "lengths": True},
    "all": {"procs": 2, "multisegment": True, "batch": 10**9, "lengths": True, "inlinelimit": 4},
}


def patch_lengths() -> None:
    """Serve segment field lengths from a list read once, not a struct read per call."""
    from whoosh.codec import whoosh3
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
    from whoosh.util.numeric import byte_to_length

    table = [None] + [byte_to_length(b) for b in range(1, 256)]

    def doc_field_length(self, docnum, fieldname, default=0):  # type: ignore[no-untyped-def]
        arrays = self.__dict__.setdefault("_length_arrays", {})
        lengths = arrays.get(fieldname)
        if lengths is None:
            reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if reader is None:
                return default
            lengths = arrays[fieldname] = [table[b] for b in (reader[i] for i in range(self._doccount))]
        return lengths[docnum]

    whoosh3.W3PerDocReader.doc_field_length = doc_field_length


def child(argv: list[str]) -> None:
    """`writer_settings.py _build CONFIG ARCHIVE INDEX`."""
    config, archive, index_dir = CONFIGS[argv[0]], argv[1], argv[2]
    from searchkit import indexer

    if config.get("lengths"):
        patch_lengths()
    writer_kwargs = {k: config[k] for k in ("procs", "multisegment") if k in config}
    if "inlinelimit" in config:
        from whoosh.codec.whoosh3 import W3Codec

        writer_kwargs["codec"] = W3Codec(inlinelimit=config["inlinelimit"])
    original = indexer._open_writer

    def open_writer(ix, options):  # type: ignore[no-untyped-def]
        if not writer_kwargs and "limitmb" not in config:
            return original(ix, options)
        return ix.writer(_lk=False, limitmb=config.get("limitmb", options.writer_memory_mb), **writer_kwargs)

    indexer._open_writer = open_writer
    options = indexer.IndexOptions(batch_articles=config.get("batch", indexer.IndexOptions().batch_articles))
    started = time.perf_counter()
    report = indexer.index_paths([archive], index_dir, options)
    print(json.dumps({"seconds": time.perf_counter() - started, "articles": report.articles_written, "failed": report.files_failed}))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=bench.DEFAULT_CORPORA["reuters"])
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from: {', '.join(CONFIGS)}")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="searchkit-writer-", dir="/tmp"))
    try:
        archive = work / "archive"
        archive.mkdir()
        bench.prepare_reuters(args.corpus, archive, args.times, 100)
        files = list(archive.iterdir())
        stories = sum(f.read_bytes().count(b"<REUTERS ") for f in files)
        print(f"# writer settings — Reuters ×{args.times}: {stories:,} stories in {len(files)} files; {json.dumps(bench.machine())}")
        rows = []
        base = None
        for name in args.configs.split(","):
            index_dir = work / f"ix-{name}"
            bench.say(f"building: {name}")
            result = bench.measured([sys.executable, str(Path(__file__).resolve()), "_build", name, str(archive), str(index_dir)], work, name)
            size = bench.folder_bytes(index_dir)
            shutil.rmtree(index_dir, ignore_errors=True)
            base = base or result["wall"]
            rows.append([
                name, f"{result['wall']:.1f}", f"{stories / result['wall']:,.0f}",
                f"{result['max_process_rss'] / 1e6:,.0f} / {result['peak_tree_rss'] / 1e6:,.0f}",
                bench.mb(size), bench.ratio(base, result["wall"]),
            ])
        bench.print_table(["config", "wall s", "stories/s", "peak RSS MB (proc / tree)", "index MB", "speed vs default"], rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
