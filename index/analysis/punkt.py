"""Punkt sentence spans of one line: nltk's Punkt with the shipped abbreviations, redone.

Punkt's pretrained English model lives in nltk_data, which would need a download. Its
algorithm works without training as long as it knows the abbreviations, so we ship the list
(ABBREVIATIONS): common English abbreviations and all single letters (initials such as
"Joseph P. Chacko"). `punkt_tokenizer()` is nltk's tokenizer with those parameters.

Sentence splitting was the largest single cost of building the index: nltk's
`PunktSentenceTokenizer.span_tokenize` runs every pattern through the `regex` engine under a
timeout wrapper, chains four generators, builds a `PunktToken` object per word and re-tokenises
each candidate's context. With the parameters shipped here (abbreviations only: no
collocations, no frequent sentence starters, an empty orthographic context) most of that work
decides nothing, so this module redoes the same steps directly with `re` and plain functions,
six to ten times cheaper.

`line_spans(line)` == `list(punkt_tokenizer().span_tokenize(line))` for every `str`
without "\\n" (tests/test_scale_punkt.py compares them on real, hand-written and generated
text). It follows nltk step by step:

- `_match_potential_end_contexts`: the same period-context pattern in `re` (or, on a line
  without "?" and "!", `str.find` of "." and the same test of what follows), and the same
  "word before" rule (last `string.whitespace` character, overlapping candidates dropped), so
  each candidate's context is the substring nltk builds.
- `text_contains_sentbreak(context)`: nltk's word tokenizer pattern in `re`, then the first and
  second annotation passes reduced for these parameters (`_sentbreak_between`), with a
  shortcut for the usual "word. Next" shape; memoised, as it is a pure function of the context.
- `_slices_from_text` and `_realign_boundaries`: the same arithmetic on (start, end) pairs.

`re`, `regex` and `str.isspace` class every character alike as white space or not, except
U+001C..U+001F (white space to `re` and `str`, not to `regex`), so a line with one of those (or
with "\\n") goes to nltk itself. The token tests that use `\\w` or `\\d` (initials, numbers),
where the engines differ on some non-ASCII characters, call nltk's own patterns unless the
token is ASCII.
"""

from __future__ import annotations

import re
from functools import lru_cache

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer, PunktToken

__all__ = ["ABBREVIATIONS", "line_spans", "punkt_tokenizer"]

# Lower-case, without the final period, as Punkt stores them ("u.s" matches "U.S.").
ABBREVIATIONS: frozenset[str] = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres hon rev fr
    inc ltd co corp llc plc bros dept univ assn est approx vs etc al e.g i.e cf viz ca
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    u.s u.s.a u.k u.n e.u d.c n.y l.a a.m p.m ph.d m.d b.a m.a m.b.a b.sc m.sc no nos vol pp fig
    """.split()
) | frozenset("abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=1)
def punkt_tokenizer() -> PunktSentenceTokenizer:
    """nltk's Punkt with ABBREVIATIONS as its only parameters (no collocations, no sentence
    starters, no orthographic context): what `line_spans` computes, and its fallback."""
    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


# nltk's PunktLanguageVars patterns, spelled for `re` (the test checks nltk still uses these).
_NON_WORD = r"""[)";}\]*:@'({\[\u2018\u2019\u201c\u201d\xab\xbb?!]"""
_MULTI_CHAR = r"(?:-{2,}|\.{2,}|(?:\.\s){2,}\.)"
_WORD_START = r"""[^(\"`{\[:;&\#*@)}\]\-,]"""

_PERIOD_CONTEXT = re.compile(rf"[.?!](?=(?P<after_tok>{_NON_WORD}|\s+(?P<next_tok>\S+)))")
"""A candidate end character and what follows it (`period_context_re`)."""

_WORD = re.compile(
    rf"""{_MULTI_CHAR}
    |(?={_WORD_START})\S+?(?=\s|$|{_NON_WORD}|{_MULTI_CHAR}|,(?=$|\s|{_NON_WORD}|{_MULTI_CHAR}))
    |\S""",
    re.VERBOSE,
)
"""Punkt's word tokens (`_word_tokenizer_re`, without its outer group)."""

_REALIGN = re.compile(r"""["')\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\s+|(?=--)|$)""", re.MULTILINE)
"""Closing punctuation that belongs to the previous sentence (`re_boundary_realignment`)."""

_CLOSERS = frozenset("\"')]}\u2018\u2019\u201c\u201d\xab\xbb")
"""The characters `_REALIGN` can start with: any other sentence start skips the match."""

_NUMERIC_ASCII = re.compile(r"-?[.,]?\d[\d,.-]*\.?\Z")
"""`PunktToken._RE_NUMERIC` for ASCII types (its `^...$` on a token without "\\n")."""

