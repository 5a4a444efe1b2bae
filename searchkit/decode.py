"""Decode: a source file's bytes → its text, the encoding used, and how it was chosen.

This stage sits between discovery and the readers. News archives mix decades of encodings, so
the evidence is weighed from strongest to weakest and the first step that holds wins; the
`method` of the result names it:

1. explicit   — the caller named an encoding: it beats detection. Bytes that do not fit it are
                decoded with replacement characters ("explicit-lossy").
2. bom        — a byte-order mark (UTF-8, UTF-16/32 LE/BE, GB18030), stripped from the text.
3. declared   — an HTML `<meta charset>` / `http-equiv` or XML `encoding=` in the first 4 KB,
                kept only if the bytes decode strictly with it. Latin-1 and ASCII labels mean
                cp1252, as in browsers; valid non-ASCII UTF-8 outweighs any other label.
4. utf-16-heuristic — UTF-16 without a BOM, recognised by NUL bytes falling on one parity.
5. utf-8      — the bytes decode strictly as UTF-8 (pure ASCII included). Seven-bit text with
                ISO-2022-JP escapes is reported as legacy-japanese instead.
6. chardet    — chardet's guesses on a bounded window (64 KB from the first non-ASCII byte), kept
                only if they decode the whole file strictly. Guesses chardet cannot tell apart
                are ranked by how much of their text is letters rather than control codes, and
                readings that put two alphabets in one word are refused.
7. legacy-japanese — Shift_JIS, EUC-JP, ISO-2022-JP tried strictly, kept if the text has kana.
                Tried before chardet's guesses when chardet is unsure of them.
8. fallback   — nothing decodes strictly: UTF-8 or a Japanese encoding with a few broken
                bytes, else the encoding whose lossy reading looks most like text (cp1252 when
                chardet has nothing to offer), with replacement characters and a low confidence.

chardet names an encoding; `_CHAINS` turns the name into the codecs to try. A Windows code page
stands in for its ISO namesake, and a vendor extension (cp932, cp950) is used only when the
bytes contain codes only it defines, so standard mappings stay standard.

`binary_reason` / `looks_binary` let the indexer skip images, archives and other binary files
with a reason instead of indexing them as junk.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import chardet

from .errors import SearchkitError
from .models import Decoded

# Binary sniffing and the UTF-16 layout check look at this much of the file.
_SNIFF_BYTES = 8192
# Where a charset declaration may sit: the HTML prescan reads 1 KB; real pages put long
# comments and scripts before <meta>, so allow a little more.
_DECLARED_BYTES = 4096
# chardet is slow on large inputs and gains nothing past a few dozen KB of text.
_DETECT_BYTES = 65536
# Enough characters to judge how much a reading looks like text.
_SCORE_CHARS = 16384

# A chardet guess below this share of its top guess's confidence is not worth a decode: the
# bottom of its list holds single-byte code pages that decode any bytes into mojibake.
_WORTH_CHECKING = 0.5
# Guesses within this share of the best valid guess are ones chardet cannot tell apart.
_INDISTINGUISHABLE = 0.9
# Damaged multi-byte text: valid characters must outnumber broken sequences by this much.
# Legacy 8-bit text almost never forms valid UTF-8 sequences by chance.
_MULTIBYTE_DOMINANCE = 4
# chardet's own threshold: below it, its guesses are ordered by little more than noise.
_CONFIDENT = 0.2
# Hiragana and katakana per letter needed before a Japanese decode is believed.
_KANA_SHARE = 0.05
# Share of NUL bytes on one parity of the sample needed to call BOM-less data UTF-16.
_UTF16_NUL_SHARE = 0.1

_CONFIDENCE_LAYOUT = 0.9
_CONFIDENCE_ISO2022 = 0.95
_CONFIDENCE_JAPANESE_TRIAL = 0.5
_CONFIDENCE_GUIDED_FALLBACK = 0.3
_CONFIDENCE_BLIND_FALLBACK = 0.1
# The last resort, and the competitor a doubtful guess must beat: the most common legacy
# encoding, which maps all but five bytes.
_FALLBACK_CODEC = "cp1252"

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 LE first: its BOM starts with the UTF-16 LE BOM.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"\x84\x31\x95\x33", "gb18030"),
)

# Web labels Python's codec registry does not know.
_LABELS: dict[str, str] = {
    "windows-31j": "cp932",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "x-gbk": "gbk",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "iso-8859-8-i": "iso8859-8",
    "unicode-1-1-utf-8": "utf-8",
}

# The codecs to try, in order, for an encoding a declaration or chardet names. Keys are
# `codecs.lookup(...).name` values.
_CHAINS: dict[str, tuple[str, ...]] = {
    # Windows code pages agree with their ISO namesakes on every printable byte and put
    # punctuation (smart quotes, dashes, €) where ISO has C1 control codes no text means to use.
    # Browsers decode these labels the same way.
    "ascii": ("cp1252",),
    "iso8859-1": ("cp1252", "iso8859-1"),
    "iso8859-9": ("cp1254", "iso8859-9"),
    "iso8859-11": ("cp874", "iso8859-11"),
    "tis-620": ("cp874", "tis-620"),
    # Exact supersets: the same character for every sequence the smaller codec decodes
    # (GB18030, the current standard, also fixes GB2312's mapping of the middle dot).
    "euc_kr": ("cp949",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    # Vendor extensions that remap a few standard codes (cp932 turns the JIS wave dash 0x8160
    # into a fullwidth tilde, cp950 remaps some Big5 punctuation): keep the standard mapping
    # and use the extension only when the bytes contain codes only it defines.
    "shift_jis": ("shift_jis", "cp932"),
    "cp932": ("shift_jis", "cp932"),
    "shift_jis_2004": ("shift_jis", "cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jp", "euc_jis_2004"),
    "euc_jis_2004": ("euc_jp", "euc_jis_2004"),
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext"),
    "iso2022_jp_2": ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext"),
    "big5": ("big5", "cp950", "big5hkscs"),
    "cp950": ("big5", "cp950", "big5hkscs"),
}

# Tie-break between guesses that chardet and the letter ratio cannot separate: roughly the
# order of each encoding's share of the web (W3Techs), Windows code pages before ISO ones.
_PREVALENCE: tuple[str, ...] = (
    "utf-8", "cp1252", "cp1251", "shift_jis", "cp932", "gb18030", "cp949", "euc_jp", "big5",
    "cp1250", "cp1254", "cp1256", "cp1253", "cp1255", "cp1257", "cp874", "koi8-r",
    "iso8859-15", "iso8859-2", "iso8859-7", "iso8859-5", "mac-roman", "mac-cyrillic",
)  # fmt: skip

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"PK\x07\x08", "ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\x7fELF", "ELF executable"),
    (b"SQLite format 3\x00", "SQLite database"),
)
_BZIP2 = re.compile(rb"BZh[1-9]1AY&SY")

_DECLARED_XML = re.compile(rb"^\s*<\?xml\b[^>]{0,200}?\bencoding\s*=\s*[\"']([A-Za-z0-9._:\-]+)", re.I)
_DECLARED_META = re.compile(rb"<meta\b[^>]{0,500}?\bcharset\s*=\s*[\"']?\s*([A-Za-z0-9._:\-]+)", re.I)
# A designation into a JIS double-byte set: the signature of ISO-2022-JP in 7-bit text.
_ISO2022_JP_ESCAPE = re.compile(rb"\x1b\$[@B(]")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_HIGH_BYTES = bytes(range(0x80, 0x100))

_NOT_LETTERS = re.compile(r"[\W\d_]+")
_NOT_SPACE = re.compile(r"\S+")
_NOT_TYPOGRAPHIC = re.compile("[^\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2026\u00ab\u00bb]+")
# Characters real text hardly ever contains, but a wrong code page produces: control codes
# (other than tab, newlines and form feed), C1 controls, private use, U+FFFD, and halfwidth
# katakana (what EUC-JP bytes turn into when read as Shift_JIS).
_NOT_SUSPECT = re.compile("[^\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\uff61-\uff9f]+")
_NOT_KANA = re.compile("[^\u3041-\u309f\u30a0-\u30ff]+")
# No real text means C1 control codes; an ISO code page read in place of a Windows one makes them.
_C1 = re.compile("[\x80-\x9f]")


def _alphabet_switch() -> re.Pattern[str]:
    # Adjacent letters from two alphabets that single-byte code pages get confused between:
    # cp1252 text read as cp1251 gives "dйjа vu". No real word switches alphabet mid-way.
    alphabets = {
        "latin": "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f",
        "greek": "\u0370-\u03ff\u1f00-\u1fff",
        "cyrillic": "\u0400-\u052f",
        "hebrew": "\u05d0-\u05ea",
        "arabic": "\u0620-\u064a\u066e-\u06d3",
        "thai": "\u0e01-\u0e30",
    }
    pairs = [
        f"[{ranges}][{''.join(other for name_, other in alphabets.items() if name_ != name)}]"
        for name, ranges in alphabets.items()
    ]
    return re.compile("|".join(pairs))


_ALPHABET_SWITCH = _alphabet_switch()
# Lower case then upper case within a word, in Latin-1, Greek and Cyrillic letters.
_CASE_FLIP = re.compile("[a-z\u00df-\u00f6\u00f8-\u00ff][A-Z\u00c0-\u00d6\u00d8-\u00de]"
                        "|[\u03ac-\u03ce][\u0386-\u03ab]|[\u0430-\u045f][\u0400-\u042f]")


def decode(data: bytes, *, encoding: str | None = None) -> Decoded:
    """Decode a file's bytes to text, reporting the encoding used and how it was chosen.

    `encoding`, when given, is used whatever the bytes say; an unknown name raises
    `SearchkitError`. Never raises on the bytes themselves: the last resort is a lossy decode.
    """
    data = bytes(data)
    if encoding is not None:
        return _decode_explicit(data, encoding)
    if not data:
        return Decoded("", "utf-8", 1.0, "utf-8")

    found = _by_bom(data)
    if found is not None:
        return found

    utf8 = _strict(data, "utf-8")
    found = _by_declaration(data, utf8)
    if found is not None:
        return found

    found = _by_utf16_layout(data)
    if found is not None:
        return found

    if utf8 is not None:
        # ISO-2022-JP is 7-bit, so it is also valid ASCII; its escapes give it away.
        if data.isascii() and _ISO2022_JP_ESCAPE.search(data):
            for codec in _CHAINS["iso2022_jp"]:
                text = _strict(data, codec)
                if text is not None:
                    return Decoded(text, codec, _CONFIDENCE_ISO2022, "legacy-japanese")
        return Decoded(utf8, "utf-8", 1.0, "utf-8")

    window = _Window.of(data)
    found = _by_damage(data, window, "utf-8")
    if found is not None:
        return found
    return _by_detection(data, window)


def binary_reason(data: bytes) -> str | None:
    """Why `data` looks like a binary file rather than text (one phrase), or None if it looks like text."""
    head = bytes(data[:_SNIFF_BYTES])
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if _BZIP2.match(head):
        return "bzip2-compressed data"
    if b"\x00" not in head:
        return None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        return None
    # No minimum NUL share here: UTF-16 Chinese or Japanese has few NULs, and chardet will
    # still recognise it; binary data fails the strict UTF-16 decode on stray surrogates.
    if _utf16_layout(head, min_nul_share=0.0) is not None:
        return None
    return f"NUL bytes in the first {_SNIFF_BYTES // 1024} KB and no UTF-16 layout"


def looks_binary(data: bytes) -> bool:
    """Whether `data` looks like a binary file (an image, an archive, a database) rather than text."""
    return binary_reason(data) is not None


# --- the steps ---------------------------------------------------------------------------


def _decode_explicit(data: bytes, encoding: str) -> Decoded:
    codec = _codec_name(encoding)
    if codec is None:
        raise SearchkitError(
            f"unknown encoding {encoding!r}: not a text codec Python knows (e.g. utf-8, cp1252, shift_jis)"
        )
    text = _strict(data, codec)
    if text is not None:
        return Decoded(_strip_bom(text, codec), codec, 1.0, "explicit")
    text, clean = _lossy(data, codec)
    return Decoded(_strip_bom(text, codec), codec, round(clean, 3), "explicit-lossy")


def _by_bom(data: bytes) -> Decoded | None:
    matches = [(bom, codec) for bom, codec in _BOMS if data.startswith(bom)]
    for bom, codec in matches:
        text = _strict(data[len(bom) :], codec)
        if text is not None:
            return Decoded(text, codec, 1.0, "bom")
    if matches:
        # A BOM is deliberate; damage after it does not make another encoding likelier.
        bom, codec = matches[-1]
        text, clean = _lossy(data[len(bom) :], codec)
        return Decoded(text, codec, round(clean, 3), "bom")
    return None


def _by_declaration(data: bytes, utf8: str | None) -> Decoded | None:
    head = data[:_DECLARED_BYTES]
    match = _DECLARED_XML.match(head) or _DECLARED_META.search(head)
    if match is None:
        return None
    codec = _codec_name(match.group(1).decode("ascii"))
    if codec is None:
        return None
    if codec.startswith(("utf-16", "utf-32")):
        # The label was readable as ASCII, so the bytes cannot be UTF-16/32 (browsers agree).
        codec = "utf-8"
    if codec != "utf-8" and utf8 is not None and not data.isascii():
        # Mislabelled UTF-8 pages are common, while legacy text is almost never valid UTF-8 by
        # chance: valid multi-byte UTF-8 outweighs the label, and the utf-8 step takes it.
        return None
    for candidate in _chain(codec):
        text = _strict(data, candidate)
        if text is not None:
            return Decoded(text, candidate, 1.0, "declared")
    return None


def _by_utf16_layout(data: bytes) -> Decoded | None:
    codec = _utf16_layout(data[:_SNIFF_BYTES], min_nul_share=_UTF16_NUL_SHARE)
    if codec is None:
        return None
    text = _strict(data, codec)
    if text is None:
        return None
    return Decoded(text, codec, _CONFIDENCE_LAYOUT, "utf-16-heuristic")


def _by_damage(data: bytes, window: _Window, codec: str, *, kana: bool = False) -> Decoded | None:
    """Multi-byte text with a few broken bytes (a bad splice, a truncated copy), read lossily.

    Valid multi-byte characters must outnumber the broken sequences; legacy 8-bit text read
    as UTF-8 or as a CJK encoding yields far more broken sequences than characters. `kana`
    also asks for Japanese kana, for the Japanese encodings.
    """
    if not _mostly_valid(window.decode(codec, "replace") or "", window.data, kana=kana):
        return None
    text = data.decode(codec, "replace")
    if not _mostly_valid(text, data, kana=kana):
        return None
    valid, invalid = _multibyte_counts(text, data)
    return Decoded(text, codec, round(0.5 * valid / (valid + invalid), 3), "fallback")


def _by_detection(data: bytes, window: _Window) -> Decoded:
    """chardet's guesses, the Japanese legacy encodings, then a lossy decode."""
    guesses = _chardet_guesses(window.data)
    top = guesses[0].confidence if guesses else 0.0
    strong = [g for g in guesses if g.confidence >= _WORTH_CHECKING * top]
    confident = top >= _CONFIDENT
    if confident:
        found = _by_chardet(data, window, guesses, strong)
        if found is not None:
            return found
    # A strict Japanese decode with kana in it, or one with only a few broken bytes, is better
    # evidence than a guess chardet itself rates below its threshold (it drops an encoding
    # from its list at the first invalid byte, then guesses among the code pages left).
    found = (
        _by_japanese_trial(data)
        or _by_damage(data, window, "cp932", kana=True)
        or _by_damage(data, window, "euc_jp", kana=True)
    )
    if found is not None:
        return found
    if not confident:
        found = _by_chardet(data, window, guesses, strong)
        if found is not None:
            return found

    if guesses:
        codec, _ = _best_lossy(strong, window)
        text, clean = _lossy(data, codec)
        return Decoded(text, codec, round(_CONFIDENCE_GUIDED_FALLBACK * clean, 3), "fallback")
    text, _ = _lossy(data, _FALLBACK_CODEC)
    return Decoded(text, _FALLBACK_CODEC, _CONFIDENCE_BLIND_FALLBACK, "fallback")


