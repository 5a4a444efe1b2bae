"""The one Whoosh schema, its version stamp, and Article → Whoosh document.

Full-text fields share the single analyzer of `analysis`; the title is boosted so that a query word
in the headline counts for more than the same word deep in the body (BM25F). `date` is the
indexed, sortable instant in UTC; `date_iso` keeps the date exactly as the source gave it, with its
offset, for display and JSON. `path` is the absolute path of the source file: the incremental
indexer deletes a file's articles by it.

`to_document` analyses the full-text fields in one pass each (`analysis.term_positions`, no Token
per word) into `PreAnalyzed` values, with the text itself under Whoosh's `_stored_<field>` key;
the indexer's worker processes turn those into postings (`segment_writer.invert_documents`).
`NewsText.index` does the same for any writer, and given plain text it analyses it first. Either
way the postings are byte for byte what Whoosh's own `TEXT` field would write.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress, repeat
from operator import add, mul
from typing import Any, Iterable

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, FieldType, Schema
from whoosh.formats import Positions

from . import pair_lists
from .analysis import news_analyzer, term_positions, terms_and_positions
from .dates import index_value
from .models import Article
from .postings_format import CompactPositions, encode_positions

# Bump when a change to fields or analysis makes old indexes unreadable or wrong; an index with
# another version is refused with a message to rebuild.
# 2: full-text fields are `NewsText` and documents carry `PreAnalyzed` values, which a version-1
#    index (plain TEXT fields in its table of contents) would misread.
# 3: segments are written with `stored_codec.BlockStoredCodec` (stored fields compressed in blocks).
# 4: posting blocks keep document numbers apart from positions (`postings_format`), which a
#    version-3 searchkit cannot read.
# 5: positions as integers (`postings_format.CompactPositions`), block infos as structs, and one
#    `date` term a document instead of eight.
# 6: a posting block's head (document number deltas, weights) as arrays instead of a pickle.
# 7: a `pairs` field of postings for pairs of common words (`WordPairs`); never released.
# 8: `WordPairs` keeps the common words only; the pairs are in each segment's pair file.
SCHEMA_VERSION = 8

TITLE_BOOST = 2.0

# Fields a query may name as `field:value`.
QUERYABLE_FIELDS = ("title", "body", "section", "source", "byline", "keywords", "lang", "url", "date")


# Full-text fields, analysed ahead in `to_document`.
TEXT_FIELDS = ("title", "body", "section", "source", "byline")


# Fields whose phrases `WordPairs` indexes: where phrase queries are long and common.
PAIRED_FIELDS = ("title", "body")
# A word is common enough to pair when at least this share of the sampled articles hold it (on
# Reuters, ~900 words).
PAIR_WORD_SHARE = 0.015
# Fewer sampled articles than this say too little about which words are common: no pairs.
PAIR_SAMPLE_MIN = 500


class PreAnalyzed(tuple):  # type: ignore[type-arg]
    """A field value analysed ahead of the writer: (terms as UTF-8, frequencies, encoded positions).

    A tuple: compact, and quick to walk for `segment_writer.invert_documents`.
    """

    __slots__ = ()


def pre_analyze(text: str, positions: dict[str, list[int]] | None = None) -> PreAnalyzed | str:
    """The postings of `text` for a `NewsText` field (from its `term_positions` when given), or
    the text itself when they cannot be made here (a lone surrogate: the indexer replaces those
    before the writer sees the text)."""
    if positions is None:
        positions = term_positions(text)
    try:
        terms = tuple(map(str.encode, positions))  # UTF-8
    except UnicodeEncodeError:
        return text
    found = positions.values()
    return PreAnalyzed((terms, tuple(map(len, found)), tuple(map(encode_positions, found))))


class NewsText(TEXT):  # type: ignore[misc]
    """Whoosh's TEXT field (positions, BM25-scorable), fed by `analysis.term_positions`, its
    positions encoded by `postings_format.CompactPositions`.

    `index` yields what `TEXT.index` would, (term bytes, frequency, weight, encoded positions), for
    a `PreAnalyzed` value or for plain text, without a Token object per word.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if type(self.format) is Positions:
            self.format = CompactPositions(field_boost=self.format.field_boost)

    def index(self, value: Any, **kwargs: Any) -> Iterable[tuple[bytes, int, float, bytes]]:
        if kwargs or type(self.format) is not CompactPositions:
            return super().index(value, **kwargs)  # type: ignore[no-any-return]
        if isinstance(value, str):
            analysed = pre_analyze(value)
            if isinstance(analysed, str):
                return super().index(value)  # type: ignore[no-any-return]
            value = analysed
        if isinstance(value, PreAnalyzed):
            terms, freqs, encoded = value
            boost = float(self.format.field_boost)
            return zip(terms, freqs, [boost * f for f in freqs], encoded)
        return super().index(value)  # type: ignore[no-any-return]


