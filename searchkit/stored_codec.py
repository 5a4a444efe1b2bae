"""The Whoosh codec searchkit writes its segments with: Whoosh 3's, with stored fields compressed in blocks.

Whoosh keeps each document's stored fields (title, body, path, provenance, …) as a pickled dict
compressed with zlib on its own. A news story is a few hundred words, too short for zlib to find
much to share, so the stored-fields column was the largest file of an index: 85 MB of 221 MB on
Reuters ×5. Compressed together, consecutive stories share their field names, paths, datelines
and boilerplate: in blocks of up to `BLOCK_DOCUMENTS` stories (fewer when they pass
`BLOCK_BYTES`) the column is 44% smaller.

Reading one document decompresses its block only, and only as far as that document, found through
a directory of block offsets at the end of the column. Each column reader keeps the last block it
read from, because a page of hits, `show`, a merge and `doctor` read neighbouring documents one
after another.

Whoosh pickles the codec into every segment of the table of contents, so `BlockStoredCodec`
must stay importable under this name: renaming or moving it makes existing indexes unreadable.
Posting blocks are read with `postings_format.SplitBlockMatcher`, which reads both Whoosh 3's blocks
and the split ones `segment_writer` writes. Everything else (terms, lengths, the date column) is
Whoosh 3's own format; plain Whoosh writers in the same process keep writing plain Whoosh 3 segments.

The column, at offsets relative to its start (all integers little-endian):

    block 0 … block n-1    zlib( uint32 end offset of each document's pickle in the block, then the pickles )
    uint32 × n             number of the first document of each block
    uint64 × (n + 1)       offset of each block, then the offset where the blocks end
    trailer                b"SKSB", format version (uint32), n (uint32), documents (uint32)

A document without stored fields is an empty pickle (start == end) and reads as `{}`, as in Whoosh.
"""

from __future__ import annotations

import pickle
import struct
import sys
import zlib
from array import array
from bisect import bisect_right
from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader, W3PerDocWriter
from whoosh.columns import Column, ColumnReader, ColumnWriter

# Measured on Reuters ×1 (median story 0.9 kB pickled): per-document zlib 15.2 MB; blocks of
# 8 stories 9.9 MB, of 16 stories 9.15 MB, of 32 stories 8.7 MB. 16 takes most of the gain while a
# random document costs ~0.05 ms (half an ~18 kB block inflated); the byte limit keeps a block of
# long stories from growing past that. Only the writer uses these two: the reader follows the
# directory, so changing them needs no new schema version.
BLOCK_DOCUMENTS = 16
BLOCK_BYTES = 32 * 1024
_ZLIB_LEVEL = 3  # level 6 was 6% smaller and half as fast to write (Reuters: 47 vs 94 MB/s); 9, 0.1% smaller still
# Pinned rather than HIGHEST_PROTOCOL, so a later Python writes what an earlier one can read.
_PICKLE_PROTOCOL = 5

_STORED = "_stored"  # Whoosh's name for the stored-fields column (file `<segment>._stored.col`)
_MAGIC = b"SKSB"
_FORMAT_VERSION = 1
_TRAILER = struct.Struct("<4sIII")
_BIG_ENDIAN = sys.byteorder == "big"


class StoredFieldsFormatError(ValueError):
    """A stored-fields column that is not in the block format this module writes (a damaged file)."""


class BlockStoredColumn(Column):
    """A column of pickled values, zlib-compressed in blocks of consecutive documents."""

    def writer(self, dbfile: Any) -> _BlockWriter:
        return _BlockWriter(dbfile)

    def reader(self, dbfile: Any, basepos: int, length: int, doccount: int) -> _BlockReader:
        return _BlockReader(dbfile, basepos, length, doccount)

    def default_value(self, reverse: bool = False) -> None:
        return None