def _by_chardet(data: bytes, window: _Window, guesses: list[_Guess], strong: list[_Guess]) -> Decoded | None:
    """chardet's best guess that reads the window plausibly and decodes the whole file strictly."""
    readings = _readings(strong, window)
    near: list[_Reading] = []
    later: Iterator[_Reading] = iter(())
    mixed = False
    for reading in readings:
        if reading.implausible:
            mixed = mixed or reading.mixed
            continue
        if near and reading.guess.confidence < _INDISTINGUISHABLE * near[0].guess.confidence:
            later = itertools.chain([reading], (r for r in readings if not r.implausible))
            break
        near.append(reading)
    if near:
        # Guesses chardet cannot tell apart (cp1253 vs iso8859-7, cp1251 vs mac-cyrillic on a
        # short text): the reading with more letters and fewer control codes is right, and
        # among equals the more common encoding.
        return _first_whole(data, window, itertools.chain(sorted(near, key=_rank), later))
    if mixed:
        # Every strong guess puts letters of two alphabets in one word: chardet has the
        # alphabet wrong (it happens on short texts), so its weaker guesses get a hearing,
        # ranked by how much they look like text, if they read better than the lossy fallback.
        _, floor = _best_lossy(strong, window)
        weak = _readings([g for g in guesses if g not in strong], window)
        return _first_whole(
            data, window, sorted((r for r in weak if not r.implausible and r.plausibility >= floor), key=_rank)
        )
    return None


