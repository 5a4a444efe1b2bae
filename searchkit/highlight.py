"""Highlighting: which characters of a hit matched the query, as spans — never markup.

Whoosh's highlighter splits the work in four; this module keeps that split but returns data:

- **What matched** (`MatchSpec`): the analysed terms and phrases of one field, read from the final
  Whoosh query (`match_spec`) after the searcher has expanded wildcards and fuzzy terms, so every
  expanded form is there. Terms under `NOT` are left out: they cannot occur in a hit.
- **Where it matched** (`find_matches`): the text is re-analysed with the one analyzer chain, so a
  query for `talks` (term `talk`) lights up `talked`, and a CJK query's bigrams line up with the
  text's. Phrase words count only where the whole phrase occurs (by token position, with its
  slop); an exact phrase becomes one span. Overlapping or touching spans are merged, so the
  bigrams `日本`+`本語` of `日本語` come out as one span. There is no character limit: a match
  100,000 characters into an article is found like one in its first line.
- **Fragments** (`SentenceFragmenter`, a Whoosh `Fragmenter`): one sentence per fragment; a long
  sentence is cut to a window around its matches (marked with `…`).
- **Scoring and output** (`SpanFormatter`, a Whoosh `Formatter`): fragments ranked by how many
  distinct query terms they hold, then how many matches, best first; each becomes a
  `Snippet(text, highlights)` whose spans are offsets into the snippet's own text.

Renderers turn spans into styles; nothing here knows about terminals or HTML.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from whoosh import highlight as whoosh_highlight
from whoosh import query as wq
from whoosh.analysis import Token

from .analysis import NewsTokenizer, term_spans, word_spans
from .models import Snippet

Span = tuple[int, int]

DEFAULT_MAXCHARS = 240  # a fragment longer than this is cut to a window around its matches
ELLIPSIS = "…"


@dataclass(frozen=True)
class MatchSpec:
    """What to highlight in one field: analysed terms, and phrases as (terms, slop)."""

    terms: frozenset[str] = frozenset()
    phrases: tuple[tuple[tuple[str, ...], int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases)


def match_spec(q: Any, fieldname: str) -> MatchSpec:
    """The terms and phrases of `fieldname` that a document matching the Whoosh query `q` may hold."""
    terms: set[str] = set()
    phrases: list[tuple[tuple[str, ...], int]] = []
    _collect(q, fieldname, terms, phrases)
    return MatchSpec(frozenset(terms), tuple(dict.fromkeys(phrases)))


def _collect(q: Any, fieldname: str, terms: set[str], phrases: list[tuple[tuple[str, ...], int]]) -> None:
    if isinstance(q, wq.Not):
        return  # a hit cannot contain what the query excludes
    if isinstance(q, wq.AndNot):
        _collect(q.a, fieldname, terms, phrases)
        return
    if isinstance(q, wq.Term):
        if q.fieldname == fieldname and isinstance(q.text, str):
            terms.add(q.text)
        return
    if isinstance(q, wq.Phrase):
        if q.fieldname == fieldname and q.words:
            words = tuple(str(w) for w in q.words)
            if len(words) == 1:
                terms.add(words[0])
            else:
                phrases.append((words, max(1, int(q.slop))))
        return
    if isinstance(q, wq.Sequence):
        words = [s.text for s in q.subqueries if isinstance(s, wq.Term) and s.fieldname == fieldname]
        if len(words) == len(q.subqueries) and len(words) > 1:
            phrases.append((tuple(words), max(1, int(q.slop))))
            return
    if q.is_leaf():
        return  # ranges, Every, unexpanded multi-terms: nothing to point at
    for child in q.children():
        _collect(child, fieldname, terms, phrases)


# --- where it matched ----------------------------------------------------------------------------


@dataclass
class _Tok:
    text: str
    pos: int
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    spans = word_spans(text)
    if spans is not None:
        return [_Tok(term, pos, start, end) for pos, (term, start, end) in enumerate(spans)]
    tokenizer = NewsTokenizer()
    return [
        _Tok(t.text, t.pos, t.startchar, t.endchar)
        for t in tokenizer(text, positions=True, chars=True, removestops=True, mode="index")
    ]


@dataclass(frozen=True)
class Match:
    """One highlighted span of the original text and the query term (or phrase) behind it."""

    start: int
    end: int
    key: str


def find_matches(text: str, spec: MatchSpec) -> list[Match]:
    """Every place in `text` where the spec's terms or whole phrases occur, merged, in order."""
    if not text or not spec:
        return []
    if not spec.phrases:
        # Terms alone need no positions: only the words whose term is wanted are looked at.
        spans = term_spans(text, spec.terms)
        if spans is not None:
            return _merge([Match(start, end, term) for term, start, end in spans])
    tokens = _tokens(text)
    found: list[Match] = []
    if spec.terms:
        found.extend(Match(t.start, t.end, t.text) for t in tokens if t.text in spec.terms)
    if spec.phrases:
        by_pos: dict[int, list[_Tok]] = {}
        for tok in tokens:
            by_pos.setdefault(tok.pos, []).append(tok)
        for words, slop in spec.phrases:
            if words:
                found.extend(_phrase_matches(tokens, by_pos, words, max(1, slop)))
    return _merge(found)