class _BlockWriter(ColumnWriter):
    def __init__(self, dbfile: Any) -> None:
        super().__init__(dbfile)
        self._pickles: list[bytes] = []  # of the block being filled
        self._pickled_bytes = 0
        self._first_documents = array("I")
        self._offsets = array("Q")
        self._written = 0  # bytes of blocks written so far

    def add(self, docnum: int, value: Any) -> None:
        # Whoosh adds only documents that have stored fields; the others in between store nothing.
        while self._count < docnum:
            self._append(b"")
        self._append(pickle.dumps(value, _PICKLE_PROTOCOL))

    def _append(self, data: bytes) -> None:
        if not self._pickles:
            self._first_documents.append(self._count)
        self._pickles.append(data)
        self._pickled_bytes += len(data)
        self._count += 1
        if len(self._pickles) >= BLOCK_DOCUMENTS or self._pickled_bytes >= BLOCK_BYTES:
            self._write_block()

    def _write_block(self) -> None:
        if not self._pickles:
            return
        ends = []
        end = 0
        for data in self._pickles:
            end += len(data)
            ends.append(end)
        raw = struct.pack(f"<{len(ends)}I", *ends) + b"".join(self._pickles)
        block = zlib.compress(raw, _ZLIB_LEVEL)
        self._offsets.append(self._written)
        self._dbfile.write(block)
        self._written += len(block)
        self._pickles = []
        self._pickled_bytes = 0

    def finish(self, doccount: int) -> None:
        while self._count < doccount:
            self._append(b"")
        self._write_block()
        self._offsets.append(self._written)
        first_documents, offsets = array("I", self._first_documents), array("Q", self._offsets)
        if _BIG_ENDIAN:
            first_documents.byteswap()
            offsets.byteswap()
        self._dbfile.write(first_documents.tobytes())
        self._dbfile.write(offsets.tobytes())
        self._dbfile.write(_TRAILER.pack(_MAGIC, _FORMAT_VERSION, len(self._first_documents), self._count))


class _BlockReader(ColumnReader):
    def __init__(self, dbfile: Any, basepos: int, length: int, doccount: int) -> None:
        super().__init__(dbfile, basepos, length, doccount)
        self._directory: tuple[array[int], array[int], int] | None = None  # read on first use
        self._block: _OpenBlock | None = None  # the last block read from

    def _read_directory(self) -> tuple[array[int], array[int], int]:
        if self._length < _TRAILER.size:
            raise StoredFieldsFormatError(f"stored-fields column of {self._length} bytes has no directory")
        trailer = self._dbfile.get(self._basepos + self._length - _TRAILER.size, _TRAILER.size)
        magic, version, blocks, documents = _TRAILER.unpack(trailer)
        if magic != _MAGIC or version != _FORMAT_VERSION:
            raise StoredFieldsFormatError(f"stored-fields column has marker {magic!r} version {version}, not {_MAGIC!r} {_FORMAT_VERSION}")
        first_documents, offsets = array("I"), array("Q")
        size = blocks * first_documents.itemsize + (blocks + 1) * offsets.itemsize
        if size > self._length - _TRAILER.size:
            raise StoredFieldsFormatError(f"stored-fields directory of {blocks} blocks overruns its column")
        data = self._dbfile.get(self._basepos + self._length - _TRAILER.size - size, size)
        split = blocks * first_documents.itemsize
        first_documents.frombytes(data[:split])
        offsets.frombytes(data[split:])
        if _BIG_ENDIAN:
            first_documents.byteswap()
            offsets.byteswap()
        self._directory = first_documents, offsets, documents
        return self._directory

    def __getitem__(self, docnum: int) -> Any:
        first_documents, offsets, documents = self._directory or self._read_directory()
        if not 0 <= docnum < documents:
            raise IndexError(f"document {docnum} of a stored-fields column of {documents}")
        index = bisect_right(first_documents, docnum) - 1
        block = self._block
        if block is None or block.index != index:
            start = offsets[index]
            following = first_documents[index + 1] if index + 1 < len(first_documents) else documents
            compressed = self._dbfile.get(self._basepos + start, offsets[index + 1] - start)
            block = self._block = _OpenBlock(index, compressed, following - first_documents[index])
        return block.document(docnum - first_documents[index])


