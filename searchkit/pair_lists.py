"""Pair lists: which common words stand next to which, per segment, in a file of its own.

`schema.WordPairs` numbers an index's common words and gives each document's pairs as keys;
`segment_writer.DirectSegmentWriter` gathers them with the documents' numbers and writes them at
the segment's end as `<segment id>.pairs`; `bulk_search` reads the documents of one pair from it.

A pair of adjacent common words `a b` in a field is kept in the list of `a` for that field, with
the code of `b` (`schema.pair_key`). A key is list << 16 | code; an entry, key << 32 | document
number, so that sorted entries run by list, then code, then document: one pair's documents are one
run (a document holding the pair twice is in it twice). The file:

    header     magic, fingerprint of the common words, number of lists   (`_HEADER`)
    lists      the list ids present, ascending                            (uint32 each)
    starts     each list's first entry, and the entry count at the end    (uint32 each)
    documents  each entry's document number                               (uint32 each)
    codes      each entry's code                                          (uint16 each)

all little-endian, cut from the sorted entries as one array of uint64 in C. A segment has the file
only when every one of its documents was given its pairs under the index's common words (the
fingerprint says which); a segment without it is searched by positions alone.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from itertools import compress, repeat
from operator import add, is_not, lshift, or_
from typing import Any, Iterable, Sequence

EXTENSION = ".pairs"
LIST_SHIFT = 16  # in a key
KEY_SHIFT = 32  # in an entry
# Lists are 2·number + field and codes number + 1, 16 bits each: the common words are at most this many.
MAX_WORDS = 1 << 15

# The second layout (lists by first word). A file of the first (lists by the rarer word, which
# `--phrase-pairs` wrote before) is not read: its segment's phrases use positions.
_MAGIC = b"SKPAIRS2"
_HEADER = struct.Struct("<8sII")
_BIG_ENDIAN = sys.byteorder == "big"


def fingerprint(words: Sequence[str]) -> int:
    """What identifies a set of numbered common words in a pair file."""
    return zlib.crc32("\n".join(words).encode("utf-8", "surrogatepass"))


def with_document(keys: Iterable[int], docnum: int) -> Iterable[int]:
    """A document's pair keys (`schema.WordPairs.keys`) as entries."""
    return map(or_, map(lshift, keys, repeat(KEY_SHIFT)), repeat(docnum))


def write(handle: Any, words_fingerprint: int, entries: list[int]) -> None:
    """Write `entries` (sorted) as a pair file to the open `handle`, and close it."""
    packed = array("Q", entries)
    if _BIG_ENDIAN:
        packed.byteswap()
    # Each entry is 8 bytes, little-endian: document (4), code (2), list (2); the columns are
    # strided copies of them.
    raw = memoryview(packed).cast("B")
    documents = raw.cast("I")[0::2].tobytes()
    halves = raw.cast("H")
    codes = halves[2::4].tobytes()
    list_of = _read_array("H", halves[3::4].tobytes())
    lists = sorted(set(list_of))
    starts = [bisect_left(list_of, list_id) for list_id in lists] + [len(entries)]
    _write_file(handle, words_fingerprint, lists, starts, documents, codes)


