"""The compiled scanner (`index.analysis._termscan`) against the Python it replaces.

`scan_passage` must find exactly the tokens that `re.findall` finds with the analyser's word
pattern (after the analyser's "X.Y." rewriting), in any clean text, ASCII or not; map them
through the table for their sentence's case mix; and build exactly the encoding and terms
that the Python path built. It must decline (None) exactly the texts that hold a character
keeping them from being clean. Everything here is randomised with fixed seeds; expected values
come from the Python reference below, never written down.
"""

from __future__ import annotations

import random
import re
import sys

import pytest

from citebot.index.analysis import (
    DOTTED,
    WORD_RE,
    TermTable,
    count_words,
    encode_sentence_terms,
    number_terms,
    scan_passage,
    undot,
)
from citebot.index.analysis.normalize import CONTROL, QUOTE_OR_INVISIBLE

WORDISH = re.compile(r"[^\W_]|'")
UNCLEAN = re.compile(f"\r|{CONTROL.pattern}|{QUOTE_OR_INVISIBLE.pattern}|[\ud800-\udfff]")

# Word characters, apostrophes in every position, "X.Y." runs and near misses, and non-ASCII
# characters of several kinds: letters (1-, 2- and 4-byte storage), digits in other scripts,
# marks, symbols, spaces, underscores (a word character to \w, not to [^\W_]), and characters
# that keep a text from being clean.
PIECES = [
    "a",
    "B",
    "9",
    "'",
    "''",
    " ",
    "_",
    "-",
    "rock'n'roll",
    "don't",
    "x'",
    "'y",
    ".",
    "\t",
    "\n",
    "~",
    "U.S.",
    "u.s.a.",
    "e.g.",
    "A.b",
    ".c.",
    "X.Y.Z",
    "U.S.'s",
    "_U.S.",
    "é.U.S.",
    "Q.E.D.5",
    "é",
    "ß",
    "Ünïcode",
    "\u0301",
    "日本",
    "٣",
    "²",
    "Ⅻ",
    "ª",
    "\u00a0",
    "\U0001d400",
    "\U0001f600",
    "İ",
    "ﬁ",
    "Σς",
    "_x_",
    "x_y",
    "ALL CAPS",
    "Mixed Case",
]
UNCLEAN_PIECES = ["\r", "\x00", "\x07", "\x7f", "\u2019", "\u201c", "\u00ab", "\u200b", "\ufeff", "\u2066", "\ud800"]


def random_text(rng: random.Random, max_pieces: int = 20) -> str:
    parts = [rng.choice(PIECES) for _ in range(rng.randrange(0, max_pieces))]
    if rng.random() < 0.2:  # any code point at all
        parts.append(chr(rng.randrange(0x80, sys.maxunicode + 1)))
    rng.shuffle(parts)
    return "".join(parts)


def random_spans(rng: random.Random, text: str) -> list[tuple[int, int]]:
    cuts = sorted(rng.randrange(len(text) + 1) for _ in range(2 * rng.randrange(5)))
    return list(zip(cuts[::2], cuts[1::2]))


def has_lower(text: str) -> bool:
    return any(c.islower() for c in text)


def tokens(text: str) -> list[str]:
    """The analyser's raw tokens of clean text: "X.Y." runs rewritten, then the word pattern."""
    return WORD_RE.findall(DOTTED.sub(undot, text))


def run_together(text: str, spans: list[tuple[int, int]]) -> bool:
    prev = 0
    for a, b in spans:
        if a > prev:
            if not text[prev:a].isspace():
                return False
        elif a > 0 and WORDISH.match(text, a - 1) and WORDISH.match(text, a):
            return False
        prev = b
    return prev == len(text) or text[prev:].isspace()


def reference(text: str, spans: list[tuple[int, int]], memos: tuple[dict, dict]) -> tuple[str, list[str]]:
    """What the Python path gave: each sentence's terms through the memo of its own case mix,
    encoded a line each; the whole text's terms, the sentences' run together only when that
    is proven the same (one case mix, no "X.Y." mark, nothing between the spans)."""
    per_sentence = []
    for a, b in spans:
        memo = memos[has_lower(text[a:b])]
        per_sentence.append([memo[t] for t in tokens(text[a:b]) if memo[t]])
    mixed = has_lower(text)
    if (
        re.search(r"\.[A-Za-z]\.", text) is None
        and all(has_lower(text[a:b]) == mixed for a, b in spans)
        and run_together(text, spans)
    ):
        whole = [t for terms in per_sentence for t in terms]
    else:
        whole = [memos[mixed][t] for t in tokens(text) if memos[mixed][t]]
    return encode_sentence_terms(per_sentence), whole


def test_scan_passage_finds_the_tokens_that_re_finds() -> None:
    rng = random.Random(11)
    for _ in range(30000):
        text = random_text(rng)
        if UNCLEAN.search(text):
            continue
        spans = random_spans(rng, text)
        expected: tuple[list[str], list[str]] = ([], [])
        for a, b in spans:
            expected[has_lower(text[a:b])].extend(tokens(text[a:b]))
        found = scan_passage(text, spans, TermTable(), TermTable())
        if expected[0] or expected[1]:
            assert found == list(expected), repr(text)
        else:  # nothing to map in the sentences: empty lines, and the whole text's terms
            assert isinstance(found, (tuple, list)), repr(text)


