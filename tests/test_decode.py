"""decode: bytes → text. Fed raw bytes per encoding, written here; the shared corpora check real files."""

from __future__ import annotations

import codecs
import gzip
import zlib

import pytest
from conftest import SHARED, shared_path

from searchkit.decode import _CHAINS, binary_reason, decode, looks_binary
from searchkit.errors import SearchkitError

JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
RUSSIAN = "Привет мир, это новости дня."


# --- UTF-8, ASCII, empty -------------------------------------------------------------------


def test_utf8_is_decoded_strictly_with_full_confidence() -> None:
    result = decode("Grüße aus Köln — 東京 🙂".encode())
    assert (result.text, result.encoding, result.method, result.confidence) == (
        "Grüße aus Köln — 東京 🙂",
        "utf-8",
        "utf-8",
        1.0,
    )


def test_pure_ascii_is_reported_as_utf8() -> None:
    result = decode(b"Plain ASCII news.\r\n")
    assert (result.text, result.encoding, result.method) == ("Plain ASCII news.\r\n", "utf-8", "utf-8")


def test_empty_bytes_decode_to_empty_text() -> None:
    result = decode(b"")
    assert (result.text, result.encoding, result.confidence) == ("", "utf-8", 1.0)


def test_invalid_byte_in_the_middle_of_utf8_keeps_the_rest_intact() -> None:
    data = ("Grüße aus Köln. " * 20).encode() + b"\xff\xfe" + ("Ärger über Öl. " * 20).encode()
    result = decode(data)
    assert result.encoding == "utf-8"
    assert result.method == "fallback"
    assert 0 < result.confidence < 1
    assert result.text.startswith("Grüße aus Köln. ")
    assert result.text.endswith("Ärger über Öl. ")
    assert "\ufffd" in result.text and "Ã" not in result.text


def test_truncated_utf8_at_the_end_is_not_a_crash() -> None:
    data = ("Straße " * 30).encode() + "é".encode()[:1]
    result = decode(data)
    assert result.encoding == "utf-8"
    assert result.text.startswith("Straße Straße")


# --- byte-order marks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "codec", "expected"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    ],
)
def test_bom_picks_the_encoding_and_is_stripped(bom: bytes, codec: str, expected: str) -> None:
    text = "Café “news” — 東京"
    result = decode(bom + text.encode(codec))
    assert (result.text, result.encoding, result.method, result.confidence) == (text, expected, "bom", 1.0)


def test_utf8_bom_before_ascii() -> None:
    assert decode(codecs.BOM_UTF8 + b"hello").text == "hello"


# --- UTF-16 without a BOM ----------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised_by_its_nul_bytes(codec: str) -> None:
    text = "Hello world, this is a plain news story.\n"
    result = decode(text.encode(codec))
    assert (result.text, result.encoding, result.method) == (text, codec, "utf-16-heuristic")


def test_utf16_without_bom_in_cyrillic() -> None:
    result = decode((RUSSIAN + "\n").encode("utf-16-le"))
    assert (result.text, result.encoding) == (RUSSIAN + "\n", "utf-16-le")


# --- legacy single-byte code pages -------------------------------------------------------------


def test_cp1252_smart_quotes_and_euro() -> None:
    text = "“Smart quotes” — the café’s crème brûlée costs €5."
    result = decode(text.encode("cp1252"))
    assert (result.text, result.encoding, result.method) == (text, "cp1252", "chardet")
    assert 0 < result.confidence < 1


def test_cp1251_is_not_read_as_mac_cyrillic() -> None:
    result = decode(RUSSIAN.encode("cp1251"))
    assert (result.text, result.encoding) == (RUSSIAN, "cp1251")


def test_koi8_r() -> None:
    result = decode(RUSSIAN.encode("koi8_r"))
    assert (result.text, result.encoding) == (RUSSIAN, "koi8-r")


def test_greek_cp1253_wins_its_tie_with_iso8859_7() -> None:
    # chardet rates the two the same; cp1253 puts a letter (Ά) where ISO-8859-7 puts a quote.
    text = "Άρθρο για την Ελλάδα: η Αθήνα και ο Άρης."
    assert decode(text.encode("cp1253")).text == text


def test_latin_text_read_into_another_alphabet_is_refused() -> None:
    # chardet's top guesses for these few bytes are Cyrillic code pages ("dйjа vu").
    text = "déjà vu, à la carte"
    result = decode(text.encode("cp1252"))
    assert (result.text, result.encoding) == (text, "cp1252")


def test_hebrew_and_arabic_code_pages() -> None:
    hebrew = "שלום עולם, מה שלומך היום?"
    arabic = "مرحبا بالعالم، كيف حالك اليوم؟"
    assert decode(hebrew.encode("cp1255")).text == hebrew
    assert decode(arabic.encode("cp1256")).text == arabic


# --- CJK ---------------------------------------------------------------------------------------


