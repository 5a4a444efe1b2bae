"""How searchkit encodes postings: positions as integers, and blocks with document numbers apart.

Two changes to Whoosh 3's posting files, both measured on Reuters:

**Positions** (`CompactPositions`, the format of every full-text field). Whoosh's `Positions`
encodes each posting's positions as a pickle of their deltas; a block of postings was then a
pickle of those pickles, ~14 bytes a posting before zlib. Here a posting's value is its positions
as little-endian uint32s (`encode_positions`, one C call), and a block's values are written as two
arrays, the position counts and the positions, each in the narrowest unsigned type that holds it:
Reuters' body positions went from 9.2 MB to 1.9 MB a segment after zlib.

**Blocks** (`DirectSegmentWriter` in `segment_writer` writes them). A Whoosh 3 posting block is
one pickle of (document number deltas, weights, values) compressed as a whole, so counting a
query's matches inflated and unpickled every position too. Each block here is

    info   struct `_SPLIT_INFO`: marker b"S", count, last id, max weight, head compression,
           min length byte, max length byte, head length, tail compression, tail layout
    head   the document number deltas and the weights as arrays (`pack_head`), zlib-compressed
           when long enough
    tail   the values, zlib-compressed likewise: a pickle of them (layout 0), or for
           `CompactPositions` (layout 1) the counts and positions arrays (`pack_positions_tail`)

inside Whoosh's block framing (a signed length, negative for a term's last block). The info was a
pickled tuple in Whoosh (~39 bytes a block, most terms having one block); a struct takes 24. Its
first six fields mean what Whoosh's do, so block skipping works unchanged. `SplitBlockMatcher` reads
the head when asked for ids or weights and the tail only when asked for values (a phrase); it also
reads Whoosh's own blocks (a pickled six-field info, never starting with b"S"), which plain Whoosh
writers still write. `BlockStoredCodec.postings_reader` hands it out for every segment.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from array import array
from bisect import bisect_left
from itertools import accumulate, repeat
from pickle import load, loads
from typing import Any, Sequence

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.formats import Positions
from whoosh.matching import ReadTooFar
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

_UNREAD = object()  # the values of a split block, before its tail is read

# --- positions ------------------------------------------------------------------------------------

_BIG_ENDIAN = sys.byteorder == "big"
_U32 = next(code for code in "IL" if array(code).itemsize == 4)
_NARROW = (("B", 1 << 8), ("H", 1 << 16), (_U32, 1 << 32))
_ONE_POSITION: dict[int, bytes] = {}  # the value of most postings: one position
_ONE_POSITION_LIMIT = 1 << 16


def encode_positions(positions: Sequence[int]) -> bytes:
    """A `CompactPositions` value: the positions (ascending) as little-endian uint32s."""
    if len(positions) == 1:
        position = positions[0]
        value = _ONE_POSITION.get(position)
        if value is None:
            value = _ONE_POSITION[position] = struct.pack("<I", position)
            if len(_ONE_POSITION) > _ONE_POSITION_LIMIT:
                _ONE_POSITION.clear()
        return value
    encoded = array(_U32, positions)
    if _BIG_ENDIAN:
        encoded.byteswap()
    return encoded.tobytes()


def decode_positions(value: bytes) -> list[int]:
    decoded = array(_U32)
    decoded.frombytes(value)
    if _BIG_ENDIAN:
        decoded.byteswap()
    return decoded.tolist()


class CompactPositions(Positions):  # type: ignore[misc]
    """Whoosh's `Positions` (phrases, frequencies, weights) with values from `encode_positions`.

    Whoosh pickles this object into the schema of every index: it must stay importable here.
    """

    def encode(self, poslist: Sequence[int]) -> bytes:
        return encode_positions(poslist)

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return decode_positions(valuestring)

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) >> 2

    def decode_weight(self, valuestring: bytes) -> float:
        return (len(valuestring) >> 2) * self.field_boost  # type: ignore[no-any-return]


def _narrowest(values: Any) -> array:
    top = max(values, default=0)
    code = next(code for code, limit in _NARROW if top < limit)
    narrow = array(code, values)
    if _BIG_ENDIAN:
        narrow.byteswap()
    return narrow


_ALL_ONE = b"N"  # a head's weights kind: every weight 1.0, none written (Whoosh's minified None)
_STRUCT_CODES = {"B": "B", "H": "H", _U32: "I"}  # array type code → little-endian struct code


def pack_head(deltas: Sequence[int], weights: array) -> bytes:
    """A split block's head: (deltas type, weights kind, deltas, weights), the deltas in the
    narrowest unsigned type that holds them and the weights as the float32s Whoosh stores, none
    when all are 1.0 (little-endian on every machine).

    Four fifths the size of the pickle it replaced after zlib (a full block of a common word: 210
    bytes, not 263), and read with two `frombytes` rather than by unpickling every number; the
    float32s are copied as they are (making integers of them cost the writer more than the pickle
    did). Most blocks hold one posting (most terms are in one document of a segment): those are
    packed by one struct."""
    if len(weights) == 1:
        delta = deltas[0]
        code = "B" if delta < 256 else "H" if delta < 65536 else _U32
        if weights[0] == 1.0:
            return struct.pack("<cc" + _STRUCT_CODES[code], code.encode(), _ALL_ONE, delta)
        return struct.pack("<cc" + _STRUCT_CODES[code] + "f", code.encode(), b"f", delta, weights[0])
    narrow_deltas = _narrowest(deltas)  # document numbers are below 2³² (Whoosh's own limit)
    if weights.count(1.0) == len(weights):
        return narrow_deltas.typecode.encode() + _ALL_ONE + narrow_deltas.tobytes()
    if _BIG_ENDIAN:
        weights = array("f", weights)
        weights.byteswap()
    return narrow_deltas.typecode.encode() + b"f" + narrow_deltas.tobytes() + weights.tobytes()


def unpack_head(head: bytes, count: int) -> tuple[array, array | None]:
    """(deltas, weights) of a head `pack_head` packed for `count` postings; weights None when all
    are 1.0, else float32s."""
    deltas = array(chr(head[0]))
    weights_at = 2 + count * deltas.itemsize
    deltas.frombytes(head[2:weights_at])
    weights = None
    if head[1:2] != _ALL_ONE:
        weights = array(chr(head[1]))
        weights.frombytes(head[weights_at:])
    if _BIG_ENDIAN:
        deltas.byteswap()
        if weights is not None:
            weights.byteswap()
    return deltas, weights


def pack_positions_tail(values: Sequence[bytes]) -> bytes:
    """A block's `CompactPositions` values as (counts type, positions type, counts, positions)."""
    counts = _narrowest([len(value) >> 2 for value in values])
    wide = array(_U32)
    wide.frombytes(b"".join(values))
    if _BIG_ENDIAN:
        wide.byteswap()
    positions = _narrowest(wide)
    return counts.typecode.encode() + positions.typecode.encode() + counts.tobytes() + positions.tobytes()


