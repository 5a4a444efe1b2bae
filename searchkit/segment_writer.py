"""A Whoosh segment writer that inverts documents in memory and merges segments block by block.

Whoosh's `SegmentWriter` turns every posting of every document into a tuple for its sorting pool,
sorts them all, and hands them one by one to the postings writer, which type-checks each and
asks the new segment for the document's field length; merging a segment replays its postings
one by one through a matcher into the same pool. On Reuters that per-posting Python work was
most of the writing process's time, and the writing process was most of an indexing run.

`DirectSegmentWriter` keeps Whoosh's `SegmentWriter` for everything per document (stored fields,
field lengths, the date column, deletions, the table of contents) and replaces the postings path:

- `invert_documents` inverts one file's documents, and `add_documents` adds the file's postings
  to a dict per field a term at a time; `add_document` alone appends each posting to its term's
  list;
- `add_reader` (a merge) writes the merged segment's per-document data as Whoosh does and keeps
  the segment to read its postings from, block by block, at flush time;
- the flush walks each field's terms in order across the new documents and the merged segments
  (a k-way merge of sorted term lists, so a merge holds one term's postings in memory, not the
  segments'), and writes each term's blocks with whole-list operations.

The indexer's worker processes each write their own segments with it (`staging_writer`), and the
writing process takes them in (`adopt`) and merges with it. With `split_blocks` off and
`compress_from` 0 the files are byte for byte what `SegmentWriter` writes for the same documents
(the tests compare them); by default, blocks too short to gain from zlib are stored as they are,
and, for a codec that reads them (`BlockStoredCodec`), blocks keep document numbers apart from
positions (`postings_format`). Only what the searchkit schema uses is supported — no term vectors,
no separate spelling fields, no inlined postings; `supports` says whether a schema and codec qualify.
"""

from __future__ import annotations

import functools
import heapq
import operator
import pickle
import struct
import zlib
from array import array
from itertools import accumulate, compress
from typing import Any, Iterable, Iterator

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.reading import SegmentReader
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from .postings_format import (
    SPLIT_INFO, SPLIT_MARKER, TAIL_PICKLED, TAIL_POSITIONS, CompactPositions, head_and_tail, pack_head, pack_positions_tail,
    read_block_info,
)
from . import pair_lists
from .schema import NewsText, PreAnalyzed, WordPairs

# Memory a buffered posting takes besides its encoded positions: three list slots and their
# share of the lists' spare room (document numbers, weights and one-position values are shared
# objects); a new term takes three times that more. On Reuters this estimate is ~8% above what
# tracemalloc measures (6,000 stories: 39.8 MB estimated, 37.0 MB taken). Pair entries
# (`pair_lists`) are counted at their 8 bytes each.
_POSTING_OVERHEAD = 28
_BLOCK_LENGTH = struct.Struct("!i")
_TERM_INFO = W3TermInfo._struct  # flags, weight, doc frequency, min/max length bytes, max weight, first/last id
_KEY_VALUE_LENGTHS = struct.Struct("!ii")  # filetables' `_lengths`: each term index entry starts with these
_FLUSH_BYTES = 1 << 20
_SHORT_VALUE = 300  # characters: field values up to this long have their postings remembered per file
COMPRESS_FROM = 100


class IndexedLength(int):
    """A document's field value once `invert_documents` has taken its postings: its length.

    The value itself stays in the document under Whoosh's `_stored_<field>` key, for the stored
    field and the column.
    """

    __slots__ = ()


# One file's postings inverted in a reader process: field name → term bytes → [document's place in
# the file, weight, encoded value, …], and the writer memory they will take (`memory_used`).
InvertedFile = tuple[dict[str, dict[bytes, list[Any]]], int]


class _Weights(dict):  # type: ignore[type-arg]
    """frequency → boost · frequency, one float object for each: most postings' weights are a
    handful of values, and a float apiece would be a third of a buffered posting's memory."""

    def __init__(self, boost: float) -> None:
        super().__init__()
        self.boost = boost

    def __missing__(self, freq: int) -> float:
        weight = self[freq] = self.boost * freq
        return weight


@functools.lru_cache(maxsize=None)
def _weights(boost: float) -> _Weights:
    return _Weights(boost)


