"""Analysis: text → index terms, the one chain used at index, query and highlight time.

A single Whoosh tokenizer does the whole chain in one pass, because a chain of Whoosh filters
costs a Python generator step per token per filter and indexing time is dominated by analysis:

- word runs (letters and digits, with inner dots as in `U.S.`) are NFKC-normalised, case-folded,
  accent-folded (`café` → `cafe`) and Snowball-stemmed (`talks`, `talked` → `talk`); English
  stop words are dropped (positions are not advanced for them, as Whoosh's StopFilter does, so a
  phrase query ignores them the same way at index and query time);
- runs of Chinese, Japanese or Korean characters, which have no spaces between words, become
  overlapping bigrams (`日本語` → `日本`, `本語`), so that a query for `日本語` — parsed as a phrase
  of its bigrams — finds `私は日本語を勉強します`. A lone CJK character is kept as a unigram.

Every token keeps the character offsets of the original text, which is what highlighting needs.
Normalising a word is memoised: news vocabulary is Zipfian, so nearly every token is a cache hit.

Indexing does not need Token objects, only each term's positions: `term_positions` gives exactly
what the tokenizer would (same terms, same positions), without building a token per word.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Collection, Iterator

import Stemmer
from whoosh.analysis import STOP_WORDS, Token, Tokenizer

_CJK_CHARS = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uff66-\uff9f"  # half-width katakana
)


@functools.lru_cache(maxsize=None)
def token_pattern() -> re.Pattern[str]:
    """A word run (`word` group) or a CJK run (`cjk` group). Compiled on first use: its wide
    character classes take ~5 ms, and ASCII text (most queries, most highlighting) never needs it."""
    return re.compile(rf"(?P<cjk>[{_CJK_CHARS}]+)|(?P<word>[^\W_{_CJK_CHARS}]+(?:\.[^\W_{_CJK_CHARS}]+)*)")


def __getattr__(name: str) -> re.Pattern[str]:
    # `TOKEN_PATTERN`, for code that imports it by name (which compiles it then).
    if name == "TOKEN_PATTERN":
        return token_pattern()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=None)
def _cjk_run() -> re.Pattern[str]:
    # Compiled on first use: a character class this wide takes milliseconds, and a `searchkit query`
    # process for an ASCII query never needs it.
    return re.compile(rf"[{_CJK_CHARS}]")


@functools.lru_cache(maxsize=None)
def _word_pattern() -> re.Pattern[str]:
    """TOKEN_PATTERN's word alternative alone: in text without CJK characters both find the same runs."""
    return re.compile(rf"[^\W_{_CJK_CHARS}]+(?:\.[^\W_{_CJK_CHARS}]+)*")
STOP_WORD_SET = frozenset(STOP_WORDS)
# Longer tokens are junk (base64, URLs glued together) and would bloat the term dictionary.
MAX_TOKEN_LENGTH = 64
_CACHE_LIMIT = 200_000

_stemmer = Stemmer.Stemmer("english")


def fold(word: str) -> str:
    """NFKC, case-fold and strip accents: the form of a word before stemming."""
    word = unicodedata.normalize("NFKC", word).casefold()
    if not word.isascii():
        decomposed = unicodedata.normalize("NFD", word)
        word = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        word = unicodedata.normalize("NFC", word)
    return word


_term_cache: dict[str, str | None] = {}


def word_term(word: str) -> str | None:
    """The index term of one word, or None for a stop word."""
    cached = _term_cache.get(word, "")
    if cached != "":
        return cached
    folded = fold(word)
    term: str | None
    if folded in STOP_WORD_SET or (len(folded) < 2 and not folded.isdigit()):
        term = None
    else:
        # Strip the dots of abbreviations (U.S. → us) so that "U.S." and "US" meet.
        term = _stemmer.stemWord(folded.replace(".", "")) if "." in folded else _stemmer.stemWord(folded)
    if len(_term_cache) > _CACHE_LIMIT:
        _term_cache.clear()
    _term_cache[word] = term
    return term


def cjk_bigrams(run: str) -> list[tuple[str, int, int]]:
    """Overlapping bigrams of a CJK run as (text, start, end) offsets within the run."""
    normalized = unicodedata.normalize("NFKC", run)
    if len(normalized) != len(run):
        # Half-width kana with voicing marks shrink under NFKC; keep offsets on the original.
        normalized = run
    if len(normalized) == 1:
        return [(normalized, 0, 1)]
    return [(normalized[i : i + 2], i, i + 2) for i in range(len(normalized) - 1)]


class NewsTokenizer(Tokenizer):
    """The whole analysis chain as one Whoosh tokenizer (see the module docstring)."""

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Wildcard, prefix and range terms: fold, but do not stem, or `talk*` would become `talk`
            # and `headquarters*` would miss `headquart`.
            token.original = token.text = fold(value)
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        pos = start_pos
        # In ASCII text `[^\W_]` is `[A-Za-z0-9]` and there is no CJK run: the same runs, without
        # compiling the full pattern.
        pattern = _ASCII_WORD_PATTERN if value.isascii() else token_pattern()
        for match in pattern.finditer(value):
            run = match.group()
            if match.lastgroup == "cjk":
                base = match.start()
                for text, start, end in cjk_bigrams(run):
                    token.text = text
                    token.stopped = False
                    token.boost = 1.0
                    if keeporiginal:
                        token.original = text
                    if positions:
                        token.pos = pos
                    if chars:
                        token.startchar = start_char + base + start
                        token.endchar = start_char + base + end
                    pos += 1
                    yield token
                continue
            if len(run) > MAX_TOKEN_LENGTH:
                continue
            term = word_term(run)
            if term is None:
                if removestops:
                    continue
                token.stopped = True
                token.text = fold(run)
            else:
                token.stopped = False
                token.text = term
            token.boost = 1.0
            if keeporiginal:
                token.original = run
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            if term is not None:
                pos += 1
            yield token