def positions_arrays(tail: bytes, count: int) -> tuple[array, array]:
    """(counts, positions) as `pack_positions_tail` packed them for `count` postings, in native order."""
    counts = array(chr(tail[0]))
    positions_at = 2 + count * counts.itemsize
    counts.frombytes(tail[2:positions_at])
    positions = array(chr(tail[1]))
    positions.frombytes(tail[positions_at:])
    if _BIG_ENDIAN:
        counts.byteswap()
        positions.byteswap()
    return counts, positions


def unpack_positions_tail(tail: bytes, count: int) -> list[bytes]:
    """The `count` values `pack_positions_tail` packed, each as `encode_positions` made it."""
    counts, positions = positions_arrays(tail, count)
    wide = positions if positions.typecode == _U32 else array(_U32, positions)
    if _BIG_ENDIAN:
        wide.byteswap()
    raw = wide.tobytes()
    ends = list(accumulate(counts, initial=0))
    return [raw[start << 2 : end << 2] for start, end in zip(ends, ends[1:])]


# --- blocks -----------------------------------------------------------------------------------------

SPLIT_MARKER = b"S"  # a pickle (Whoosh's info) starts with its protocol opcode, 0x80
SPLIT_INFO = struct.Struct("!cHIdBBBIBB")
_BLOCK_LENGTH = struct.Struct("!i")  # a block's byte length after it, negative for the last
TAIL_PICKLED = 0
TAIL_POSITIONS = 1