def invert_documents(documents: list[dict[str, Any]], schema: Any) -> InvertedFile | None:
    """Take the postings out of one file's documents, for `DirectSegmentWriter.add_documents`.

    Runs in the reader processes, so that the writing process neither indexes field values nor
    handles each posting on its own: it adds a file's postings a term at a time. Each indexed
    value in `documents` is replaced by its `IndexedLength`. Returns None (documents untouched)
    for documents with Whoosh boosts, which the writer applies itself.
    """
    if any(name.endswith("_boost") for document in documents for name in document if name.startswith("_")):
        return None
    fields: dict[str, dict[bytes, list[Any]]] = {}
    buffered = 0
    # The postings of short values by (field, value): a file's articles share their path, language
    # and often keywords, and Whoosh's analyzers for those are generators several layers deep.
    known: dict[tuple[str, str], list[tuple[bytes, int, float, bytes]]] = {}
    for place, document in enumerate(documents):
        for name in [name for name in document if not name.startswith("_")]:
            value = document[name]
            if value is None:
                continue
            field = schema[name]
            if not field.indexed:
                continue
            terms = fields.get(name)
            if terms is None:
                terms = fields[name] = {}
            scorable = field.scorable
            length = 0
            if type(value) is PreAnalyzed and type(field) is NewsText and type(field.format) is CompactPositions and scorable:
                # Most postings: what NewsText.index would yield, taken straight from the tuples.
                words, freqs, encoded = value
                weight_of = _weights(float(field.format.field_boost))
                get = terms.get
                new_terms = 0
                for tbytes, freq, vbytes in zip(words, freqs, encoded):
                    postings = get(tbytes)
                    if postings is None:
                        terms[tbytes] = [place, weight_of[freq], vbytes]
                        new_terms += 1
                    else:
                        postings += (place, weight_of[freq], vbytes)
                buffered += sum(map(len, encoded)) + _POSTING_OVERHEAD * (len(words) + 3 * new_terms)
                document.setdefault("_stored_" + name, value)
                document[name] = IndexedLength(sum(freqs))
                continue
            if type(value) is str and len(value) <= _SHORT_VALUE:
                items = known.get((name, value))
                if items is None:
                    items = known[(name, value)] = list(field.index(value))
            else:
                items = field.index(value)
            for tbytes, freq, weight, vbytes in items:
                weight *= 1.0  # Whoosh multiplies by the field boost: its weights are floats
                if scorable:
                    length += freq
                if vbytes is None:
                    vbytes = b""
                buffered += len(vbytes) + _POSTING_OVERHEAD
                postings = terms.get(tbytes)
                if postings is None:
                    terms[tbytes] = [place, weight, vbytes]
                    buffered += 3 * _POSTING_OVERHEAD
                else:
                    postings += (place, weight, vbytes)
            document.setdefault("_stored_" + name, value)
            document[name] = IndexedLength(length)
    return fields, buffered


class _Unlisted:
    """What `SegmentWriter` needs of an index to write a segment no table of contents lists yet."""

    def __init__(self, storage: Any, schema: Any, indexname: str) -> None:
        self.storage = storage
        self.schema = schema
        self.indexname = indexname

    def _read_toc(self) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(generation=-1, schema=self.schema, segments=[])


def staging_writer(index_dir: str, staging_name: str, schema: Any, codec: Any, limitmb: int) -> DirectSegmentWriter:
    """A writer of one segment in `index_dir` named `<staging_name>_<id>.*`, outside the index
    until the writing process `adopt`s it. Reader processes build segments with these."""
    from whoosh.filedb.filestore import FileStorage, RamStorage

    class _Storage(FileStorage):  # type: ignore[misc]
        def temp_storage(self, name: str | None = None) -> Any:
            return RamStorage()  # for Whoosh's posting pool, which this writer never fills

    return DirectSegmentWriter(
        _Unlisted(_Storage(index_dir), schema, staging_name), _lk=False, limitmb=limitmb, compound=False, codec=codec
    )


def supports(schema: Any, codec: Any) -> bool:
    """Whether `DirectSegmentWriter` writes exactly what Whoosh would for this schema and codec."""
    if not isinstance(codec, W3Codec) or codec._inlinelimit > 1:
        return False
    return not any(field.vector or field.separate_spelling() for _, field in schema.items())