def test_every_code_point_is_a_word_character_exactly_when_re_says_so() -> None:
    plain, mixed = TermTable(), TermTable()
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        found = scan_passage(c, [(0, 1)], plain, mixed)
        if UNCLEAN.match(c):
            assert found is None, hex(cp)
        elif WORD_RE.fullmatch(c):
            assert found == ([[], [c]] if c.islower() else [[c], []]), hex(cp)
        else:
            assert found == ("", []), hex(cp)


def test_texts_that_are_not_clean_are_declined() -> None:
    rng = random.Random(15)
    for _ in range(5000):
        text = random_text(rng, 8)
        dirty = text[: len(text) // 2] + rng.choice(UNCLEAN_PIECES) + text[len(text) // 2 :]
        assert scan_passage(dirty, [(0, len(dirty))], TermTable(), TermTable()) is None, repr(dirty)


def test_scan_passage_maps_tokens_as_the_memos_did() -> None:
    rng = random.Random(12)
    terms = ["", "", "x", "long" * 20, "é", "日", "\U0001d400", "a'b", "↑"]
    tables = (TermTable(), TermTable())
    memos: tuple[dict, dict] = ({}, {})
    checked = 0
    for _ in range(20000):
        text = random_text(rng)
        spans = random_spans(rng, text)
        found = scan_passage(text, spans, *tables)
        if found is None:
            assert UNCLEAN.search(text), repr(text)
            continue
        while isinstance(found, list):
            for mix in (0, 1):
                for token in found[mix]:
                    memos[mix].setdefault(token, rng.choice(terms))
                    tables[mix].add(token, memos[mix][token])
            found = scan_passage(text, spans, *tables)
        assert found == reference(text, spans, memos), (text, spans)
        checked += 1
    assert checked > 15000
    assert (len(tables[0]), len(tables[1])) == (len(memos[0]), len(memos[1]))


def test_the_table_grows_and_keeps_every_mapping() -> None:
    rng = random.Random(13)
    plain, mixed = TermTable(), TermTable()
    # near-identical keys, many more than the initial capacity, in every string kind
    words = [f"w{i}" for i in range(60000)] + [f"{i}é" for i in range(20000)] + [f"日{i}" for i in range(20000)]
    memo = {t: rng.choice(["", t.upper(), "z"]) for t in words}
    for t in words:
        mixed.add(t, memo[t])
    assert len(mixed) == len(words)
    text = " ".join(rng.sample(words, 5000))
    assert scan_passage(text, [(0, len(text))], plain, mixed) == reference(text, [(0, len(text))], ({}, memo))


def test_add_replaces_and_clear_forgets() -> None:
    plain, mixed = TermTable(), TermTable()
    mixed.add("Moon", "moon")
    mixed.add("Moon", "lunar")
    assert len(mixed) == 1
    assert scan_passage("Moon. Moon.", [(0, 5), (6, 11)], plain, mixed) == ("lunar\nlunar", ["lunar", "lunar"])
    mixed.clear()
    assert len(mixed) == 0
    assert scan_passage("Moon", [(0, 4)], plain, mixed) == [[], ["Moon"]]


def test_scan_passage_returns_the_tables_own_term_objects() -> None:
    plain, mixed = TermTable(), TermTable()
    term = "".join(["orb", "it"])  # a fresh object, not an interned constant
    mixed.add("orbits", term)
    _, terms = scan_passage("orbits orbits", [(0, 6), (7, 13)], plain, mixed)
    assert terms[0] is term and terms[1] is term


def test_bad_arguments_are_refused() -> None:
    plain, mixed = TermTable(), TermTable()
    with pytest.raises(TypeError):
        scan_passage(b"bytes", [], plain, mixed)
    with pytest.raises(TypeError):
        scan_passage("text", [(0, 4)], plain, {})
    with pytest.raises(TypeError):
        scan_passage("text", [[0, 4]], plain, mixed)
    for bad in ((-1, 2), (3, 2), (0, 5)):
        with pytest.raises(ValueError, match="not within"):
            scan_passage("text", [bad], plain, mixed)
    with pytest.raises(TypeError):
        plain.add("token", None)
    with pytest.raises(TypeError):
        TermTable(1)
    with pytest.raises(TypeError):
        number_terms(("a",), {}, [])
    with pytest.raises(TypeError):
        number_terms(["a"], [], [])


def test_count_words_is_the_length_of_split() -> None:
    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
    rng = random.Random(14)
    for _ in range(20000):
        text = "".join(rng.choice(PIECES + spaces) for _ in range(rng.randrange(0, 15)))
        assert count_words(text) == len(text.split()), repr(text)
    for c in spaces:  # every white-space character, in each string kind
        for word in ("a", "é", "日", "\U0001d400"):
            text = f"{word}{c}{word}{c}"
            assert count_words(text) == len(text.split()) == 2, repr(text)
    with pytest.raises(TypeError):
        count_words(None)


def test_scan_passage_keeps_no_reference_it_does_not_return() -> None:
    """Every path (terms found, tokens missing, the whole text scanned again) leaves each
    term's reference count as it found it once the results are dropped."""
    plain, mixed = TermTable(), TermTable()
    term = "".join(["orb", "it"])
    mixed.add("orbits", term)
    mixed.add("Orbits", term)
    texts = [
        ("orbits. Orbits.", [(0, 7), (8, 15)]),  # sentences run together
        ("U.S. orbits. Orbits", [(0, 12), (13, 19)]),  # "X.Y." mark: the whole text again
        ("orbits unknown", [(0, 14)]),
    ]  # a token missing
    before = sys.getrefcount(term)
    for _ in range(1000):
        for text, spans in texts:
            scan_passage(text, spans, plain, mixed)
    assert sys.getrefcount(term) == before