def _by_japanese_trial(data: bytes) -> Decoded | None:
    """Shift_JIS, EUC-JP, ISO-2022-JP tried strictly on the whole file; kept only with kana."""
    found: list[tuple[float, int, str, str]] = []
    for rank, chain in enumerate(_JAPANESE_CHAINS):
        for codec in chain:
            text = _strict(data, codec)
            if text is not None:
                head = text[:_DETECT_BYTES]
                # Kana are unique to Japanese: without them a strict decode is a coincidence.
                if _kana_share(head) >= _KANA_SHARE and not _C1.search(text):
                    found.append((round(_plausibility(head), 2), -rank, codec, text))
                break
    if not found:
        return None
    _, _, codec, text = max(found)
    return Decoded(text, codec, _CONFIDENCE_JAPANESE_TRIAL, "legacy-japanese")


@dataclass(frozen=True)
class _Window:
    """The bytes detection looks at: all of a small file, a bounded slice of a large one."""

    data: bytes
    reaches_end: bool  # False: the slice may end inside a multi-byte character
    is_whole: bool

    @classmethod
    def of(cls, data: bytes) -> _Window:
        if len(data) <= _DETECT_BYTES:
            return cls(data, True, True)
        # A long ASCII preamble (headers, markup) says nothing about the encoding: start at
        # the first non-ASCII byte, which always begins a character.
        first = _HIGH_BYTE.search(data)
        start = first.start() if first else 0
        end = start + _DETECT_BYTES
        return cls(data[start:end], end >= len(data), False)

    def decode(self, codec: str, errors: str) -> str | None:
        try:
            decoder = codecs.getincrementaldecoder(codec)(errors)
            return decoder.decode(self.data, final=self.reaches_end)
        except UnicodeError:
            return None