class WordPairs(FieldType):  # type: ignore[misc]
    """The index's common words, and which of them stand next to which in each document's title
    and body: a pair index (as in Williams, Zobel & Bahle, "Fast phrase querying with combined
    indexes", and Lucene's CommonGrams) for phrase queries.

    A phrase of two common words otherwise costs the positions of every document holding both
    (on Reuters ×5, `"central bank"`: 3,500 documents' positions read and compared); with pairs it
    is one short list. `words` are the index's common words, most common first, chosen once from
    the first articles indexed (`common_words`) and kept in the schema for the index's life. Each
    document's pairs (`keys`) go to its segment's pair file (`pair_lists`), not to postings: a
    field of the schema only to keep the words, never indexed or stored itself.
    """

    indexed = False
    stored = False
    scorable = False

    def __init__(self, words: Iterable[str] = ()) -> None:
        self.set_words(words)

    def set_words(self, words: Iterable[str]) -> None:
        self.words = tuple(words)[: pair_lists.MAX_WORDS]
        self.numbers = {word: number for number, word in enumerate(self.words)}
        self.fingerprint = pair_lists.fingerprint(self.words)
        # For `keys`: each word's number + 1 (its code; 0: not a common word), and by that, the list
        # part of a key in each field.
        self._codes = {word: number + 1 for word, number in self.numbers.items()}
        self._lists = [[0] + [(2 * number + field) << pair_lists.LIST_SHIFT for number in range(len(self.words))] for field in range(len(PAIRED_FIELDS))]

    def keys(self, fieldname: str, in_order: list[str]) -> Iterable[int]:
        """The pair keys of a field value whose index terms are `in_order`: for each two adjacent
        common words, `pair_key` packed as list id << 16 | code (`pair_lists`); a pair the value
        holds twice gives its key twice. Made in C: four steps over the terms, two over the pairs."""
        codes = list(map(self._codes.get, in_order, repeat(0)))
        seconds = codes[1:]
        both = list(map(mul, codes, seconds))  # non-zero where both words are common
        lists = self._lists[PAIRED_FIELDS.index(fieldname)]
        return map(add, map(lists.__getitem__, compress(codes, both)), compress(seconds, both))

    def __getstate__(self) -> dict[str, Any]:
        # The table of contents keeps the words; the rest is rebuilt from them when it is read.
        return {"words": self.words}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.set_words(state["words"])


def pair_key(fieldname: str, first: str, second: str, numbers: dict[str, int]) -> tuple[int, int]:
    """(the pair list, the code in it) of common word `first` followed by common word `second` in
    `fieldname`: the first word's list in that field (2 · its number + the field's place in
    `PAIRED_FIELDS`), and the second word's number + 1."""
    return 2 * numbers[first] + PAIRED_FIELDS.index(fieldname), numbers[second] + 1


def common_words(articles_terms: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """The words held by at least `PAIR_WORD_SHARE` of the articles (each given as its index
    terms), most common first; none when there are fewer than `PAIR_SAMPLE_MIN` articles."""
    holding: Counter[str] = Counter()
    articles = 0
    for terms in articles_terms:
        holding.update(set(terms))
        articles += 1
    if articles < PAIR_SAMPLE_MIN:
        return ()
    floor = PAIR_WORD_SHARE * articles
    return tuple(term for term, count in sorted(holding.items(), key=lambda item: (-item[1], item[0])) if count >= floor)


def _news_date() -> DATETIME:
    """The article's instant, as a sortable column (which date queries and sorts read) and terms.

    Whoosh indexes a DATETIME as eight terms a document (its value at eight precisions, for range
    queries to expand into few terms); searchkit answers ranges from the column, so the terms are
    only Whoosh's own fallback, and one term a document (shift_step 0) is enough for it: on Reuters
    the seven others were half the terms of the index.
    """
    field = DATETIME(sortable=True)
    field.shift_step = 0
    return field


def build_schema(pair_words: Iterable[str] = ()) -> Schema:
    """The schema, with `pair_words` as the index's common words (`WordPairs`)."""
    analyzer = news_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=NewsText(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST, multitoken_query="phrase", spelling=False),
        body=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        date=_news_date(),
        date_iso=STORED(),
        date_info=STORED(),  # (precision, source, implausible)
        section=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        source=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        byline=NewsText(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        dateline=STORED(),
        url=ID(stored=True),
        lang=ID(stored=True),
        keywords=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        provenance=STORED(),  # (format, record_key, encoding, encoding_method, encoding_confidence)
        pairs=WordPairs(pair_words),
    )


def to_document(article: Article, file_path: str, word_pairs: WordPairs | None = None) -> dict[str, Any]:
    """The Whoosh document for an article read from `file_path` (absolute); given the index's
    `WordPairs`, with its pair keys under `_pairs` (which the writer puts in the pair file)."""
    doc: dict[str, Any] = {
        "id": article.id,
        "path": file_path,
        "title": article.title,
        "body": article.body,
        "section": article.section,
        "source": article.source,
        "byline": article.byline,
        "dateline": article.dateline,
        "url": article.url,
        "lang": article.language,
        "keywords": ",".join(k.replace(",", " ") for k in article.keywords),
        "provenance": (
            article.format,
            article.record_key,
            article.encoding,
            article.encoding_method,
            article.encoding_confidence,
        ),
    }
    pairs: list[int] = []
    for name in TEXT_FIELDS:
        text = doc[name]
        if text and isinstance(text, str):
            in_order, positions = terms_and_positions(text)
            analysed = pre_analyze(text, positions)
            if analysed is not text:
                doc["_stored_" + name] = text
                doc[name] = analysed
            if word_pairs is not None and name in PAIRED_FIELDS:
                pairs.extend(word_pairs.keys(name, in_order))
    if word_pairs is not None:
        doc["_pairs"] = pairs  # also when empty: the writer knows the document's pairs were made
    if article.date is not None:
        doc["date"] = index_value(article.date)
        doc["date_iso"] = article.date.isoformat()
        doc["date_info"] = (article.date.precision, article.date.source, article.date.implausible)
    return doc