class _OpenBlock:
    """One block, decompressed only as far as the documents read from it so far.

    A random document is on average halfway into its block, so this halves the decompression
    behind a page of hits; reading on through the block (a merge, `doctor`) continues where it was.
    """

    __slots__ = ("index", "_count", "_inflater", "_pending", "_raw", "_ends")

    def __init__(self, index: int, compressed: bytes, count: int) -> None:
        self.index = index
        self._count = count
        self._inflater = zlib.decompressobj()
        self._pending = compressed
        self._raw = bytearray()
        self._ends: tuple[int, ...] | None = None

    def document(self, position: int) -> Any:
        header = 4 * self._count
        if self._ends is None:
            self._inflate_to(header)
            self._ends = struct.unpack_from(f"<{self._count}I", self._raw)
        start = header + (self._ends[position - 1] if position else 0)
        end = header + self._ends[position]
        if position == self._count - 1:
            self._inflate_all()
        elif start != end:
            self._inflate_to(end)
        if start == end:
            return None
        return pickle.loads(self._raw[start:end])

    def _inflate_all(self) -> None:
        # To its end, where zlib checks the block's checksum: reading a segment through (a merge,
        # `doctor`) so notices a damaged block, as Whoosh's per-document zlib would.
        if not self._inflater.eof:
            self._raw += self._inflater.decompress(self._pending)
            self._pending = b""
        if not self._inflater.eof or len(self._raw) != 4 * self._count + (self._ends or (0,))[-1]:
            raise StoredFieldsFormatError(f"stored-fields block {self.index} does not end where its directory says")

    def _inflate_to(self, size: int) -> None:
        while len(self._raw) < size:
            chunk = self._inflater.decompress(self._pending, size - len(self._raw))
            self._pending = self._inflater.unconsumed_tail
            if not chunk:
                raise StoredFieldsFormatError(f"stored-fields block {self.index} ends {size - len(self._raw)} bytes early")
            self._raw += chunk


BLOCK_STORED_COLUMN = BlockStoredColumn()


class BlockStoredCodec(W3Codec):
    """Whoosh 3's codec with stored fields compressed in blocks (see the module docstring).

    Keep the name and module: the table of contents refers to this class by them.
    """

    # Its postings reader reads split blocks (`postings_format`), so `segment_writer` may write them.
    split_postings = True

    def per_document_writer(self, storage: Any, segment: Any) -> BlockStoredPerDocWriter:
        return BlockStoredPerDocWriter(self, storage, segment)

    def per_document_reader(self, storage: Any, segment: Any) -> BlockStoredPerDocReader:
        return BlockStoredPerDocReader(storage, segment)

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None) -> Any:
        # Posting blocks as `segment_writer` writes them, ids apart from positions (`postings_format`).
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        from .postings_format import SplitBlockMatcher

        offset, length = terminfo.extent()
        return SplitBlockMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class BlockStoredPerDocWriter(W3PerDocWriter):
    def _create_column(self, fieldname: str, column: Any) -> None:
        # W3PerDocWriter.__init__ creates the stored-fields column as Whoosh's per-document one.
        super()._create_column(fieldname, BLOCK_STORED_COLUMN if fieldname == _STORED else column)

    def finish_doc(self) -> None:
        stored = self._storedfields
        if stored:
            self.add_column_value(_STORED, BLOCK_STORED_COLUMN, stored)  # pickled now: cleared next
            stored.clear()
        self._indoc = False


class BlockStoredPerDocReader(W3PerDocReader):
    # Whoosh reads stored fields only here: iter_docs and all_stored_fields call this per document.
    def stored_fields(self, docnum: int) -> dict[str, Any]:
        reader = self._cached_reader(_STORED, BLOCK_STORED_COLUMN)
        if reader is None:
            return {}
        value = reader[docnum]
        return {} if value is None else value


__all__ = ["BLOCK_BYTES", "BLOCK_DOCUMENTS", "BlockStoredCodec", "StoredFieldsFormatError"]