def test_shift_jis_japanese() -> None:
    result = decode(JAPANESE.encode("shift_jis"))
    assert (result.text, result.encoding, result.method) == (JAPANESE, "shift_jis", "chardet")


def test_cp932_extensions_switch_to_cp932() -> None:
    # Circled digits are NEC extensions: only cp932 defines them.
    text = "①②" + JAPANESE + "ﾃｽﾄ"
    result = decode(text.encode("cp932"))
    assert (result.text, result.encoding) == (text, "cp932")


def test_wave_dash_keeps_its_jis_mapping_when_no_extension_is_used() -> None:
    # 0x8160 is WAVE DASH in JIS X 0208; cp932 would turn it into FULLWIDTH TILDE.
    data = (JAPANESE + "〜").encode("shift_jis")
    assert data.endswith(b"\x81\x60")
    result = decode(data)
    assert result.text.endswith("\u301c")
    assert result.encoding == "shift_jis"


def test_euc_jp_japanese() -> None:
    result = decode(JAPANESE.encode("euc_jp"))
    assert (result.text, result.encoding) == (JAPANESE, "euc_jp")


def test_short_euc_jp() -> None:
    assert decode("日本語のテキスト".encode("euc_jp")).text == "日本語のテキスト"


def test_iso2022_jp_is_not_mistaken_for_ascii() -> None:
    data = JAPANESE.encode("iso2022_jp")
    assert data.isascii()
    result = decode(data)
    assert (result.text, result.encoding, result.method) == (JAPANESE, "iso2022_jp", "legacy-japanese")


def test_damaged_euc_jp_stays_japanese() -> None:
    data = JAPANESE.encode("euc_jp") * 5 + b"\xff" + JAPANESE.encode("euc_jp")
    result = decode(data)
    assert (result.encoding, result.method) == ("euc_jp", "fallback")
    assert result.text.startswith(JAPANESE) and result.text.endswith(JAPANESE)


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        ("中華民國的新聞報導，今天天氣很好。", "big5", "big5"),
        ("中华人民共和国的新闻报道，今天天气很好。", "gb2312", "gb18030"),
        ("안녕하세요, 오늘 뉴스입니다.", "euc_kr", "cp949"),
    ],
)
def test_chinese_and_korean(text: str, codec: str, expected: str) -> None:
    result = decode(text.encode(codec))
    assert (result.text, result.encoding) == (text, expected)


def test_large_file_detects_past_a_long_ascii_preamble() -> None:
    # chardet sees a bounded window; it must start where the non-ASCII bytes do.
    data = b"x" * 100_000 + JAPANESE.encode("shift_jis") * 3
    result = decode(data)
    assert result.encoding == "shift_jis"
    assert result.text == "x" * 100_000 + JAPANESE * 3


def test_large_file_is_verified_whole_beyond_the_window() -> None:
    # The window decodes as shift_jis; only the end of the file needs cp932.
    data = JAPANESE.encode("shift_jis") * 3000 + "①".encode("cp932")
    assert len(data) > 65536
    result = decode(data)
    assert result.encoding == "cp932"
    assert result.text.endswith("①")


# --- declared charsets -------------------------------------------------------------------------


def test_html_meta_charset() -> None:
    html = '<html><head><meta charset="windows-1251"><title>Новости</title></head><body>Привет</body></html>'
    result = decode(html.encode("cp1251"))
    assert (result.text, result.encoding, result.method, result.confidence) == (html, "cp1251", "declared", 1.0)


def test_html_http_equiv_content_type() -> None:
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
        f"</head><body>{JAPANESE}</body></html>"
    )
    result = decode(html.encode("shift_jis"))
    assert (result.text, result.encoding, result.method) == (html, "shift_jis", "declared")


def test_declared_latin1_is_read_as_cp1252_like_browsers_do() -> None:
    html = '<meta charset="ISO-8859-1"><p>“Quoted” café</p>'
    result = decode(html.encode("cp1252"))
    assert (result.text, result.encoding, result.method) == (html, "cp1252", "declared")


def test_xml_declaration() -> None:
    xml = '<?xml version="1.0" encoding="ISO-8859-7"?><doc>Ελλάδα</doc>'
    result = decode(xml.encode("iso8859-7"))
    assert (result.text, result.encoding, result.method) == (xml, "iso8859-7", "declared")


def test_declaration_that_does_not_decode_is_ignored() -> None:
    html = f'<meta charset="euc-jp"><p>{JAPANESE}</p>'
    result = decode(html.encode("shift_jis"))
    assert result.text == html
    assert result.method != "declared"


def test_valid_utf8_outweighs_a_legacy_declaration() -> None:
    html = '<meta charset="iso-8859-1"><p>café naïve</p>'
    result = decode(html.encode("utf-8"))
    assert (result.text, result.encoding, result.method) == (html, "utf-8", "utf-8")


def test_unknown_declared_charset_falls_through() -> None:
    html = '<meta charset="x-no-such-charset"><p>café</p>'
    assert decode(html.encode("utf-8")).text == html


