"""What the writer's settings are worth: searchkit's build under other Whoosh writer settings.

    python benchmarks/writer_settings.py [--times 1] [--configs default,one-commit,procs2]

Builds the same Reuters copy (see `run.py`: replicated ×N, split into files of 100 stories) with
`searchkit.index_paths`, each build in a child process, once per configuration. A configuration
patches `searchkit.indexer._open_writer` (and, for `lengths`, one Whoosh codec method) in that
child only, so the numbers say what a change to `indexer.py` would buy before anyone makes it (every
configuration writes with the indexer's codec and merge policy unless it names another):

- `default`            — the indexer as it is;
- `one-commit`         — one commit at the end (`batch_articles` = ∞): no intermediate segments to merge;
- `limitmb-1024`       — a posting pool that never spills to disk on Reuters ×1;
- `batch-20000`        — commit every 20,000 articles instead of 5,000;
- `one-commit-2048`    — one commit, with a pool large enough not to spill to disk;
- `no-merge`           — `writer.commit(merge=False)`: each batch stays its own segment, never merged;
- `no-merge-optimize`  — the same, then one `ix.optimize()` at the end of the run (timed with it);
- `no-merge-noncompound` — `no-merge` with `ix.writer(compound=False)`: a segment's files stay separate
  instead of being assembled into one `.seg`, which every process that opens the index copies into
  memory whole (Whoosh's `BufferFile` wraps its mmap slice in a `BytesIO`);
- `procs2`             — `ix.writer(procs=2, multisegment=True)`: two writer processes, segments kept;
- `procs2-one-commit`  — both;
- `lengths`            — `W3PerDocReader.doc_field_length` served from an in-memory array instead of a
  struct read per posting (Whoosh calls it once per posting when it writes a segment).

(Inlining short posting lists, `W3Codec(inlinelimit>1)`, would save a pickled, zlib-compressed block
per rare term, but is broken in Whoosh 2.7.5: `W3TermInfo` has no `set_inline`.)

It prints wall time, stories/s, peak memory and index size per configuration, and the ratio to
the first configuration listed. Never pass/fail.
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
    "batch-20000": {"batch": 20000},
    "one-commit-2048": {"batch": 10**9, "limitmb": 2048},
    "no-merge": {"nomerge": True},
    "no-merge-optimize": {"nomerge": True, "optimize": True},
    "no-merge-noncompound": {"nomerge": True, "compound": False},
    "procs2-one-commit-lengths": {"procs": 2, "multisegment": True, "batch": 10**9, "lengths": True},
}


def patch_lengths() -> None:
    """Serve segment field lengths from the column's bytes, read once, not a struct read per call."""
    from whoosh.codec import whoosh3
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
    from whoosh.util.numeric import byte_to_length

    # Whoosh returns None for a stored length byte of 0 (the method falls off its end).
    table = [None] + [byte_to_length(b) for b in range(1, 256)]

    def doc_field_length(self, docnum, fieldname, default=0):  # type: ignore[no-untyped-def]
        raws = self.__dict__.setdefault("_length_bytes", {})
        raw = raws.get(fieldname)
        if raw is None:
            reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if reader is None:
                return default
            raw = raws[fieldname] = reader._dbfile.get(reader._basepos, reader._count)  # one byte per document
        return table[raw[docnum]] if docnum < len(raw) else None

    whoosh3.W3PerDocReader.doc_field_length = doc_field_length