@dataclass(frozen=True)
class _Guess:
    chain: tuple[str, ...]
    confidence: float
    order: int


_JAPANESE_CHAINS: tuple[tuple[str, ...], ...] = (_CHAINS["shift_jis"], _CHAINS["euc_jp"], _CHAINS["iso2022_jp"])


@dataclass(frozen=True)
class _Reading:
    """The detection window decoded strictly with one of a guess's codecs."""

    codec: str  # the first codec of the guess's chain that decodes the window strictly
    guess: _Guess
    text: str

    @cached_property
    def mixed(self) -> bool:
        """Letters of two alphabets inside one word."""
        return _mixed_alphabets(self.text[:_SCORE_CHARS])

    @cached_property
    def implausible(self) -> bool:
        return _C1.search(self.text) is not None or self.mixed

    @cached_property
    def plausibility(self) -> float:
        return _plausibility(self.text[:_SCORE_CHARS])


def _rank(reading: _Reading) -> tuple[float, int, int]:
    return (-round(reading.plausibility, 2), _prevalence(reading.codec), reading.guess.order)


def _readings(guesses: list[_Guess], window: _Window) -> Iterator[_Reading]:
    """The window read with each guess, in chardet's order, skipping guesses it refutes."""
    seen: set[str] = set()
    for guess in guesses:
        for codec in guess.chain:
            if codec in seen:
                break
            text = window.decode(codec, "strict")
            if text is not None:
                seen.add(codec)
                yield _Reading(codec, guess, text)
                break