_INITIAL_ASCII = re.compile(r"[^\W\d]\.\Z")
"""`PunktToken._RE_INITIAL` for ASCII tokens."""

_SIMPLE = re.compile(r"([A-Za-z0-9]+)\.\s+([A-Za-z0-9])[^\s.?!]*\Z")
"""The usual context, "word. Next": its tokens are "word." and then only tokens of "Next...",
which starts with a letter or digit and has no ".", "?" or "!", so none of those can break."""

_AFTER_SPACE = re.compile(r"\s+(\S+)")
"""The `\\s+(?P<next_tok>\\S+)` branch of `_PERIOD_CONTEXT`, tried where a period is."""

_NON_WORD_CHARS = frozenset(")\";}]*:@'({[\u2018\u2019\u201c\u201d\xab\xbb?!")
"""The characters `_NON_WORD` matches."""

_TO_SPACE = str.maketrans("\t\r\x0b\x0c", "    ")
"""`string.whitespace` other than " " and "\\n" (nltk's "word before" search looks for these,
not for `\\s`), mapped to " " so that one `rfind` finds any of them."""

_PUNCTUATION = frozenset(";:,.!?")

_MEMO_LIMIT = 200_000
_memo: dict[str, bool] = {}


def _is_initial(tok: str) -> bool:
    """`PunktToken.is_initial`: one letter (or "_") and a period."""
    if len(tok) != 2:  # (the pattern matches exactly two characters: a token holds no "\n")
        return False
    if tok.isascii():
        return _INITIAL_ASCII.match(tok) is not None
    return PunktToken._RE_INITIAL.match(tok) is not None


def _is_number_type(tok: str) -> bool:
    """Whether `PunktToken(tok).type_no_period == "##number##"` (a number, or the literal type
    "##number##." left by a token that spells it)."""
    low = tok.lower()
    if low.isascii():
        if _NUMERIC_ASCII.match(low):
            return True
    elif PunktToken._RE_NUMERIC.match(low):
        return True
    return low == "##number##" or low == "##number##."


def _sentbreak_between(tok: str, nxt: str) -> bool:
    """Whether Punkt's two annotation passes leave `tok`, followed by `nxt`, a sentence break.

    First pass: ".", "?", "!" break; a period-final token breaks unless it ends in ".." or is a
    known abbreviation (also after its last "-"). Second pass, with no collocations, no
    sentence starters and an empty orthographic context: `_ortho_heuristic(nxt)` is False for
    punctuation or a lower-case start and "unknown" otherwise, so an initial or a number is
    un-broken before those, and an initial also before an upper-case start.
    """
    if not tok.endswith("."):
        return tok == "?" or tok == "!"
    if tok != ".":
        if tok.endswith(".."):
            return False
        word = tok[:-1].lower()
        if word in ABBREVIATIONS or word.rsplit("-", 1)[-1] in ABBREVIATIONS:
            return False
    initial = _is_initial(tok)
    if initial or _is_number_type(tok):
        if nxt in _PUNCTUATION or nxt[0].islower():
            return False
        if initial and nxt[0].isupper():
            return False
    return True


def _contains_sentbreak(context: str) -> bool:
    """`PunktSentenceTokenizer.text_contains_sentbreak(context)` for a context without "\\n":
    some word token other than the last is a sentence break."""
    m = _SIMPLE.match(context)
    if m is not None:  # tokens "word." and the next token(s), none of which can break
        word = m.group(1)
        if word.lower() in ABBREVIATIONS:
            return False
        if word.isdigit():  # a number: un-broken before a lower-case start
            return not m.group(2).islower()
        return True
    toks = _WORD.findall(context)
    for i in range(len(toks) - 1):
        if _sentbreak_between(toks[i], toks[i + 1]):
            return True
    return False


def _breaks(context: str) -> bool:
    """`_contains_sentbreak`, memoised: the same contexts ("etc. The", "1990. In") recur."""
    try:
        return _memo[context]
    except KeyError:
        pass
    found = _contains_sentbreak(context)
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[context] = found
    return found


def _space_line(line: str) -> str:
    """`line` with every `string.whitespace` character as " " (it has no "\\n")."""
    if "\t" in line or "\r" in line or "\x0b" in line or "\x0c" in line:
        return line.translate(_TO_SPACE)
    return line