class DirectSegmentWriter(SegmentWriter):  # type: ignore[misc]
    """`whoosh.writing.SegmentWriter` without the posting pool; see the module docstring."""

    compress_from = COMPRESS_FROM
    # Blocks in `postings_format`'s split layout when the codec reads them (`BlockStoredCodec`);
    # False writes Whoosh 3's own blocks (what the tests compare byte for byte with Whoosh's writer).
    split_blocks = True

    def __init__(self, ix: Any, limitmb: int = 128, **kwargs: Any) -> None:
        # field name → term bytes → chunks [first docnum, postings, first docnum, postings, …] in
        # docnum order, where postings are [docnum - first, weight, encoded value, …]: a file
        # inverted by `invert_documents` joins as one chunk per term; documents added one by one
        # go to chunks with first docnum 0.
        self._inverted: dict[str, dict[bytes, list[Any]]] = {}
        self._buffered_bytes = 0
        self._memory_limit = limitmb * 1024 * 1024
        # Segments merged into this one: (our own reader of it, first new docnum, old → new docnum
        # map when it has deletions). Own readers, because the merge policy closes the one it passes.
        self._merged: list[tuple[Any, int, dict[int, int] | None]] = []
        # The documents' pair entries (`pair_lists`), and whether every document came with its
        # pairs: a segment gets a pair file only then.
        self._pair_entries = array("Q")
        self._pairs_complete = True
        super().__init__(ix, limitmb=limitmb, **kwargs)
        pairs = self.schema["pairs"] if "pairs" in self.schema else None
        self._word_pairs = pairs if type(pairs) is WordPairs and pairs.words else None
        if not supports(self.schema, self.codec):
            self.cancel()
            raise ValueError("DirectSegmentWriter cannot write this schema or codec; use SegmentWriter")

    # --- segments written elsewhere ------------------------------------------------------

    def write_segment(self) -> Any:
        """Finish a `staging_writer`'s segment without a table of contents; returns the Segment."""
        self._check_state()
        segment = self._finalize_segment() if self._added else None
        if segment is None:
            self._close_segment()
        self._finish()
        return segment

    def adopt(self, segment: Any) -> None:
        """Take a staged segment (`staging_writer`) into the index: its files are renamed to the
        index's names and the next commit lists it (and may merge it, like any other)."""
        self._check_state()
        old_prefix = segment.segment_id() + "."
        staged = [name for name in self.storage.list() if name.startswith(old_prefix)]
        segment.indexname = self.indexname
        for name in staged:
            self.storage.rename_file(name, segment.segment_id() + "." + name[len(old_prefix):])
        self.segments.append(segment)
        self._setup_doc_offsets()
        if self._searcher is not None:  # cached by delete_by_term; it would not see the segment
            self._searcher._orig_close()
            self._searcher = None

    # --- memory -----------------------------------------------------------------------------

    def memory_used(self) -> int:
        """Estimated bytes held by buffered postings."""
        return self._buffered_bytes

    def memory_limit(self) -> int:
        return self._memory_limit

    # --- documents ------------------------------------------------------------------------

    def add_documents(self, documents: list[dict[str, Any]], inverted: InvertedFile | None = None) -> None:
        """Add one file's documents; `inverted` is what `invert_documents` took from them."""
        first = self.docnum
        for document in documents:
            self.add_document(**document)
        if inverted is None:
            return
        fields, buffered = inverted
        chunks_added = 0
        for fieldname, terms in fields.items():
            mine = self._inverted.get(fieldname)
            if mine is None:
                mine = self._inverted[fieldname] = {}
            for term, postings in terms.items():
                chunks = mine.get(term)
                if chunks is None:
                    mine[term] = [first, postings]
                else:
                    chunks += (first, postings)
            chunks_added += len(terms)
        self._buffered_bytes += buffered + 2 * _POSTING_OVERHEAD * chunks_added

    def add_document(self, **fields: Any) -> None:
        # Whoosh's `SegmentWriter.add_document`, with postings going to `self._inverted`.
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        inverted = self._inverted
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        buffered = 0
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if type(value) is IndexedLength:
                    length = int(value)  # its postings come in add_documents
                elif field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    terms = inverted.get(fieldname)
                    if terms is None:
                        terms = inverted[fieldname] = {}
                    scorable = field.scorable
                    for tbytes, freq, weight, vbytes in field.index(value):
                        weight *= fieldboost  # also for 1.0: Whoosh's weights are floats
                        if scorable:
                            length += freq
                        if vbytes is None:
                            vbytes = b""
                        buffered += len(vbytes)
                        chunks = terms.get(tbytes)
                        if chunks is None:
                            terms[tbytes] = [0, [docnum, weight, vbytes]]
                            buffered += 5 * _POSTING_OVERHEAD  # the term's dict entry and lists
                        elif chunks[-2] == 0:
                            chunks[-1] += (docnum, weight, vbytes)
                        else:
                            chunks += (0, [docnum, weight, vbytes])
                            buffered += 2 * _POSTING_OVERHEAD
                        buffered += _POSTING_OVERHEAD
                customval = fields.get("_stored_%s" % fieldname, value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        if self._word_pairs is not None:
            keys = fields.get("_pairs")
            if keys is None:
                self._pairs_complete = False
            elif keys:
                self._pair_entries.extend(pair_lists.with_document(keys, docnum))
                buffered += 8 * len(keys)
        self._buffered_bytes += buffered
        self._added = True
        self.docnum += 1

    def add_reader(self, reader: Any) -> None:
        # Whoosh's `add_reader` writes the per-document data now and pools every posting; here the
        # postings stay in the segment's files until the flush reads them block by block.
        if not isinstance(reader, SegmentReader):
            raise TypeError("DirectSegmentWriter merges whole segments (a SegmentReader), not %r" % type(reader))
        self._check_state()
        basedoc = self.docnum
        indexed = {name for name in reader.indexed_field_names() if name in self.schema}
        docmap = self.write_per_doc(set(self.schema.names()) | indexed, reader)
        self._merged.append((SegmentReader(self.storage, self.schema, reader.segment()), basedoc, docmap))
        self._added = True

    # --- flush ----------------------------------------------------------------------------

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        try:
            self._write_postings(lengths)
            self._write_pairs()
        finally:
            lengths.close()
            self._close_merged()
        self.fieldwriter.close()

    def _write_pairs(self) -> None:
        """The segment's pair file (`pair_lists`): its new documents' entries and those of the
        segments merged into it; none when some document or merged segment has no pairs."""
        word_pairs, buffered = self._word_pairs, self._pair_entries
        self._pair_entries = array("Q")
        if word_pairs is None or not self._pairs_complete:
            return
        merged = []
        try:
            for reader, basedoc, docmap in self._merged:
                lists = pair_lists.open_lists(reader._storage, reader.segment(), word_pairs.fingerprint)
                if lists is None:
                    return  # its documents' pairs are unknown: the merged segment can have none
                merged.append((lists, docmap, basedoc))
            entries = sorted(buffered)  # only once the file will be written
            del buffered
            handle = self.newsegment.create_file(self.storage, pair_lists.EXTENSION)
            if merged:
                pair_lists.write_merged(handle, word_pairs.fingerprint, entries, merged)
            else:
                pair_lists.write(handle, word_pairs.fingerprint, entries)
        finally:
            for lists, _, _ in merged:
                lists.close()

    def _close_segment(self) -> None:
        self._close_merged()
        self._inverted = {}
        super()._close_segment()

    def _close_merged(self) -> None:
        merged, self._merged = self._merged, []
        for reader, _, _ in merged:
            reader.close()

    def _write_postings(self, lengths: Any) -> None:
        fieldwriter = self.fieldwriter
        fieldnames = set(self._inverted)
        for reader, _, _ in self._merged:
            fieldnames.update(name for name in reader.indexed_field_names() if name in self.schema)
        split = self.split_blocks and getattr(self.codec, "split_postings", False)
        term_writer = _TermWriter(fieldwriter._postfile, fieldwriter._tindex, self.codec, self.compress_from, split)
        # Fields in name order, as Whoosh's sorted pool gives them (the term index's field ids follow).
        for fieldname in sorted(fieldnames):
            field = self.schema[fieldname]

            def start_field(fieldname: str = fieldname, field: Any = field) -> bytes:
                # Called at the field's first term with postings left: Whoosh gives no field id
                # to a field whose every posting a merge dropped.
                fieldwriter.start_field(fieldname, field)
                return pack_ushort(fieldwriter._fieldid)

            term_writer.start_field(
                start_field,
                field.format,
                _field_lengths(lengths, fieldname, self.docnum) if field.scorable else None,
            )
            sources: list[Iterable[tuple[bytes, int, Any]]] = []
            in_memory = self._inverted.pop(fieldname, None)
            if in_memory:
                sources.append((term, 0, postings) for term, postings in sorted(in_memory.items()))
            for number, (reader, _, _) in enumerate(self._merged, start=1):
                sources.append(_segment_terms(reader, fieldname, number))
            term = None
            parts: list[tuple[int, Any]] = []
            # (term, source number) is unique, so the merge never compares two payloads.
            for next_term, number, payload in heapq.merge(*sources):
                if next_term != term:
                    if parts:
                        term_writer.write(term, self._postings(fieldname, parts))
                    term, parts = next_term, []
                parts.append((number, payload))
            if parts:
                term_writer.write(term, self._postings(fieldname, parts))
            if term_writer.field_started():
                fieldwriter.finish_field()
        term_writer.flush()
        self._buffered_bytes = 0

    def _postings(self, fieldname: str, parts: list[tuple[int, Any]]) -> tuple[list[int], list[float], list[Any]]:
        """A term's postings from each source, in docnum order: new documents, then merged segments."""
        if len(parts) == 1 and parts[0][0] == 0 and len(parts[0][1]) == 2:
            first, postings = parts[0][1]
            places = postings[0::3]
            return (list(map(first.__add__, places)) if first else places), postings[1::3], postings[2::3]
        ids: list[int] = []
        weights: list[float] = []
        values: list[Any] = []
        for number, payload in parts:
            if number == 0:
                for i in range(0, len(payload), 2):
                    first, postings = payload[i], payload[i + 1]
                    ids += map(first.__add__, postings[0::3]) if first else postings[0::3]
                    weights += postings[1::3]
                    values += postings[2::3]
                continue
            reader, basedoc, docmap = self._merged[number - 1]
            fixedsize = self.schema[fieldname].format.fixed_value_size()
            for old_ids, old_weights, old_values in _read_postings(reader, payload, fixedsize):
                if docmap is None:
                    ids += map(basedoc.__add__, old_ids)
                    weights += old_weights
                    values += old_values
                    continue
                new_ids = list(map(docmap.get, old_ids))
                if None in new_ids:  # deleted documents are dropped by the merge
                    live = [new is not None for new in new_ids]
                    ids += compress(new_ids, live)
                    weights += compress(old_weights, live)
                    values += compress(old_values, live)
                else:
                    ids += new_ids
                    weights += old_weights
                    values += old_values
        return ids, weights, values


def _field_lengths(lengths: Any, fieldname: str, doc_count: int) -> list[int]:
    # What Whoosh's postings writer is given for each posting: the stored (byte-rounded) length.
    length = lengths.doc_field_length
    return [length(docnum, fieldname) or 0 for docnum in range(doc_count)]


def _segment_terms(reader: Any, fieldname: str, number: int) -> Iterator[tuple[bytes, int, Any]]:
    """(term bytes, `number`, term info) for a segment's terms in `fieldname`, in order."""
    for (name, term), terminfo in reader._terms.items_from(fieldname, b""):
        if name != fieldname:
            return
        yield term, number, terminfo


def _read_postings(reader: Any, terminfo: Any, fixedsize: int | None) -> Iterator[tuple[list[int], list[float], list[Any]]]:
    """A term's postings in a Whoosh 3 segment, a block at a time (W3LeafMatcher's format)."""
    if terminfo.is_inlined():
        ids, weights, values = terminfo.inlined_postings()
        yield list(ids), list(weights), list(values)
        return
    offset, length = terminfo.extent()
    if isinstance(length, tuple):
        length = length[0]  # W3TermInfo.from_bytes leaves the length as struct.unpack's tuple
    data = reader._terms._postfile.get(offset, length)
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError("postings of a merged segment do not start with Whoosh 3's block tag")
    position = 4
    while True:
        (block_length,) = _BLOCK_LENGTH.unpack_from(data, position)
        last = block_length < 0
        end = position + 4 + abs(block_length)
        info, start = read_block_info(data, position + 4)
        count = info[0]
        (deltas, weights), values = head_and_tail(data, info, start, end)
        if weights is None:
            weights = [1.0] * count
        elif isinstance(weights, float):
            weights = [weights] * count
        if fixedsize is None or fixedsize < 0:
            values = list(values)
        elif fixedsize == 0:
            values = [b""] * count
        else:
            values = [values[i : i + fixedsize] for i in range(0, len(values), fixedsize)]
        yield list(accumulate(deltas)), list(weights), values
        if last:
            return
        position = end


# Whoosh's one-byte field lengths (`length_to_byte`, a bisection) for the lengths news stories have.
_LENGTH_BYTES = [length_to_byte(n) for n in range(4096)]


def _length_byte(length: int | None) -> int:
    if length is None:
        return 0
    return _LENGTH_BYTES[length] if length < 4096 else length_to_byte(length)  # type: ignore[no-any-return]


class _TermWriter:
    """Writes terms as `W3FieldWriter`, `W3PostingsWriter` and `OrderedHashWriter` do together,
    a term at a time instead of a posting at a time.

    Bytes for the postings and term files are gathered in buffers and written in large pieces;
    the offsets Whoosh would take from `tell()` are counted instead. Call `flush` before anything
    else writes to either file.
    """

    def __init__(self, postfile: Any, term_index: Any, codec: Any, compress_from: int, split: bool) -> None:
        self._split = split
        self._postfile = postfile
        self._term_index = term_index
        self._block_limit = codec._blocklimit
        self._compression = codec._compression
        self._compress_from = compress_from
        self._start_field: Any = None
        self._prefix: bytes | None = None
        self._fixedsize: int | None = None
        self._compact_positions = False
        self._lengths: list[int] | None = None
        self._postings = bytearray()
        self._postings_at = postfile.tell()  # file offset of the buffer's first byte
        self._terms = bytearray()
        self._terms_at = term_index.dbfile.tell()

    def start_field(self, start: Any, format_: Any, lengths: list[int] | None) -> None:
        """A new field: `start()` opens it in the term index and returns its key prefix."""
        self._start_field = start
        self._prefix = None
        self._fixedsize = format_.fixed_value_size()
        self._compact_positions = self._split and type(format_) is CompactPositions
        self._lengths = lengths

    def field_started(self) -> bool:
        return self._prefix is not None

    def write(self, term: bytes, postings: tuple[list[int], list[float], list[Any]]) -> None:
        ids, weights, values = postings
        if not ids:
            return  # every document with the term was deleted: a merge drops the term
        if self._prefix is None:
            self._prefix = self._start_field()
        buffer = self._postings
        start = self._postings_at + len(buffer)
        buffer += WHOOSH3_HEADER_MAGIC
        # The term's statistics, as W3TermInfo.add_block gathers them block by block.
        total_weight: float = 0
        minlength: int | None = None
        maxlength = 0
        maxweight: float = 0
        limit = self._block_limit
        count = len(ids)
        for first in range(0, count, limit):
            block_weights, block_min, block_max, block_top = self._write_block(
                ids[first : first + limit], weights[first : first + limit],
                values[first : first + limit], last=first + limit >= count,
            )
            total_weight += sum(block_weights)
            if minlength is None:
                minlength = block_min
            elif block_min is not None:
                minlength = min(minlength, block_min)
            maxlength = max(maxlength, block_max)
            maxweight = max(maxweight, block_top)
        length = self._postings_at + len(buffer) - start
        terminfo = _TERM_INFO.pack(
            False, total_weight, count, _length_byte(minlength), _length_byte(maxlength), maxweight, ids[0], ids[-1],
        ) + pack_long(start) + pack_int(length)
        self._add_term(self._prefix + term, terminfo)
        if len(buffer) > _FLUSH_BYTES:
            self._flush_postings()

    def _add_term(self, key: bytes, value: bytes) -> None:
        # OrderedHashWriter.add, with the file position counted rather than asked for.
        index = self._term_index
        if key <= index.lastkey:
            raise ValueError("Keys must increase: %r..%r" % (index.lastkey, key))
        terms = self._terms
        position = self._terms_at + len(terms)
        index.index.append(position)
        terms += _KEY_VALUE_LENGTHS.pack(len(key), len(value))
        terms += key
        terms += value
        h = index.hashfn(key)
        index.buckets[h & 255].append((h, position))
        index.lastkey = key
        if len(terms) > _FLUSH_BYTES:
            self._flush_terms()

    def flush(self) -> None:
        self._flush_postings()
        self._flush_terms()

    def _flush_postings(self) -> None:
        self._postfile.write(bytes(self._postings))
        self._postings_at += len(self._postings)
        self._postings.clear()

    def _flush_terms(self) -> None:
        self._term_index.dbfile.write(bytes(self._terms))
        self._terms_at += len(self._terms)
        self._terms.clear()

    def _compressed(self, data: bytes) -> tuple[bytes, int]:
        """`data` compressed at the codec's level, or as it is when too short to gain (level 0)."""
        if self._compression and len(data) >= self._compress_from:
            return zlib.compress(data, self._compression), self._compression
        return data, 0

    def _write_block(
        self, ids: list[int], weights: list[float], values: list[Any], last: bool
    ) -> tuple[array, int | None, int, float]:
        """Append one block (W3PostingsWriter._write_block); returns its weights as stored, its
        shortest and longest field length and its highest weight."""
        lengths = self._lengths
        count = len(ids)
        if lengths is None:
            minlength, maxlength = None, 0
        elif count == 1:  # most blocks: most terms are in one document of a segment
            maxlength = lengths[ids[0]]
            minlength = maxlength or None
        else:
            block_lengths = list(map(lengths.__getitem__, ids))
            minlength = min(filter(None, block_lengths), default=None)
            maxlength = max(block_lengths)
        top = max(weights)
        if not top > 0:
            top = 0
        stored_weights = array("f", weights)

        # Delta-coded ids, the weights, then the values by the format's fixed size.
        deltas = tuple(ids) if count == 1 else tuple(map(operator.sub, ids, [0] + ids[:-1]))
        fixedsize = self._fixedsize
        mini_values: Any = None  # a positions tail (`_compact_positions`) takes `values` as they are
        if fixedsize != 0 and not self._compact_positions:
            present = values if all(values) else [v for v in values if v]
            mini_values = tuple(present) if fixedsize is None or fixedsize < 0 else b"".join(present)
        if self._split:
            # `postings_format`: ids and weights (the head) apart from the values (the tail).
            head, head_compression = self._compressed(pack_head(deltas, stored_weights))
            layout = TAIL_PICKLED
            if self._compact_positions:
                layout = TAIL_POSITIONS
                tail, tail_compression = self._compressed(pack_positions_tail(values))
            elif mini_values is None:
                tail, tail_compression = b"", 0
            else:
                tail, tail_compression = self._compressed(pickle.dumps(mini_values, 2))
            databytes = head + tail
            infobytes = SPLIT_INFO.pack(
                SPLIT_MARKER, count, ids[-1], top, head_compression, _length_byte(minlength), _length_byte(maxlength),
                len(head), tail_compression, layout,
            )
        else:
            # Whoosh's minified weights: None when all are 1.0, one number when all are equal.
            if stored_weights.count(1.0) == count:
                mini_weights: Any = None
            elif stored_weights.count(stored_weights[0]) == count:
                mini_weights = stored_weights[0]
            else:
                mini_weights = tuple(stored_weights)
            databytes, compression = self._compressed(pickle.dumps((deltas, mini_weights, mini_values), 2))
            info = (count, ids[-1], top, compression, _length_byte(minlength), _length_byte(maxlength))
            infobytes = pickle.dumps(info, 2)
        block_length = len(infobytes) + len(databytes)
        buffer = self._postings
        buffer += _BLOCK_LENGTH.pack(-block_length if last else block_length)
        buffer += infobytes
        buffer += databytes
        return stored_weights, minlength, maxlength, top
