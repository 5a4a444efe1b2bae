"""How searchkit has Whoosh read a segment's per-document files; installed once by `open_whoosh`.

1. Column files are opened when the segment is opened. The indexer writes segments as separate
   files, and Whoosh would open a column (stored fields, field lengths, the date) only on its
   first use. A search that began before a commit could then find that the commit's merge has
   deleted the file. A file that is already open stays readable after it is deleted, so opening
   them all up front gives each reader the segment as it was when it was opened.

2. Field lengths are read once per segment instead of once per posting. BM25F scoring asks for a
   document's field length for every posting it scores, and writing a segment asks for every
   posting it writes. Whoosh 2.7 answers each call with a fresh one-byte read from the lengths
   column, through a seek and a `struct` unpack. The column holds one byte per document, so these
   bytes are kept in memory per segment reader (100 kB per field at 100k articles) and each call
   becomes a list lookup. On Reuters ×5 this took 11% off the build and 12% off query times.
   That a field has no lengths column (it is not scored) is remembered too: a merge asks for the
   length of every field of every document, and Whoosh looked for the column file each time (a
   `stat`; 29 of the 55 s merging Reuters ×5's 8 segments into one).
"""

from __future__ import annotations

from typing import Any

_installed = False
_UNREAD = object()
whoosh_doc_field_length: Any = None  # Whoosh's own method, kept for what the cache does not cover


def segment_key(reader: Any) -> Any:
    """The id of the segment a segment reader (or a segment) reads, or None for anything else:
    what per-segment caches (date columns, field lengths) are kept under."""
    try:
        return reader.segment().segment_id()
    except (AttributeError, NotImplementedError):
        return None


def deleted_docnums(source: Any) -> frozenset[int]:
    """The deleted document numbers of a segment reader (which caches them) or of a segment."""
    cached = getattr(source, "deleted_docs_set", None)
    if isinstance(cached, frozenset):
        return cached
    return frozenset(source.deleted_docs()) if source.has_deletions() else frozenset()


def install() -> None:
    """Patch Whoosh's `W3PerDocReader` (idempotent)."""
    global _installed, whoosh_doc_field_length
    if _installed:
        return
    from whoosh.codec import whoosh3
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
    from whoosh.util.numeric import byte_to_length

    # Byte 0 means "no length stored", for which Whoosh returns None (its method falls off the end).
    lengths: list[Any] = [None] + [byte_to_length(b) for b in range(1, 256)]
    original_length = whoosh_doc_field_length = W3PerDocReader.doc_field_length
    original_init = W3PerDocReader.__init__
    original_has_column = W3PerDocReader.has_column

    def __init__(self: Any, storage: Any, segment: Any) -> None:
        original_init(self, storage, segment)
        if segment.is_compound():
            return  # a compound segment is read into memory whole when it is opened
        prefix = segment.segment_id() + "."
        try:
            for name in segment.list_files(storage):
                if name.endswith(whoosh3.W3Codec.COLUMN_EXT):
                    column = name[len(prefix) : -len(whoosh3.W3Codec.COLUMN_EXT)]
                    self._colfiles[column] = self._get_column_file(column)
        except BaseException:
            self.close()
            raise  # FileNotFoundError: merged away since it was listed; open_whoosh reads the new TOC

    def has_column(self: Any, fieldname: str) -> bool:
        return fieldname in self._colfiles or original_has_column(self, fieldname)

    def doc_field_length(self: Any, docnum: int, fieldname: str, default: int = 0) -> Any:
        cache = self.__dict__.get("_searchkit_lengths")
        if cache is None:
            cache = self.__dict__["_searchkit_lengths"] = {}
        raw = cache.get(fieldname, _UNREAD)
        if raw is _UNREAD:
            reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if reader is None:
                # No lengths column (the field is not scored). Whoosh asks the file system again on
                # every call, and a merge asks for every field of every document: remembered.
                cache[fieldname] = None
                return default
            if getattr(reader, "_fixedlen", None) != 1 or not hasattr(reader, "_dbfile"):
                return original_length(self, docnum, fieldname, default)  # not the one-byte column we know
            # The column ends at the last document with a length; later ones read as "none".
            raw = cache[fieldname] = reader._dbfile.get(reader._basepos, reader._count)
        if raw is None:
            return default
        if 0 <= docnum < len(raw):
            return lengths[raw[docnum]]
        return original_length(self, docnum, fieldname, default)

    W3PerDocReader.__init__ = __init__
    W3PerDocReader.has_column = has_column
    W3PerDocReader.doc_field_length = doc_field_length
    _installed = True