def _first_whole(data: bytes, window: _Window, ranked: Iterable[_Reading]) -> Decoded | None:
    """The first reading whose codec (or a later one of its chain) decodes the whole file."""
    for reading in ranked:
        chain = reading.guess.chain
        for codec in chain[chain.index(reading.codec) :]:
            text = reading.text if window.is_whole and codec == reading.codec else _strict(data, codec)
            if text is not None and not _C1.search(text):
                return Decoded(text, codec, round(reading.guess.confidence, 3), "chardet")
    return None


def _best_lossy(guesses: list[_Guess], window: _Window) -> tuple[str, float]:
    """The codec whose lossy reading of the window looks most like text, and how much."""
    candidates = [c for g in guesses for c in g.chain] + [_FALLBACK_CODEC]
    scored = [
        (round(_plausibility((window.decode(codec, "replace") or "")[:_SCORE_CHARS]), 2), -i, codec)
        for i, codec in enumerate(dict.fromkeys(candidates))
    ]
    plausibility, _, codec = max(scored)
    return codec, plausibility


# --- helpers -------------------------------------------------------------------------------


def _codec_name(label: str) -> str | None:
    """Python's canonical name for an encoding label, or None if it is not a text codec."""
    name = label.strip().strip("\"'").lower()
    name = _LABELS.get(name, name)
    try:
        codec = codecs.lookup(name).name
        b"a".decode(codec, "ignore")  # rejects base64, zlib and other bytes-to-bytes codecs
    except (LookupError, ValueError):
        return None
    return codec