def read_block_info(data: bytes, position: int) -> tuple[tuple[Any, ...], int]:
    """(info, where the block's data starts) for the info at `data[position:]`, either format.

    The info has six fields (Whoosh's) or nine (`SPLIT_INFO` without its marker)."""
    if data[position : position + 1] == SPLIT_MARKER:
        return SPLIT_INFO.unpack_from(data, position)[1:], position + SPLIT_INFO.size
    stream = io.BytesIO(data)
    stream.seek(position)
    info = load(stream)
    return info, stream.tell()


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
        return unpack_head(head, info[0]), None
    return unpack_head(head, info[0]), _tail_values(block[head_end:end], info)


def _tail_values(tail: bytes, info: tuple[Any, ...]) -> Any:
    if info[7]:
        tail = zlib.decompress(tail)
    if info[8] == TAIL_POSITIONS:
        return unpack_positions_tail(tail, info[0])
    return loads(tail)


def take_block(
    matcher: Any, ids: list[int], weights: list[float], blocks: list[tuple[int, int, int, int]] | None
) -> int:
    """Append the ids and weights of the current block's postings from where `matcher` (a Whoosh 3
    leaf matcher) stands; with `blocks`, also (index in `ids` of the first of them, its index in the
    block, how many, the block's `block_at()`). Returns its index in the block."""
    if matcher._ids is None:
        matcher._read_ids()
    if matcher._weights is None:
        matcher._read_weights()
    start: int = matcher._i
    if blocks is not None:
        blocks.append((len(ids), start, len(matcher._ids) - start, matcher.block_at()))
    ids.extend(matcher._ids[start:] if start else matcher._ids)
    weights.extend(matcher._weights[start:] if start else matcher._weights)
    return start