def news_analyzer() -> NewsTokenizer:
    """The analyzer of every full-text field (title, body, section, source, byline)."""
    return NewsTokenizer()


def has_cjk(text: str) -> bool:
    return not text.isascii() and _cjk_run().search(text) is not None


class _IndexTerms(dict):  # type: ignore[type-arg]
    """word → index term, or None for a stop word or an over-long run: what the tokenizer makes of it.

    A miss is filled by `__missing__`, so a lookup is one C-level `dict` subscript.
    """

    def __missing__(self, word: str) -> str | None:
        if len(self) > _CACHE_LIMIT:
            self.clear()
        term = self[word] = None if len(word) > MAX_TOKEN_LENGTH else word_term(word)
        return term


_index_terms = _IndexTerms()
# For ASCII text `[^\W_]` is `[A-Za-z0-9]`, which the regex engine matches faster.
_ASCII_WORD_PATTERN = re.compile(r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*")


def word_spans(text: str) -> list[tuple[str, int, int]] | None:
    """(index term, start, end) of each indexed word of `text`, in order, so that a word's place in
    the list is its position; None for text with CJK runs (their bigrams come from the tokenizer).

    The terms, positions and offsets `NewsTokenizer()(text, positions=True, chars=True)` gives,
    without a Token per word: highlighting re-analyses every hit's text.
    """
    pattern = _word_runs(text)
    if pattern is None:
        return None
    lookup = _index_terms.__getitem__
    spans = []
    for match in pattern.finditer(text):
        term = lookup(match.group())
        if term is not None:
            start, end = match.span()
            spans.append((term, start, end))
    return spans


def term_spans(text: str, terms: Collection[str]) -> list[tuple[str, int, int]] | None:
    """The entries of `word_spans(text)` whose term is in `terms`, found without looking at every
    word; None for text with CJK runs.

    A highlighter wants a handful of words out of hundreds. The text's distinct words are
    analysed (a memoised look-up each); those whose term is wanted become one pattern, bounded
    like a word run, and only its matches are made into spans."""
    pattern = _word_runs(text)
    if pattern is None:
        return None
    lookup = _index_terms.__getitem__
    forms = [word for word in set(pattern.findall(text)) if lookup(word) in terms]
    if not forms:
        return []
    if len(forms) > _MAX_FORMS:
        # Many forms (a wildcard's expansions): compiling their pattern costs more than a look at every word.
        return [span for span in word_spans(text) or () if span[0] in terms]
    forms.sort()
    found = _forms_pattern(tuple(forms), pattern is _ASCII_WORD_PATTERN).finditer(text)
    return [(lookup(match.group()), *match.span()) for match in found]


def _word_runs(text: str) -> re.Pattern[str] | None:
    """The pattern of `text`'s word runs when it has no CJK run (the ASCII one for ASCII text), else None."""
    if text.isascii():
        return _ASCII_WORD_PATTERN
    return _word_pattern() if _cjk_run().search(text) is None else None


_MAX_FORMS = 24


@functools.lru_cache(maxsize=512)
def _forms_pattern(forms: tuple[str, ...], ascii_only: bool) -> re.Pattern[str]:
    # A whole word run equal to one of `forms`: not preceded by a word character, or by one and a
    # dot (the run would have started earlier), not followed by a word character, or by a dot and
    # one (the run would go on). `[^\W_]` is the word pattern's character class for text without
    # CJK runs, which is the only text this is used on.
    word = "[A-Za-z0-9]" if ascii_only else r"[^\W_]"
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!{word})(?<!{word}\.)(?:{alternatives})(?!{word})(?!\.{word})")


def term_positions(text: str) -> dict[str, list[int]]:
    """Each index term of `text` with its positions, in order of first occurrence.

    The same terms and positions as `NewsTokenizer()(text, positions=True)` (stop words dropped
    without advancing the position), computed without a Token object per word: indexing spends
    most of its analysis time here.
    """
    return terms_and_positions(text)[1]


def terms_and_positions(text: str) -> tuple[list[str], dict[str, list[int]]]:
    """(the index terms of `text` in order, `term_positions(text)`): the terms' order gives the
    word pairs of `schema.WordPairs`."""
    positions: dict[str, list[int]] = {}
    if text.isascii():
        words = _ASCII_WORD_PATTERN.findall(text)
    elif _cjk_run().search(text) is None:
        words = _word_pattern().findall(text)
    else:
        in_order = []
        for token in NewsTokenizer()(text, positions=True):
            in_order.append(token.text)
            found = positions.get(token.text)
            if found is None:
                positions[token.text] = [token.pos]
            else:
                found.append(token.pos)
        return in_order, positions
    get = positions.get
    # Index terms are never empty, so filter(None) drops exactly the stop words and long runs.
    in_order = list(filter(None, map(_index_terms.__getitem__, words)))
    for pos, term in enumerate(in_order):
        found = get(term)
        if found is None:
            positions[term] = [pos]
        else:
            found.append(pos)
    return in_order, positions


def terms(text: str) -> list[str]:
    """The index terms of `text`, in order (for tests, suggestions and the cluster backend)."""
    return [t.text for t in NewsTokenizer()(text)]