def write_merged(handle: Any, words_fingerprint: int, entries: list[int], merged: list[tuple[PairLists, dict[int, int] | None, int]]) -> None:
    """Write a merged segment's pair file to the open `handle`, and close it: `entries` (sorted)
    for its new documents, and each merged segment's (lists, docmap, basedoc) renumbered.

    List by list, so that a merge of many segments holds one list's entries as Python integers at a
    time (~40 bytes each), not all of them: the columns are built as packed arrays."""
    list_ids = sorted(set(_read_array("H", _entry_column(entries, 3)) if entries else ()).union(*(lists.list_ids() for lists, _, _ in merged)))
    documents, codes = bytearray(), bytearray()  # little-endian columns
    starts = []
    at = 0
    for list_id in list_ids:
        low = list_id << (LIST_SHIFT + KEY_SHIFT)
        first = bisect_left(entries, low, at)
        at = bisect_left(entries, low + (1 << (LIST_SHIFT + KEY_SHIFT)), first)
        combined = entries[first:at]
        for lists, docmap, basedoc in merged:
            combined += lists.list_entries(list_id, docmap, basedoc)
        combined.sort()
        starts.append(len(codes) // 2)
        if combined:
            documents += _entry_column(combined, 0, "I")
            codes += _entry_column(combined, 2)
    starts.append(len(codes) // 2)
    _write_file(handle, words_fingerprint, list_ids, starts, documents, codes)


def _write_file(
    handle: Any, words_fingerprint: int, list_ids: list[int], starts: list[int], documents: bytes | bytearray, codes: bytes | bytearray
) -> None:
    """The file's header, directory and columns (already little-endian) to `handle`, closed then."""
    handle.write(_HEADER.pack(_MAGIC, words_fingerprint, len(list_ids)))
    handle.write(_little(array("I", list_ids)))
    handle.write(_little(array("I", starts)))
    handle.write(documents)
    handle.write(codes)
    handle.close()


def _entry_column(entries: list[int], quarter: int, typecode: str = "H") -> bytes:
    """One column of `entries` as little-endian bytes: the documents (typecode "I", quarter 0),
    the codes (quarter 2) or the lists (quarter 3)."""
    packed = array("Q", entries)
    if _BIG_ENDIAN:
        packed.byteswap()
    raw = memoryview(packed).cast("B")
    if typecode == "I":
        return raw.cast("I")[quarter // 2 :: 2].tobytes()
    return raw.cast("H")[quarter::4].tobytes()


def _little(values: array) -> bytes:
    if _BIG_ENDIAN:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _read_array(typecode: str, data: bytes) -> array:
    values = array(typecode)
    values.frombytes(data)
    if _BIG_ENDIAN:
        values.byteswap()
    return values


class PairLists:
    """A segment's pair file, open: its directory in memory, its entries read as asked."""

    def __init__(self, handle: Any) -> None:
        self._file = handle
        magic, self.fingerprint, count = _HEADER.unpack(handle.get(0, _HEADER.size))
        if magic != _MAGIC:
            raise ValueError("not a pair file")
        at = _HEADER.size
        self._lists = _read_array("I", handle.get(at, 4 * count))
        self._starts = _read_array("I", handle.get(at + 4 * count, 4 * (count + 1)))
        self._entries = self._starts[-1] if count else 0
        self._documents_at = at + 8 * count + 4
        self._codes_at = self._documents_at + 4 * self._entries

    def _span(self, list_id: int) -> tuple[int, int]:
        place = bisect_left(self._lists, list_id)
        if place == len(self._lists) or self._lists[place] != list_id:
            return 0, 0
        return self._starts[place], self._starts[place + 1]

    def holding(self, list_id: int, code: int) -> set[int]:
        """The documents whose entries in list `list_id` have `code`."""
        start, end = self._span(list_id)
        if start == end:
            return set()
        codes = _read_array("H", self._file.get(self._codes_at + 2 * start, 2 * (end - start)))
        first = bisect_left(codes, code)
        past = bisect_right(codes, code, first)
        if first == past:
            return set()
        return set(_read_array("I", self._file.get(self._documents_at + 4 * (start + first), 4 * (past - first))))

    def list_ids(self) -> array:
        """The ids of the lists the file holds, ascending."""
        return self._lists

    def list_entries(self, list_id: int, docmap: dict[int, int] | None, basedoc: int) -> list[int]:
        """The entries of list `list_id`, their documents renumbered for a merge: by `docmap`
        (deleted ones dropped) or moved by `basedoc`."""
        start, end = self._span(list_id)
        if start == end:
            return []
        documents: Any = _read_array("I", self._file.get(self._documents_at + 4 * start, 4 * (end - start)))
        codes: Any = _read_array("H", self._file.get(self._codes_at + 2 * start, 2 * (end - start)))
        # An entry is (list << 16 | code) << 32 | document: the list's part is the same for all.
        keys = map((list_id << (LIST_SHIFT + KEY_SHIFT)).__or__, map(lshift, codes, repeat(KEY_SHIFT)))
        if docmap is None:
            return list(map(add, keys, map(basedoc.__add__, documents)))
        renumbered = list(map(docmap.get, documents))
        kept = list(map(is_not, renumbered, repeat(None)))
        return list(map(add, compress(keys, kept), compress(renumbered, kept)))

    def close(self) -> None:
        self._file.close()


def open_lists(storage: Any, segment: Any, words_fingerprint: int) -> PairLists | None:
    """The segment's pair file, when it has one for these common words."""
    name = segment.make_filename(EXTENSION)
    if not storage.file_exists(name):
        return None
    handle = storage.open_file(name)
    try:
        lists = PairLists(handle)
    except ValueError:  # another layout
        handle.close()
        return None
    if lists.fingerprint != words_fingerprint:
        lists.close()
        return None
    return lists


__all__ = ["EXTENSION", "MAX_WORDS", "PairLists", "fingerprint", "open_lists", "with_document", "write", "write_merged"]