def child(argv: list[str]) -> None:
    """`writer_settings.py _build CONFIG ARCHIVE INDEX`."""
    config, archive, index_dir = CONFIGS[argv[0]], argv[1], argv[2]
    from searchkit import indexer

    if config.get("lengths"):
        patch_lengths()
    writer_kwargs = {k: config[k] for k in ("procs", "multisegment", "compound") if k in config}
    original = indexer._open_writer

    def make_writer(ix, options):  # type: ignore[no-untyped-def]
        if not writer_kwargs and "limitmb" not in config:
            return original(ix, options)
        limitmb = config.get("limitmb", options.writer_memory_mb)
        # As the indexer writes (its codec and merge policy), but for the setting being measured.
        from searchkit.stored_codec import BlockStoredCodec

        writer_kwargs.setdefault("compound", False)
        writer_kwargs["codec"] = BlockStoredCodec()
        if "procs" in writer_kwargs:
            # MpWriter hands its own keyword arguments to its sub-writers unless given `subargs`;
            # they must not see `_lk` (they never lock) or the pool's limit would count twice.
            sub = {"limitmb": limitmb // writer_kwargs["procs"]}
            return ix.writer(_lk=False, limitmb=limitmb, subargs=sub, **writer_kwargs)
        writer = ix.writer(_lk=False, limitmb=limitmb, **writer_kwargs)
        writer.mergetype = indexer._merge_by_tiers
        return writer

    def open_writer(ix, options):  # type: ignore[no-untyped-def]
        writer = make_writer(ix, options)
        if config.get("nomerge"):
            writer.mergetype = None
            commit = writer.commit
            writer.commit = lambda *args, **kwargs: commit(*args, **{**kwargs, "merge": False})
        return writer

    indexer._open_writer = open_writer
    options = indexer.IndexOptions(batch_articles=config.get("batch", indexer.IndexOptions().batch_articles))
    started = time.perf_counter()
    report = indexer.index_paths([archive], index_dir, options)
    if config.get("optimize"):
        from searchkit.storage import open_whoosh

        open_whoosh(Path(index_dir)).optimize()
    print(json.dumps({"seconds": time.perf_counter() - started, "articles": report.articles_written, "failed": report.files_failed}))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=bench.DEFAULT_CORPORA["reuters"])
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from: {', '.join(CONFIGS)}")
    parser.add_argument("--runs", type=int, default=1, help="builds per configuration, taking turns; the fastest counts")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="searchkit-writer-", dir="/tmp"))
    try:
        archive = work / "archive"
        archive.mkdir()
        bench.prepare_reuters(args.corpus, archive, args.times, 100)
        files = list(archive.iterdir())
        stories = sum(f.read_bytes().count(b"<REUTERS ") for f in files)
        print(f"# writer settings — Reuters ×{args.times}: {stories:,} stories in {len(files)} files; {json.dumps(bench.machine())}")
        names = args.configs.split(",")
        best: dict[str, dict] = {}
        walls: dict[str, list[float]] = {name: [] for name in names}
        for attempt in range(args.runs):
            for name in names:
                index_dir = work / f"ix-{name}"
                bench.say(f"building: {name} (run {attempt + 1} of {args.runs})")
                cmd = [sys.executable, str(Path(__file__).resolve()), "_build", name, str(archive), str(index_dir)]
                result = bench.measured(cmd, work, name)
                result["index_bytes"] = bench.folder_bytes(index_dir)
                shutil.rmtree(index_dir, ignore_errors=True)
                walls[name].append(result["wall"])
                if name not in best or result["wall"] < best[name]["wall"]:
                    best[name] = result
        base = best[names[0]]["wall"]
        rows = []
        for name in names:
            result = best[name]
            rows.append([
                name, f"{result['wall']:.1f}", f"{result['cpu']:.1f}", f"{stories / result['wall']:,.0f}",
                f"{result['max_process_rss'] / 1e6:,.0f} / {result['peak_tree_rss'] / 1e6:,.0f}",
                bench.mb(result["index_bytes"]), bench.ratio(base, result["wall"]),
                " ".join(f"{w:.1f}" for w in walls[name]),
            ])
        print(f"fastest of {args.runs} run(s) per configuration, configurations taking turns; ratio against {names[0]}")
        bench.print_table(["config", "wall s", "CPU s", "stories/s", "peak RSS MB (proc / tree)", "index MB", "speed", "every run s"], rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
