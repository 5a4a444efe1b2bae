"""Posting blocks with the document numbers kept apart from the positions.

A Whoosh 3 posting block is one pickle of (document number deltas, weights, values) — the values
of a body term being each document's encoded positions — compressed as a whole. Counting a
query's matches needs only the document numbers, yet every block had to be inflated and
unpickled whole, positions and all: on Reuters ×5 that was most of the time of a query for a
common word.

`DirectSegmentWriter` (`segment_writer`) writes each block in two parts instead:

    info   pickle (count, last id, max weight, head compression, min length byte,
                   max length byte, head length, tail compression)
    head   pickle (document number deltas, weights), zlib-compressed when long enough
    tail   pickle of the values (absent when the format has none), zlib-compressed likewise

inside Whoosh's block framing (a signed length, negative for a term's last block). Its first six
info fields mean what Whoosh's do, so block skipping works unchanged. `SplitBlockMatcher` reads
the head when asked for ids or weights and the tail only when asked for values (a phrase, a
highlight); it also reads Whoosh's own blocks (a six-field info), which plain Whoosh writers
still write. `BlockStoredCodec.postings_reader` hands it out for every segment.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from itertools import accumulate
from pickle import loads
from typing import Any

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import ReadTooFar
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

_UNREAD = object()  # the values of a split block, before its tail is read


def head_and_tail(block: bytes, info: tuple[Any, ...], start: int, end: int) -> tuple[tuple[Any, Any], Any]:
    """((deltas, weights), values) of the block whose data is `block[start:end]` (either format)."""
    if len(info) == 6:
        data = block[start:end]
        if info[3]:
            data = zlib.decompress(data)
        deltas, weights, values = loads(data)
        return (deltas, weights), values
    head_end = start + info[6]
    head = block[start:head_end]
    if info[3]:
        head = zlib.decompress(head)
    if head_end == end:
        return loads(head), None
    tail = block[head_end:end]
    if info[7]:
        tail = zlib.decompress(tail)
    return loads(head), loads(tail)


class SplitBlockMatcher(W3LeafMatcher):  # type: ignore[misc]
    """Whoosh 3's leaf matcher for split blocks (and Whoosh's own), reading ids without values."""

    _headlength: int | None = None
    _tailcompression = 0

    def _goto(self, position: int) -> None:
        # W3LeafMatcher._goto, reading either info tuple.
        postfile = self._postfile
        self._data = None
        self._ids = None
        self._weights = None
        self._values = None
        self._i = 0
        postfile.seek(position)
        length = postfile.read_int()
        if length < 0:
            self._lastblock = True
            length = -length
        self._nextoffset = position + _INT_SIZE + length
        info = postfile.read_pickle()
        self._dataoffset = postfile.tell()
        self._blocklength, self._maxid, self._maxweight, self._compression, mnlen, mxlen = info[:6]
        if len(info) == 6:
            self._headlength = None
        else:
            self._headlength, self._tailcompression = info[6], info[7]
        self._minlength = byte_to_length(mnlen)
        self._maxlength = byte_to_length(mxlen)

    def _read_data(self) -> None:
        if self._headlength is None:
            super()._read_data()
            return
        head = self._postfile.get(self._dataoffset, self._headlength)
        if self._compression:
            head = zlib.decompress(head)
        deltas, weights = loads(head)
        self._data = (deltas, weights, _UNREAD)

    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()
        # accumulate() undoes the deltas in C; Whoosh's delta_decode is a Python generator.
        self._ids = tuple(accumulate(self._data[0]))

    def skip_to(self, targetid: int) -> None:
        # W3LeafMatcher.skip_to, finding the place in the block by bisection rather than by a
        # next() per posting; an AND of common words calls this for nearly every document.
        if not self.is_active():
            raise ReadTooFar
        if self._ids is None:
            self._read_ids()
        if targetid <= self._ids[self._i]:
            return
        if targetid > self._maxid:
            self._skip_to_block(lambda: targetid > self._maxid)
            if not self.is_active():
                return
            if self._ids is None:
                self._read_ids()
        # The block's last id is at least the target, so the place is inside the block.
        self._i = bisect_left(self._ids, targetid, self._i)

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        if self._data[2] is _UNREAD:
            start = self._dataoffset + self._headlength
            values = None
            if start < self._nextoffset:
                tail = self._postfile.get(start, self._nextoffset - start)
                if self._tailcompression:
                    tail = zlib.decompress(tail)
                values = loads(tail)
            self._data = (self._data[0], self._data[1], values)
        super()._read_values()


__all__ = ["SplitBlockMatcher", "head_and_tail"]