# --- explicit encodings ------------------------------------------------------------------------


def test_explicit_encoding_beats_detection() -> None:
    result = decode("café".encode(), encoding="latin-1")
    assert (result.text, result.encoding, result.method, result.confidence) == ("cafÃ©", "iso8859-1", "explicit", 1.0)


def test_explicit_encoding_name_is_normalised() -> None:
    assert decode(RUSSIAN.encode("cp1251"), encoding="Windows-1251").encoding == "cp1251"


def test_explicit_encoding_that_does_not_fit_is_lossy() -> None:
    result = decode(b"caf\xe9 ok", encoding="utf-8")
    assert (result.text, result.method) == ("caf\ufffd ok", "explicit-lossy")
    assert result.confidence < 1


def test_explicit_utf8_strips_a_bom() -> None:
    assert decode(codecs.BOM_UTF8 + b"news", encoding="utf-8").text == "news"


@pytest.mark.parametrize("name", ["no-such-codec", "base64", ""])
def test_unknown_explicit_encoding_raises_our_error(name: str) -> None:
    with pytest.raises(SearchkitError, match="unknown encoding"):
        decode(b"news", encoding=name)


# --- binary files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (gzip.compress(b"news " * 100), "gzip"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
    ],
)
def test_magic_numbers_are_binary(data: bytes, what: str) -> None:
    assert looks_binary(data)
    reason = binary_reason(data)
    assert reason is not None and what in reason


def test_nul_bytes_without_a_utf16_layout_are_binary() -> None:
    data = zlib.compress(bytes(range(256)) * 64)[2:] + b"\x00\x01\x02\x03" * 100
    assert looks_binary(data)
    assert "NUL" in (binary_reason(data) or "")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"Plain ASCII news.\n",
        "Grüße".encode(),
        "“quoted”".encode("cp1252"),
        JAPANESE.encode("shift_jis"),
        "Hello, world.\n".encode("utf-16-le"),
        "Hello, world.\n".encode("utf-16-be"),
        codecs.BOM_UTF16_LE + "中文新闻".encode("utf-16-le"),
        "中华人民共和国的新闻报道，今天天气很好。\n".encode("utf-16-le"),
    ],
)
def test_text_is_not_binary(data: bytes) -> None:
    assert not looks_binary(data)
    assert binary_reason(data) is None


# --- internals worth pinning -------------------------------------------------------------------


def test_chain_keys_are_canonical_codec_names() -> None:
    # A key that is not `codecs.lookup(...).name` would silently never match.
    for key, chain in _CHAINS.items():
        assert codecs.lookup(key).name == key
        for codec in chain:
            assert codecs.lookup(codec).name == codec


@pytest.mark.parametrize(("subset", "superset"), [("euc_kr", "cp949"), ("gbk", "gb18030")])
def test_exact_supersets_agree_on_every_double_byte_code(subset: str, superset: str) -> None:
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            pair = bytes([lead, trail])
            try:
                expected = pair.decode(subset)
            except UnicodeDecodeError:
                continue
            assert pair.decode(superset) == expected


# --- the shared corpora ------------------------------------------------------------------------

SAMPLES = ("corpora", "charset-normalizer-samples")
AOZORA = ("corpora", "aozora-sjis")


def _expected_rows() -> list[tuple[str, str]]:
    tsv = SHARED.joinpath(*SAMPLES, "expected.tsv")
    if not tsv.exists():
        return [("expected.tsv", "")]  # the test skips through shared_path
    lines = tsv.read_text(encoding="utf-8").splitlines()[1:]
    return [(line.split("\t")[0], line.split("\t")[1]) for line in lines if line.strip()]


def _aozora_files() -> list[str]:
    folder = SHARED.joinpath(*AOZORA)
    return sorted(p.name for p in folder.glob("*.txt")) if folder.exists() else ["missing.txt"]


@pytest.mark.shared
def test_every_sample_file_has_an_expected_encoding() -> None:
    folder = shared_path(*SAMPLES)
    listed = {name for name, _ in _expected_rows()}
    assert {p.name for p in folder.glob("sample-*.txt")} == listed


@pytest.mark.shared
@pytest.mark.parametrize(("name", "codec"), _expected_rows())
def test_charset_normalizer_sample(name: str, codec: str) -> None:
    data = shared_path(*SAMPLES, name).read_bytes()
    expected = data.decode(codec)
    if data.startswith(codecs.BOM_UTF8):
        expected = expected.removeprefix("\ufeff")
    result = decode(data)
    assert result.text == expected, f"{name}: decoded as {result.encoding} ({result.method})"


@pytest.mark.shared
@pytest.mark.parametrize("name", _aozora_files())
def test_aozora_shift_jis(name: str) -> None:
    data = shared_path(*AOZORA, name).read_bytes()
    result = decode(data)
    assert result.text == data.decode("shift_jis"), f"{name}: decoded as {result.encoding} ({result.method})"
    assert not looks_binary(data)