def _chain(codec: str) -> tuple[str, ...]:
    return _CHAINS.get(codec, (codec,))


def _chardet_guesses(window: bytes) -> list[_Guess]:
    guesses: list[_Guess] = []
    seen: set[tuple[str, ...]] = set()
    # Its whole list, not just the guesses over its threshold: a short text can push the right
    # code page below it, and the checks here are what decide.
    results = chardet.detect_all(window, ignore_threshold=True)
    results = sorted(results, key=lambda r: -(r.get("confidence") or 0.0))
    for order, result in enumerate(results):
        label = result.get("encoding")
        codec = _codec_name(label) if label else None
        if codec is None:
            continue
        chain = _chain(codec)
        if chain in seen:
            continue
        seen.add(chain)
        guesses.append(_Guess(chain, float(result.get("confidence") or 0.0), order))
    return guesses


def _utf16_layout(head: bytes, *, min_nul_share: float) -> str | None:
    """"utf-16-le"/"utf-16-be" when `head` has the NUL pattern of BOM-less UTF-16 text."""
    head = head[: len(head) // 2 * 2]
    units = len(head) // 2
    if units < 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    nuls, stray = max(even, odd), min(even, odd)
    # UTF-16 text puts NULs in the high byte of ASCII characters, almost never in the low one.
    if nuls == 0 or stray * 10 > nuls or nuls < min_nul_share * units:
        return None
    codec = "utf-16-le" if odd > even else "utf-16-be"
    text = _Window(head, False, False).decode(codec, "strict")
    # UTF-32 read as UTF-16 yields NUL characters; binary data yields controls.
    if text is None or _suspect_count(text) > 0.01 * len(text):
        return None
    return codec


def _multibyte_counts(text: str, raw: bytes) -> tuple[int, int]:
    """(valid non-ASCII characters, broken sequences) in `raw`, given its lossy decode `text`."""
    invalid = text.count("\ufffd")
    ascii_bytes = len(raw.translate(None, _HIGH_BYTES))
    return max(0, len(text) - ascii_bytes - invalid), invalid


def _mostly_valid(text: str, raw: bytes, *, kana: bool) -> bool:
    valid, invalid = _multibyte_counts(text, raw)
    if valid == 0 or valid < _MULTIBYTE_DOMINANCE * invalid:
        return False
    return not kana or _kana_share(text[:_DETECT_BYTES]) >= _KANA_SHARE


def _plausibility(text: str) -> float:
    """Letters per visible character, less penalties for what a wrong code page produces.

    Characters real text lacks weigh heaviest; a word that switches alphabet or turns from
    lower to upper case mid-way ("dйjа", "пРИВЕТ") costs a little.
    """
    visible = len(text) - len(_NOT_SPACE.sub("", text))
    if visible == 0:
        return 0.0
    # Curly quotes, dashes and ellipses count like letters: they are what cp1252 text is full of,
    # and what a wrong Western code page (MacRoman, cp437) turns into letters ("ìwill notî").
    letters = len(_NOT_LETTERS.sub("", text)) + len(_NOT_TYPOGRAPHIC.sub("", text))
    odd = len(_ALPHABET_SWITCH.findall(text)) + len(_CASE_FLIP.findall(text))
    return (letters - 3 * _suspect_count(text) - odd) / visible


def _mixed_alphabets(text: str) -> bool:
    """Whether words switch alphabet mid-way more often than stray typos explain."""
    switches = len(_ALPHABET_SWITCH.findall(text))
    return switches > 0 and switches > 0.01 * len(_NOT_LETTERS.sub("", text))


def _suspect_count(text: str) -> int:
    return len(_NOT_SUSPECT.sub("", text))


def _kana_share(text: str) -> float:
    letters = len(_NOT_LETTERS.sub("", text))
    return len(_NOT_KANA.sub("", text)) / letters if letters else 0.0


def _prevalence(codec: str) -> int:
    return _PREVALENCE.index(codec) if codec in _PREVALENCE else len(_PREVALENCE)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeError:
        return None


def _lossy(data: bytes, codec: str) -> tuple[str, float]:
    """The text with replacement characters, and the share of it that decoded cleanly."""
    text = data.decode(codec, "replace")
    return text, 1.0 - text.count("\ufffd") / max(1, len(text))


def _strip_bom(text: str, codec: str) -> str:
    # U+FEFF at the start of UTF text is a byte-order mark, never content.
    return text[1:] if codec.startswith("utf") and text.startswith("\ufeff") else text


__all__ = ["binary_reason", "decode", "looks_binary"]
