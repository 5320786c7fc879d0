"""The compiled scanner (`index._termscan`) against the Python it replaces.

`TermTable.scan` must find exactly the tokens `re.findall` finds with the analyser's word
pattern, in any text (ASCII or not), and map them to exactly the encoding and terms that the
memo, `" ".join` and the line-break rule gave. Everything here is randomised with fixed seeds;
the expected values are computed by the Python reference, never written down.
"""

from __future__ import annotations

import random
import re
import sys

import pytest

from index._termscan import TermTable
from index.fastanalysis import _SEPARATOR, _WORD_RE
from index.doc_analysis import encode_sentence_terms

WORD_OR_SEPARATOR = re.compile(_WORD_RE.pattern + "|\x00")

# Word characters, apostrophes in every position, the separator, and non-ASCII characters
# of several kinds: letters (1-, 2- and 4-byte storage), digits in other scripts, marks,
# symbols, spaces, underscores (a word character to \w, not to [^\W_]).
PIECES = ["a", "B", "9", "'", "''", " ", "_", "-", _SEPARATOR, "\x00", "rock'n'roll", "don't", "x'", "'y", ".",
          "\t", "\n", "\x7f", "~", "é", "ß", "Ünïcode", "\u0301", "日本", "٣", "²", "Ⅻ", "ª", "\u00a0", "\u2019",
          "\U0001d400", "\U0001f600", "İ", "ﬁ", "Σς", "_x_", "x_y"]


def random_text(rng: random.Random, max_pieces: int = 20) -> str:
    parts = [rng.choice(PIECES) for _ in range(rng.randrange(0, max_pieces))]
    if rng.random() < 0.2:  # any code point at all, outside the surrogates
        parts.append(chr(rng.choice([rng.randrange(0x80, 0xD800), rng.randrange(0xE000, sys.maxunicode + 1)])))
    rng.shuffle(parts)
    return "".join(parts)


def reference(text: str, memo: dict[str, str]) -> tuple[str, list[str]]:
    """What `clean_text_terms` computed in Python: per NUL-separated segment, its tokens'
    non-empty terms, encoded one line per segment."""
    lines: list[list[str]] = [[]]
    for token in WORD_OR_SEPARATOR.findall(text):
        if token == "\x00":
            lines.append([])
        elif memo[token]:
            lines[-1].append(memo[token])
    return encode_sentence_terms(lines), [t for line in lines for t in line]


def test_scan_finds_the_tokens_that_re_finds() -> None:
    rng = random.Random(11)
    for _ in range(30000):
        text = random_text(rng)
        expected = [t for t in WORD_OR_SEPARATOR.findall(text) if t != "\x00"]
        found = TermTable().scan(text)
        if expected:
            assert found == expected, repr(text)
        else:  # nothing to map: an encoding of empty lines, one per separator
            assert found == ("\n" * text.count("\x00"), []), repr(text)


def test_every_code_point_is_a_word_character_exactly_when_re_says_so() -> None:
    table = TermTable()
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp < 0xE000 or cp == 0:
            continue
        c = chr(cp)
        found = table.scan(c)
        assert (found == [c]) == bool(WORD_OR_SEPARATOR.fullmatch(c)), hex(cp)


def test_scan_maps_tokens_as_the_memo_did() -> None:
    rng = random.Random(12)
    terms = ["", "", "x", "long" * 20, "é", "日", "\U0001d400", "a'b", "↑"]
    table = TermTable()
    memo: dict[str, str] = {}
    for _ in range(20000):
        text = random_text(rng)
        missing = table.scan(text)
        if isinstance(missing, list):
            for token in missing:
                memo.setdefault(token, rng.choice(terms))
                table.add(token, memo[token])
        assert table.scan(text) == reference(text, memo), repr(text)
    assert len(table) == len(memo)


def test_the_table_grows_and_keeps_every_mapping() -> None:
    rng = random.Random(13)
    table = TermTable()
    # near-identical keys, many more than the initial capacity
    tokens = [f"w{i}" for i in range(60000)] + [f"{i}é" for i in range(20000)] + [f"日{i}" for i in range(20000)]
    memo = {t: rng.choice(["", t.upper(), "z"]) for t in tokens}
    for t in tokens:
        table.add(t, memo[t])
    assert len(table) == len(tokens)
    text = " ".join(rng.sample(tokens, 5000))
    assert table.scan(text) == reference(text, memo)


def test_add_replaces_and_clear_forgets() -> None:
    table = TermTable()
    table.add("Moon", "moon")
    table.add("Moon", "lunar")
    assert len(table) == 1
    assert table.scan("Moon \x00 Moon") == ("lunar\nlunar", ["lunar", "lunar"])
    table.clear()
    assert len(table) == 0
    assert table.scan("Moon") == ["Moon"]


def test_scan_returns_the_tables_own_term_objects() -> None:
    table = TermTable()
    term = "".join(["orb", "it"])  # a fresh object, not an interned constant
    table.add("orbits", term)
    _, terms = table.scan("orbits orbits")
    assert terms[0] is term and terms[1] is term


def test_bad_arguments_are_refused() -> None:
    table = TermTable()
    with pytest.raises(TypeError):
        table.scan(b"bytes")
    with pytest.raises(TypeError):
        table.add("token", None)


def test_number_terms_refuses_what_is_not_a_list_and_a_dict() -> None:
    from index._termscan import number_terms

    with pytest.raises(TypeError):
        number_terms(("a",), {}, [])
    with pytest.raises(TypeError):
        number_terms(["a"], [], [])
    with pytest.raises(TypeError):
        TermTable(1)


def test_count_words_is_the_length_of_split() -> None:
    from index._termscan import count_words

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