class SplitBlockMatcher(W3LeafMatcher):  # type: ignore[misc]
    """Whoosh 3's leaf matcher for split blocks (and Whoosh's own), reading ids without values."""

    _headlength: int | None = None
    _info: tuple[Any, ...] = ()
    _block_at = 0  # the file offset of the current block, for `block_positions` to come back to
    _rest: tuple[int, bytes] | None = None  # (file offset, bytes) of the blocks `read_rest` read at once

    def _goto(self, position: int) -> None:
        # W3LeafMatcher._goto, reading either info tuple.
        postfile = self._postfile
        self._data = None
        self._ids = None
        self._weights = None
        self._values = None
        self._i = 0
        self._block_at = position
        postfile.seek(position)
        length = postfile.read_int()
        if length < 0:
            self._lastblock = True
            length = -length
        self._nextoffset = position + _INT_SIZE + length
        if postfile.read(1) == SPLIT_MARKER:
            info = SPLIT_INFO.unpack(SPLIT_MARKER + postfile.read(SPLIT_INFO.size - 1))[1:]
        else:
            postfile.seek(position + _INT_SIZE)
            info = postfile.read_pickle()
        self._dataoffset = postfile.tell()
        self._blocklength, self._maxid, self._maxweight, self._compression, mnlen, mxlen = info[:6]
        self._info = info
        if len(info) == 6:
            self._headlength = None
        else:
            self._headlength = info[6]
        self._minlength = byte_to_length(mnlen)
        self._maxlength = byte_to_length(mxlen)

    def _read_data(self) -> None:
        if self._headlength is None:
            super()._read_data()
            return
        head = self._postfile.get(self._dataoffset, self._headlength)
        if self._compression:
            head = zlib.decompress(head)
        deltas, weights = unpack_head(head, self._blocklength)
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

    def read_rest(self, ids: list[int], weights: list[float], blocks: list[tuple[int, int, int, int]] | None) -> None:
        """Append the ids and weights of every posting from where the matcher stands to the end,
        leaving it inactive; with `blocks`, append (index in `ids` of the block's first posting
        read, that posting's index in the block, postings read, the block's `block_at()`) for each.

        Ranking a page reads whole posting lists: the blocks after the current one are read in one
        piece and taken apart in memory, rather than each by its own seeks and reads (`_goto`).
        From a block in Whoosh's own layout on, blocks are read one by one."""
        in_one_piece = True
        while self.is_active():
            take_block(self, ids, weights, blocks)
            if self._lastblock or not in_one_piece:
                self._next_block()
                continue
            in_one_piece = False  # unless the rest are all split blocks, which ends the loop
            position = self._nextoffset
            length = self._length
            if type(length) is tuple:
                length = length[0]  # W3TermInfo.from_bytes leaves the length as struct.unpack's tuple
            data = self._postfile.get(position, self._startoffset + length - position)
            self._rest = (position, data)
            self._read_split_blocks(data, position, ids, weights, blocks)

    def _read_split_blocks(
        self, data: bytes, base: int, ids: list[int], weights: list[float], blocks: list[tuple[int, int, int, int]] | None
    ) -> None:
        # The blocks in `data` (the file from offset `base` to the postings' end), while they are
        # split blocks: then the matcher is at its end. At a block in Whoosh's own layout, the
        # matcher goes to it (`_goto`), for `read_rest` to read it and what follows the usual way.
        unpack_info, info_size = SPLIT_INFO.unpack_from, SPLIT_INFO.size
        unpack_length = _BLOCK_LENGTH.unpack_from
        position = 0
        while True:
            if data[position + _INT_SIZE : position + _INT_SIZE + 1] != SPLIT_MARKER:
                self._goto(base + position)
                return
            (length,) = unpack_length(data, position)
            _, count, _, _, compression, _, _, head_length, _, _ = unpack_info(data, position + _INT_SIZE)
            head_at = position + _INT_SIZE + info_size
            head = data[head_at : head_at + head_length]
            deltas, block_weights = unpack_head(zlib.decompress(head) if compression else head, count)
            if blocks is not None:
                blocks.append((len(ids), 0, count, base + position))
            ids.extend(accumulate(deltas))
            weights.extend(repeat(1.0, count) if block_weights is None else block_weights)
            if length < 0:
                self._atend = True
                return
            position += _INT_SIZE + length

    def block_at(self) -> int:
        """Where the current block starts, for `block_positions(at)` once the matcher has moved on."""
        return self._block_at

    def block_positions(self, at: int) -> tuple[Sequence[int], Sequence[int]]:
        """(counts, positions) of the block starting at file offset `at` (a `block_at()`): the
        i-th posting has `counts[i]` positions, which follow those of the postings before it.

        A phrase needs the positions of a few documents of a block; this reads them as two arrays
        rather than making an encoded value for each posting. It moves the matcher to that block
        without resetting where its postings end, so call it once the matcher is done with them
        (as `bulk_search` does, after reading every block's ids)."""
        rest = self._rest
        if rest is not None and rest[0] <= at < rest[0] + len(rest[1]):
            # A block `read_rest` read: its tail is in memory already.
            data, place = rest[1], at - rest[0]
            (length,) = _BLOCK_LENGTH.unpack_from(data, place)
            if data[place + _INT_SIZE : place + _INT_SIZE + 1] == SPLIT_MARKER:
                _, count, _, _, _, _, _, head_length, tail_compression, layout = SPLIT_INFO.unpack_from(data, place + _INT_SIZE)
                if layout == TAIL_POSITIONS:
                    tail = data[place + _INT_SIZE + SPLIT_INFO.size + head_length : place + _INT_SIZE + abs(length)]
                    return positions_arrays(zlib.decompress(tail) if tail_compression else tail, count)
        self._goto(at)
        info = self._info
        if len(info) == 9 and info[8] == TAIL_POSITIONS:
            start = self._dataoffset + self._headlength
            tail = self._postfile.get(start, self._nextoffset - start)
            return positions_arrays(zlib.decompress(tail) if info[7] else tail, self._blocklength)
        # Other blocks (Whoosh's own): each posting's value decoded by the field's format.
        self._read_values()
        decode = self.format.decoder("positions")
        decoded = [decode(value) for value in self._values]
        return [len(found) for found in decoded], [p for found in decoded for p in found]

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        if self._data[2] is _UNREAD:
            start = self._dataoffset + self._headlength
            values = None
            if start < self._nextoffset:
                values = _tail_values(self._postfile.get(start, self._nextoffset - start), self._info)
            self._data = (self._data[0], self._data[1], values)
        super()._read_values()


__all__ = [
    "CompactPositions", "SplitBlockMatcher", "decode_positions", "encode_positions", "head_and_tail", "pack_head",
    "pack_positions_tail", "positions_arrays", "read_block_info", "take_block", "unpack_head", "unpack_positions_tail",
]
