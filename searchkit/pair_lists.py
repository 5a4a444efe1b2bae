"""Pair lists: which common words stand next to which, per segment, in a file of its own.

`schema.WordPairs` numbers an index's common words and gives each document's pairs as keys;
`segment_writer.DirectSegmentWriter` gathers them with the documents' numbers and writes them at
the segment's end as `<segment id>.pairs`; `bulk_search` reads the documents of one pair from it.

A pair of adjacent common words `a b` in a field is kept in the list of the rarer word (the larger
number) for that field, with a code saying which word the other is and which came first
(`schema.pair_key`). A list is a run of (document number, code) entries sorted by document; the
file holds every list of the segment:

    header     magic, fingerprint of the common words, number of lists   (`_HEADER`)
    lists      the list ids present, ascending                            (uint32 each)
    starts     each list's first entry, and the entry count at the end    (uint32 each)
    documents  each entry's document number                               (uint32 each)
    codes      each entry's code                                          (uint16 each)

all little-endian. The file is written in one go from one sorted array of entries, each packed in
an int as list id << 45 | document << 13 | code, which is also how a merge reads it back. A segment
has the file only when every one of its documents was given its pairs under the index's common
words (the fingerprint says which); a segment without it is searched by positions alone.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from bisect import bisect_left
from itertools import compress, repeat
from operator import and_, eq, or_, rshift
from typing import Any, Iterable, Sequence

EXTENSION = ".pairs"
CODE_BITS = 13
DOC_SHIFT = CODE_BITS
LIST_SHIFT = CODE_BITS + 32
CODE_MASK = (1 << CODE_BITS) - 1
DOC_MASK = (1 << 32) - 1
# Codes are 2·number (+1): the common words are at most this many.
MAX_WORDS = 1 << (CODE_BITS - 1)

_MAGIC = b"SKPAIRS1"
_HEADER = struct.Struct("<8sII")
_BIG_ENDIAN = sys.byteorder == "big"


def fingerprint(words: Sequence[str]) -> int:
    """What identifies a set of numbered common words in a pair file."""
    return zlib.crc32("\n".join(words).encode("utf-8", "surrogatepass"))


def with_document(keys: Iterable[int], docnum: int) -> Iterable[int]:
    """A document's pair keys (`schema.WordPairs.keys`: list id << 45 | code) as entries."""
    return map(or_, keys, repeat(docnum << DOC_SHIFT))


def _little(values: array) -> bytes:
    if _BIG_ENDIAN:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def write(handle: Any, words_fingerprint: int, entries: list[int]) -> None:
    """Write `entries` (sorted, distinct) as a pair file to the open `handle`, and close it."""
    list_of = list(map(rshift, entries, repeat(LIST_SHIFT)))
    lists = sorted(set(list_of))
    starts = [bisect_left(list_of, list_id) for list_id in lists] + [len(entries)]
    documents = array("I", map(and_, map(rshift, entries, repeat(DOC_SHIFT)), repeat(DOC_MASK)))
    codes = array("H", map(and_, entries, repeat(CODE_MASK)))
    handle.write(_HEADER.pack(_MAGIC, words_fingerprint, len(lists)))
    for part in (array("I", lists), array("I", starts), documents, codes):
        handle.write(_little(part))
    handle.close()


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
        """The documents whose entries in list `list_id` include `code`."""
        start, end = self._span(list_id)
        if start == end:
            return set()
        documents = _read_array("I", self._file.get(self._documents_at + 4 * start, 4 * (end - start)))
        codes = _read_array("H", self._file.get(self._codes_at + 2 * start, 2 * (end - start)))
        return set(compress(documents, map(eq, codes, repeat(code))))

    def entries(self, docmap: dict[int, int] | None, basedoc: int) -> list[int]:
        """Every entry, its document renumbered for a merge: by `docmap` (deleted ones dropped)
        or moved by `basedoc`."""
        if not self._entries:
            return []
        documents = _read_array("I", self._file.get(self._documents_at, 4 * self._entries))
        codes = _read_array("H", self._file.get(self._codes_at, 2 * self._entries))
        lists = []
        for place, list_id in enumerate(self._lists):
            lists += repeat(list_id << LIST_SHIFT, self._starts[place + 1] - self._starts[place])
        if docmap is None:
            renumbered: Iterable[Any] = map(basedoc.__add__, documents)
            keep = None
        else:
            renumbered = list(map(docmap.get, documents))
            keep = [docnum is not None for docnum in renumbered]
            renumbered = [docnum for docnum in renumbered if docnum is not None]
            lists, codes = list(compress(lists, keep)), list(compress(codes, keep))
        return list(map(or_, map(or_, lists, map((1 << DOC_SHIFT).__mul__, renumbered)), codes))

    def close(self) -> None:
        self._file.close()


def open_lists(storage: Any, segment: Any, words_fingerprint: int) -> PairLists | None:
    """The segment's pair file, when it has one for these common words."""
    name = segment.make_filename(EXTENSION)
    if not storage.file_exists(name):
        return None
    lists = PairLists(storage.open_file(name))
    if lists.fingerprint != words_fingerprint:
        lists.close()
        return None
    return lists


__all__ = ["EXTENSION", "MAX_WORDS", "PairLists", "fingerprint", "open_lists", "with_document", "write"]