def _decide(
    line: str, context: str, stop: int, next_start: int, out: list[tuple[int, int]], last: int, closers: bool
) -> tuple[int, bool]:
    """One candidate of `_slices_from_text`: the period (or "?", "!") at `stop`, in `context`;
    `next_start` is where its next token starts (-1: none, a non-word character follows).
    When it breaks, the sentence from `last` ends after it; returns where the current sentence
    starts, and whether some sentence after the first starts with a closing character."""
    found = _memo.get(context)
    if found is None:
        found = _breaks(context)
    if not found:
        return last, closers
    out.append((last, stop + 1))
    last = next_start if next_start >= 0 else stop + 1
    return last, closers or line[last] in _CLOSERS


def _slices_any(line: str) -> tuple[list[tuple[int, int]], bool]:
    """`_slices_from_text(line)`, and whether some sentence after the first starts with a
    closing character (only then can `_realign_boundaries` move anything).

    The slices are (start, end) of each unaligned sentence, the last one ending at
    `len(line.rstrip())`; all but the last are non-empty, and so is the last if there are
    several. Candidates come from the period-context pattern, as in nltk.
    """
    ws = _space_line(line)
    out: list[tuple[int, int]] = []
    closers = False
    last = 0
    prev = None  # the pending candidate of `_match_potential_end_contexts`
    prev_start = prev_stop = 0
    for m in _PERIOD_CONTEXT.finditer(line):
        s = m.start()
        i = ws.rfind(" ", prev_stop, s)
        start = i + 1 if i > prev_stop else prev_start
        if prev is not None and prev_stop <= start:
            last, closers = _decide(line, line[prev_start : prev.end(1)], prev_stop, prev.start(2), out, last, closers)
        prev = m
        prev_start = start
        prev_stop = s
    if prev is not None:
        last, closers = _decide(line, line[prev_start : prev.end(1)], prev_stop, prev.start(2), out, last, closers)
    out.append((last, len(line.rstrip())))
    return out, closers


def _slices_periods(line: str) -> tuple[list[tuple[int, int]], bool]:
    """`_slices_any` for a line without "?" and "!", where every candidate is a period: found
    with `str.find`, which is many times faster than scanning for a character class."""
    ws = _space_line(line)
    find = line.find
    rfind = ws.rfind
    n = len(line)
    out: list[tuple[int, int]] = []
    closers = False
    last = 0
    pending = False  # whether a candidate waits (prev_*), as in `_slices_any`
    prev_start = prev_stop = prev_end = prev_next = 0
    i = find(".")
    while i >= 0:
        j = i + 1
        if j == n:
            break
        c = line[j]
        if c in _NON_WORD_CHARS:
            end = j + 1
            nxt = -1
        elif c.isspace():  # \s, as `re` and `regex` agree here
            m = _AFTER_SPACE.match(line, j)
            if m is None:
                break  # only white space follows
            end = m.end()
            nxt = m.start(1)
        else:
            i = find(".", j)
            continue
        k = rfind(" ", prev_stop, i)
        start = k + 1 if k > prev_stop else prev_start
        if pending and prev_stop <= start:
            last, closers = _decide(line, line[prev_start:prev_end], prev_stop, prev_next, out, last, closers)
        pending = True
        prev_start = start
        prev_stop = i
        prev_end = end
        prev_next = nxt
        i = find(".", j)
    if pending:
        last, closers = _decide(line, line[prev_start:prev_end], prev_stop, prev_next, out, last, closers)
    out.append((last, len(line.rstrip())))
    return out, closers


def _realign(line: str, slices: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`_realign_boundaries`: a sentence that starts with closing quotes or brackets followed
    by white space, "--" or its end gives them to the sentence before."""
    n = len(slices) - 1
    spans: list[tuple[int, int]] = []
    shift = 0
    for k in range(n):
        a, b = slices[k]
        a += shift
        a2, b2 = slices[k + 1]
        m = _REALIGN.match(line, a2, b2) if a2 < b2 and line[a2] in _CLOSERS else None
        if m is not None:
            spans.append((a, a2 + len(m.group().rstrip())))
            shift = m.end() - a2
        else:
            shift = 0
            if a < b:
                spans.append((a, b))
    a, b = slices[n]
    if a + shift < b:
        spans.append((a + shift, b))
    return spans


def line_spans(line: str) -> list[tuple[int, int]]:
    """`list(punkt_tokenizer().span_tokenize(line))` for one line (no "\\n"): the character spans of
    its sentences, with closing quotes and brackets moved onto the sentence they close."""
    if "\n" in line or "\x1c" in line or "\x1d" in line or "\x1e" in line or "\x1f" in line:
        return list(punkt_tokenizer().span_tokenize(line))
    if "?" in line or "!" in line:
        slices, closers = _slices_any(line)
    else:
        slices, closers = _slices_periods(line)
    if closers:
        return _realign(line, slices)
    if slices[-1][0] >= slices[-1][1]:  # a blank line: no breaks, nothing left
        slices.pop()
    return slices
