"""`searchkit cluster config`: ready-to-use `searchd` configs for a sharded searchkit cluster.

N real-time shards (`NAME_0` … `NAME_{N-1}`) are dealt round-robin over the nodes. Every node gets
one config: its own shards, and a distributed index `NAME` that searches them locally and asks the
other nodes for theirs (one agent line per remote node, listing its shards), with agent timeouts so
a dead node is reported instead of waited for. Any node can then answer a query for the whole
archive; searchkit writes to each shard on the node that holds it.

Each node listens for SphinxQL (MySQL protocol) on its given port and for other nodes' agents on
the next port up (or the third number of `host:port:api_port`). The shard layout is the one
`backends.manticore` writes: fields of pre-analysed terms (`morphology` and `charset_table` serve
only `SNIPPET()`, which reads the original text), string attributes with the text, and
a binlog flushed at every write, so that a write searchkit has been told about survives a
killed node.
The configs use only what Sphinx 2.2 and Manticore share, so either `searchd` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..analysis import fold
from . import DEFAULT_CLUSTER_NAME, BackendError, Node, parse_node
from .manticore import BIGINT_ATTRS, FIELDS, STRING_ATTRS, UINT_ATTRS

DEFAULT_DATA_DIR = "/var/lib/searchkit"
DEFAULT_CONNECT_TIMEOUT_MS = 1000
DEFAULT_QUERY_TIMEOUT_MS = 10000

# CJK runs are cut into single characters for SNIPPET(), so a query's bigrams light up in the text.
_CJK_RANGES = ("U+3040..U+30FF", "U+3400..U+4DBF", "U+4E00..U+9FFF", "U+F900..U+FAFF", "U+AC00..U+D7AF", "U+FF66..U+FF9F")
# Letters beyond ASCII that SNIPPET() should treat as parts of words, folded as our analyzer folds them.
_LETTER_RANGES = ((0x00C0, 0x024F), (0x0386, 0x03CE), (0x0400, 0x045F))


@dataclass(frozen=True)
class NodeConfig:
    """The config of one node: where it listens, which shards it holds, and the text of its config."""

    node: Node
    number: int  # 1-based, as in node-1.conf
    shards: tuple[int, ...]
    text: str

    @property
    def filename(self) -> str:
        return f"node-{self.number}.conf"


def charset_table() -> str:
    """Sphinx's charset_table: ASCII letters and digits, `_` (our hashed terms), and accented Latin,
    Greek and Cyrillic letters mapped as `analysis.fold` maps them (É → e), so snippets see words whole."""
    entries = ["0..9", "a..z", "_", "A..Z->a..z"]
    for low, high in _LETTER_RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            if not char.isalpha():
                continue
            folded = fold(char)
            if len(folded) == 1 and folded != char and ("a" <= folded <= "z" or folded.isalpha()):
                target = folded if "a" <= folded <= "z" else f"U+{ord(folded):04X}"
                entries.append(f"U+{code:04X}->{target}")
            else:
                entries.append(f"U+{code:04X}")
    return ", ".join(entries)


def _shard_block(name: str, shard: int, data_dir: str) -> str:
    lines = [f"index {name}_{shard}", "{", "    type = rt", f"    path = {data_dir}/{name}_{shard}"]
    lines += [f"    rt_field = {f}" for f in FIELDS]
    lines += [f"    rt_attr_string = {a}" for a in STRING_ATTRS]
    lines += [f"    rt_attr_bigint = {a}" for a in BIGINT_ATTRS]
    lines += [f"    rt_attr_uint = {a}" for a in UINT_ATTRS]
    lines += [
        "    rt_mem_limit = 256M",
        "    # bm25f() needs field lengths; `=term` (exact form) needs index_exact_words.",
        "    index_field_lengths = 1",
        "    index_exact_words = 1",
        "    morphology = stem_en",
        f"    charset_table = {charset_table()}",
        f"    ngram_chars = {', '.join(_CJK_RANGES)}",
        "    ngram_len = 1",
        "}",
    ]
    return "\n".join(lines)


def node_configs(
    nodes: list[Node],
    shards: int,
    *,
    data_dir: str = DEFAULT_DATA_DIR,
    name: str = DEFAULT_CLUSTER_NAME,
    connect_timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout_ms: int = DEFAULT_QUERY_TIMEOUT_MS,
) -> list[NodeConfig]:
    """One `searchd` config per node for `shards` shards dealt round-robin over `nodes`.

    Each node keeps its files in `data_dir/node-K` (so several nodes can share a machine).
    """
    if shards < 1:
        raise BackendError("--shards must be 1 or more")
    if not nodes:
        raise BackendError("--nodes names no node; e.g. --nodes 10.0.0.5:9306,10.0.0.6:9306")
    if shards < len(nodes):
        raise BackendError(f"{shards} shard(s) for {len(nodes)} nodes would leave a node empty; use --shards {len(nodes)} or more")
    ports = [(n.host, p) for n in nodes for p in (n.port, n.api_port)]
    if len(set(ports)) != len(ports):
        raise BackendError("two nodes share a port; give each node on one host its own (each uses PORT and PORT+1)")
    owned = {i: tuple(s for s in range(shards) if s % len(nodes) == i) for i in range(len(nodes))}
    url = backend_url(nodes, name)
    configs = []
    for i, node in enumerate(nodes):
        folder = f"{data_dir.rstrip('/')}/node-{i + 1}"
        header = [
            f"# searchkit cluster, node {i + 1} of {len(nodes)} ({node}): shards {', '.join(map(str, owned[i]))} of {shards}.",
            f"# Start it:    mkdir -p {folder} && searchd --config node-{i + 1}.conf   (--nodetach to stay in the foreground)",
            f"# Stop it:     searchd --config node-{i + 1}.conf --stopwait",
            f"# Then:        searchkit index ARCHIVE --backend {url} --index STATE_FOLDER",
            f"#              searchkit query WORDS --backend {url}",
            "# Made by `searchkit cluster config`; Sphinx 2.2 and Manticore both read it.",
        ]
        blocks = [_shard_block(name, s, folder) for s in owned[i]]
        dist = ["index " + name, "{", "    type = distributed"]
        dist += [f"    local = {name}_{s}" for s in owned[i]]
        for j, other in enumerate(nodes):
            if j != i:
                dist.append(f"    agent = {other.host}:{other.api_port}:{','.join(f'{name}_{s}' for s in owned[j])}")
        dist += [
            "    # A node that does not answer is reported (searchkit: an error, or partial results with ?partial=1).",
            f"    agent_connect_timeout = {connect_timeout_ms}",
            f"    agent_query_timeout = {query_timeout_ms}",
            "}",
        ]
        daemon = [
            "searchd",
            "{",
            f"    listen = {node.host}:{node.port}:mysql41",
            f"    listen = {node.host}:{node.api_port}",
            f"    log = {folder}/searchd.log",
            f"    query_log = {folder}/query.log",
            f"    pid_file = {folder}/searchd.pid",
            f"    binlog_path = {folder}",
            "    # Each write reaches the binlog before searchkit hears it succeeded, so a killed searchd",
            "    # replays it on start; a power cut may lose the last second (binlog_flush = 2, the default;",
            "    # Sphinx 2.2.11 writes no binlog at all with binlog_flush = 1).",
            "    binlog_flush = 2",
            "    max_packet_size = 32M",
            "}",
        ]
        text = "\n".join(header) + "\n\n" + "\n\n".join([*blocks, "\n".join(dist), "\n".join(daemon)]) + "\n"
        configs.append(NodeConfig(node, i + 1, owned[i], text))
    return configs


def parse_nodes(text: str) -> list[Node]:
    """`host:port,host:port…` → nodes."""
    nodes = [parse_node(part) for part in text.split(",") if part.strip()]
    if not nodes:
        raise BackendError("--nodes names no node; e.g. --nodes 10.0.0.5:9306,10.0.0.6:9306")
    return nodes


def write_configs(configs: list[NodeConfig], out_dir: Path) -> list[Path]:
    """Write `node-K.conf` files into `out_dir`; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for config in configs:
        path = out_dir / config.filename
        path.write_text(config.text, encoding="utf-8")
        written.append(path)
    return written


def backend_url(nodes: list[Node], name: str = DEFAULT_CLUSTER_NAME) -> str:
    """The `--backend` URL for these nodes."""
    return f"manticore://{','.join(str(n) for n in nodes)}" + (f"/{name}" if name != DEFAULT_CLUSTER_NAME else "")


__all__ = ["NodeConfig", "backend_url", "charset_table", "node_configs", "parse_nodes", "write_configs"]