def _phrase_matches(tokens: list[_Tok], by_pos: dict[int, list[_Tok]], words: tuple[str, ...], slop: int) -> list[Match]:
    key = " ".join(words)
    matches: list[Match] = []
    for first in tokens:
        if first.text != words[0]:
            continue
        chain = [first]
        for word in words[1:]:
            previous = chain[-1].pos
            nxt = None
            for pos in range(previous + 1, previous + slop + 1):
                nxt = next((t for t in by_pos.get(pos, ()) if t.text == word), None)
                if nxt is not None:
                    break
            if nxt is None:
                break
            chain.append(nxt)
        if len(chain) != len(words):
            continue
        if slop == 1:
            # An exact phrase is one span, stop words between its words included.
            matches.append(Match(chain[0].start, max(t.end for t in chain), key))
        else:
            matches.extend(Match(t.start, t.end, key) for t in chain)
    return matches


def _merge(matches: list[Match]) -> list[Match]:
    """Sort and merge overlapping or touching spans (CJK bigrams overlap by one character)."""
    merged: list[Match] = []
    for m in sorted(matches, key=lambda m: (m.start, -m.end)):
        if merged and m.start <= merged[-1].end:
            last = merged[-1]
            if m.end > last.end:
                key = last.key if m.key == last.key else f"{last.key} {m.key}"
                merged[-1] = Match(last.start, m.end, key)
            continue
        merged.append(m)
    return merged


def highlight_spans(text: str, spec: MatchSpec) -> tuple[Span, ...]:
    """Spans of every match in the whole of `text` (titles, `show --highlight`)."""
    return tuple((m.start, m.end) for m in find_matches(text, spec))


# --- fragments -----------------------------------------------------------------------------------

# A sentence ends at . ! ? (and their closing quotes/brackets) followed by space, at a CJK full
# stop, or at a line break. Abbreviations such as `U.S.` or `Gen.` do not end one (see below).
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|[。！？]+[」』”)）]*|\n")
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.){1,}[A-Za-z]?|\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Lt|Col|Capt|Sgt|Gov|Sen|Rep|Rev|St|Jr|Sr|"
    r"Inc|Ltd|Co|Corp|No|vs|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))\.$"
)


# Hard-wrapped text (wire copy, plain-text archives, e-mail) breaks its lines at a fixed width,
# 60–80 columns, in the middle of sentences. Text whose longest line is within these bounds, with
# a few lines near that width, is taken as wrapped.
_WRAP_WIDTHS = range(50, 101)
_FULL_LINE_SLACK = 15


def wrapped_line_breaks(text: str) -> set[int]:
    """Offsets of the line breaks in `text` that only wrap a paragraph, in hard-wrapped text.

    A break wraps when the next line goes on in lower case, or when its first word would not have
    fit on the line: a writer who ends a line short, before a capital, meant the break (a table
    row, a heading, a list). Text that is not hard-wrapped has none: each of its lines is a
    paragraph."""
    if "\n" not in text:
        return set()
    lines = text.split("\n")
    lengths = list(map(len, lines))
    width = max(lengths)
    if width not in _WRAP_WIDTHS or sum(1 for n in lengths if n >= width - _FULL_LINE_SLACK) < 2:
        return set()
    wraps: set[int] = set()
    at = 0
    for line, following in zip(lines, lines[1:]):
        at += len(line)
        if line and following and (following[0].islower() or len(line) + 1 + len(following.split(" ", 1)[0]) > width):
            wraps.add(at)
        at += 1
    return wraps


def sentence_bounds(text: str) -> list[Span]:
    """(start, end) of each sentence of `text`, whitespace trimmed, empty ones dropped.

    A line break ends a sentence, unless it only wraps the text (`wrapped_line_breaks`)."""
    cuts = [0]
    wraps = wrapped_line_breaks(text)
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        if wraps and m.group() == "\n" and m.start() in wraps:
            continue
        if m.group().startswith("."):
            before = text[max(0, m.start() - 12) : m.start() + 1]
            if _ABBREVIATION.search(before):
                continue
            following = text[end : end + 3].lstrip()
            # "...in the U.S. on Monday": a lower-case word after the full stop continues the sentence.
            if following[:1].islower():
                continue
        cuts.append(end)
    cuts.append(len(text))
    bounds: list[Span] = []
    for a, b in zip(cuts, cuts[1:]):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            bounds.append((a, b))
    return bounds


class _Fragment(whoosh_highlight.Fragment):  # type: ignore[misc]
    """A Whoosh fragment that remembers whether it was cut out of a longer sentence."""

    def __init__(self, text: str, matches: list[Token], startchar: int, endchar: int, cut_before: bool, cut_after: bool) -> None:
        super().__init__(text, matches, startchar, endchar)
        self.cut_before = cut_before
        self.cut_after = cut_after


class SentenceFragmenter(whoosh_highlight.Fragmenter):  # type: ignore[misc]
    """Sentence-aware fragments around matches, with no character limit on the text searched."""

    def __init__(self, maxchars: int = DEFAULT_MAXCHARS) -> None:
        self.maxchars = maxchars
        self.charlimit = None  # Whoosh's default stops looking after 32K characters; we never do

    def must_retokenize(self) -> bool:
        return False

    def fragment_matches(self, text: str, matched_tokens: Sequence[Token]) -> list[_Fragment]:
        if not matched_tokens:
            return []
        bounds = sentence_bounds(text)
        starts = [b[0] for b in bounds]
        per_sentence: dict[int, list[Token]] = {}
        for tok in matched_tokens:
            i = max(0, bisect_right(starts, tok.startchar) - 1)
            per_sentence.setdefault(i, []).append(tok)
        fragments: list[_Fragment] = []
        for i, toks in sorted(per_sentence.items()):
            s_start, s_end = bounds[i]
            s_end = max(s_end, max(t.endchar for t in toks))
            if s_end - s_start <= self.maxchars:
                fragments.append(_Fragment(text, toks, s_start, s_end, False, False))
                continue
            fragments.extend(self._windows(text, toks, s_start, s_end))
        return fragments

    def _windows(self, text: str, toks: list[Token], s_start: int, s_end: int) -> list[_Fragment]:
        """Cut a long sentence into windows of at most `maxchars` around its matches."""
        windows: list[_Fragment] = []
        group: list[Token] = []
        for tok in toks:
            if group and tok.endchar - group[0].startchar > self.maxchars * 2 // 3:
                windows.append(self._window(text, group, s_start, s_end))
                group = []
            group.append(tok)
        if group:
            windows.append(self._window(text, group, s_start, s_end))
        return windows

    def _window(self, text: str, group: list[Token], s_start: int, s_end: int) -> _Fragment:
        first, last = group[0].startchar, max(t.endchar for t in group)
        room = max(0, self.maxchars - (last - first))
        start = max(s_start, first - room // 3)
        end = min(s_end, max(last, start + self.maxchars))
        # Snap to word boundaries so a window never starts or ends inside a word.
        if start > s_start:
            space = text.find(" ", start, first)
            start = space + 1 if space != -1 else start
        if end < s_end:
            space = text.rfind(" ", last, end)
            end = space if space != -1 else end
        return _Fragment(text, group, start, end, start > s_start, end < s_end)


def fragment_score(fragment: whoosh_highlight.Fragment) -> float:
    """Distinct query terms first (a sentence with both words beats one that repeats one), then count."""
    return len(fragment.matched_terms) * 10.0 + len(fragment.matches)


class SpanFormatter(whoosh_highlight.Formatter):  # type: ignore[misc]
    """A Whoosh formatter whose output is `Snippet`s (text + spans) instead of marked-up text."""

    def format_fragment(self, fragment: whoosh_highlight.Fragment, replace: bool = False) -> Snippet:
        text = fragment.text
        start, end = fragment.startchar, fragment.endchar
        prefix = ELLIPSIS if getattr(fragment, "cut_before", False) else ""
        suffix = ELLIPSIS if getattr(fragment, "cut_after", False) else ""
        body = text[start:end].replace("\n", " ")  # a wrapped sentence's line breaks, as spaces
        shift = len(prefix) - start
        spans: list[Span] = []
        for tok in sorted(fragment.matches, key=lambda t: t.startchar):
            a, b = max(tok.startchar, start), min(tok.endchar, end)
            if b > a and (not spans or a >= spans[-1][1]):
                spans.append((a + shift, b + shift))
        return Snippet(prefix + body + suffix, tuple(spans))

    def format(self, fragments: Iterable[whoosh_highlight.Fragment], replace: bool = False) -> list[Snippet]:  # type: ignore[override]
        return [self.format_fragment(f) for f in fragments]


@dataclass
class Highlighter:
    """Turns a field's text and a MatchSpec into up to `top` Snippets, best first."""

    maxchars: int = DEFAULT_MAXCHARS
    fragmenter: SentenceFragmenter = field(init=False)
    formatter: SpanFormatter = field(init=False)

    def __post_init__(self) -> None:
        self.fragmenter = SentenceFragmenter(self.maxchars)
        self.formatter = SpanFormatter()

    def snippets(self, text: str, spec: MatchSpec, top: int = 3, *, lead_if_none: bool = True) -> tuple[Snippet, ...]:
        if top <= 0 or not text:
            return ()
        matches = find_matches(text, spec)
        tokens = [Token(text=m.key, startchar=m.start, endchar=m.end, chars=True) for m in matches]
        fragments = self.fragmenter.fragment_matches(text, tokens)
        # Best first; equal scores keep the order of the text.
        ranked = sorted(fragments, key=lambda f: (-fragment_score(f), f.startchar))[:top]
        if not ranked:
            return (lead_snippet(text, self.maxchars),) if lead_if_none else ()
        return tuple(self.formatter.format(ranked))


def lead_snippet(text: str, maxchars: int = DEFAULT_MAXCHARS) -> Snippet:
    """The opening of an article, for hits whose body holds no query term (a title-only match)."""
    bounds = sentence_bounds(text[: maxchars * 4])
    if not bounds:
        return Snippet("")
    start, end = bounds[0]
    if end - start > maxchars:
        cut = max(text.rfind(" ", start, start + maxchars), text.rfind("\n", start, start + maxchars))
        end = cut if cut > start else start + maxchars
        return Snippet(text[start:end].replace("\n", " ") + ELLIPSIS)
    return Snippet(text[start:end].replace("\n", " "))


def snippets(text: str, spec: MatchSpec, top: int = 3, maxchars: int = DEFAULT_MAXCHARS) -> tuple[Snippet, ...]:
    """Up to `top` best fragments of `text` with their match spans (the lead when nothing matched)."""
    return Highlighter(maxchars).snippets(text, spec, top)


__all__ = [
    "Highlighter",
    "Match",
    "MatchSpec",
    "SentenceFragmenter",
    "SpanFormatter",
    "find_matches",
    "highlight_spans",
    "lead_snippet",
    "match_spec",
    "sentence_bounds",
    "snippets",
]
