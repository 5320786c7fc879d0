"""`index.analysis.punkt.line_spans` gives exactly nltk's Punkt spans with the shipped parameters.

The fast splitter re-derives Punkt's decisions for our fixed parameters, so any drift from
`punkt_tokenizer().span_tokenize` would silently move sentence boundaries in the index. These tests
compare the two on the bundled article, on SQuAD paragraphs, on hand-written lines aimed at each
rule (abbreviations, initials, numbers, ellipses, closing quotes, odd white space, non-ASCII) and
on generated lines built from those same pieces.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nltk.tokenize.punkt import PunktLanguageVars, PunktSentenceTokenizer, PunktToken

from citebot.index.analysis import punkt
from citebot.index.analysis.punkt import ABBREVIATIONS, line_spans, punkt_tokenizer

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
SQUAD = ROOT.parent / "shared" / "eval" / "squad" / "articles.jsonl"
SQUAD_PARAGRAPHS = 400


def reference(line: str) -> list[tuple[int, int]]:
    return list(punkt_tokenizer().span_tokenize(line))


def assert_same(line: str) -> None:
    assert line_spans(line) == reference(line), repr(line)


AWKWARD = [
    "",
    " ",
    "   \t  ",
    ".",
    "...",
    "?!",
    ". . .",
    "!!! ??? ...",
    '." .) .\' ?" !)',
    "Dr. Smith met Mr. Jones. They talked.",
    "The U.S. Army and the U.K. met in Washington, D.C. on Jan. 5. Then they left.",
    "U.S.A.! Next one.",
    "E.g. this, e.g. that, i.e. the other. Cf. the note.",
    "J. R. R. Tolkien wrote it. J.R.R. Tolkien too.",
    "Joseph P. Chacko and Joseph P. chacko. P. S. I. Love you.",
    "It grew 3.5. Then 4. and then 5. Nothing else.",
    "See No. 5 and no. 6. Also Vol. 2, pp. 3-4. Fig. 7 shows it.",
    "He came 1st. She came 2nd. They were 3rd. in line. The 4th. One.",
    "In 1990. In 1991. in 1992. 1993. (1994.) -5. .5. 1,000. 1.000. 1-2.",
    "Wait... what? Really?! Yes!! No!? Well... ok. Fine...",
    'He said "Stop." Then he left. "Go!" she said. (Really.) [Yes.] {No.}',
    "He said \u201cStop.\u201d Then \u2018ok.\u2019 Then \xabnon.\xbb Done.",
    "'Single.' 'Quote.' ''Double''. \")Mixed.\"' End.",
    "end.Next sentence. Another.One more.",
    "Two  spaces.  Tab\tseparated.\tMixed \t whitespace. \u00a0Nbsp.\u00a0Here. \u2003Em.\u3000Ideo.",
    "   Leading space. And trailing.   ",
    " Dr. Who. ",
    " .). x",
    '\t.". x',
    " !! b",
    " ?) Next.",
    "\tTabbed start. Next.",
    "Line\rwith\rreturns. Next.\x0bVertical. tab.\x0cForm feed. End.",
    "The ex-Gov. spoke. The ex-gov. Smith. A pre-Dr. B. And co-Prof. X.",
    "Hyphen -- dash. Double--dash. Triple---dash. -- Start.",
    ", ; : . ! ? ( ) [ ] { } \" ' * @ & # `",
    "--- ... ,,, ;;; ::: !!! ???",
    "Café. Élan. Über alles. Σίσυφος. ﬁne. İstanbul. straße.",
    "É. Lévy and É. lévy and Ü. Müller. _. Under. x. y. Z. Done.",
    "Numbers \u0663. Next \u0664\u0665. next. \u00b2. Up. e\u0301. Done.",
    "He paid $5. She paid 5%. Rate 5.5%. Up 10-fold. Fine.",
    "##number##. Next. ##NUMBER##. next. ##number##.. x",
    "Ends with abbreviation etc.",
    'Ends with quote."',
    "Ends with bracket.)",
    "Ends with space. ",
    "Question? answer. Exclaim! answer. Dot. answer.",
    "a. b. c. D. E. F. 1. 2. 3. A. 1. a.",
    "Mr.Smith Mrs.Jones Dr.Who. OK.",
    "Stop.\" He said.\" 'Quoted.' Unquoted.",
    "Room 101. (See above.) [Ref. 3.] Next.",
    "It costs 3.50. Really. It is 3.5.5. And 1..2. And 1...3.",
    "Sentence.\x1cseparator. Then.",
    "A.\x1fB. C.",
]


def _compact(verbose_pattern: str) -> str:
    """A verbose pattern without its comments and white space."""
    return re.sub(r"\s+", "", re.sub(r"#[^\n]*", "", verbose_pattern))


def test_nltk_patterns_are_the_ones_reimplemented() -> None:
    """punkt spells these patterns and constants for `re`; a new nltk that changes them
    needs punkt re-derived."""
    lv = PunktLanguageVars()
    assert lv.sent_end_chars == (".", "?", "!")
    assert lv._re_word_start == r"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"
    assert lv._re_multi_char_punct == r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"
    assert _compact(lv._word_tokenize_fmt) == (
        r"(%(MultiChar)s|(?=%(WordStart)s)\S+?(?=\s|$|%(NonWord)s|%(MultiChar)s"
        r"|,(?=$|\s|%(NonWord)s|%(MultiChar)s))|\S)"
    )
    assert _compact(lv._period_context_fmt) == (r"%(SentEndChars)s(?=(?P<after_tok>%(NonWord)s|\s+(?P<next_tok>\S+)))")
    non_word = {chr(i) for i in range(0x10000) if re.fullmatch(lv._re_non_word_chars, chr(i))}
    assert non_word == set(punkt._NON_WORD_CHARS)
    assert non_word == {chr(i) for i in range(0x10000) if re.fullmatch(punkt._NON_WORD, chr(i))}
    assert lv.re_boundary_realignment.pattern == r'["\')\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\s+|(?=--)|$)'
    assert PunktToken._RE_NUMERIC.pattern == r"^-?[\.,]?\d[\d,\.-]*\.?$"
    assert PunktToken._RE_INITIAL.pattern == r"[^\W\d]\.$"
    assert PunktToken._RE_ELLIPSIS.pattern == r"\.\.+$"
    assert PunktSentenceTokenizer.PUNCTUATION == tuple(";:,.!?")
    params = punkt_tokenizer()._params
    assert params.abbrev_types == set(ABBREVIATIONS)
    assert not params.collocations and not params.sent_starters and not any(params.ortho_context.values())


def test_white_space_is_classed_alike_outside_the_fallback() -> None:
    """The premise of the `re` translation: `re`, nltk's `regex` and `str.isspace` agree on
    white space everywhere but U+001C..U+001F, which `line_spans` hands to nltk (BMP checked)."""
    import regex

    ws_re, ws_regex = re.compile(r"\s"), regex.compile(r"\s", regex.UNICODE)
    differ = [
        i for i in range(0x10000) if not (bool(ws_re.match(chr(i))) == bool(ws_regex.match(chr(i))) == chr(i).isspace())
    ]
    assert differ == [0x1C, 0x1D, 0x1E, 0x1F]


@pytest.mark.parametrize("line", AWKWARD)
def test_awkward_lines(line: str) -> None:
    assert_same(line)


def test_bundled_article_lines() -> None:
    for line in ARTICLE.read_text(encoding="utf-8").split("\n"):
        assert_same(line)


def test_squad_paragraphs() -> None:
    if not SQUAD.exists():
        pytest.skip(f"{SQUAD} is not here")
    done = 0
    with SQUAD.open(encoding="utf-8") as f:
        for row in f:
            for paragraph in json.loads(row)["paragraphs"]:
                for line in paragraph.split("\n"):
                    assert_same(line)
                done += 1
                if done >= SQUAD_PARAGRAPHS:
                    return


def test_warm_memo_gives_the_same_spans() -> None:
    """The memoised decisions give the same answer the second time."""
    for line in AWKWARD:
        first = line_spans(line)
        assert line_spans(line) == first == reference(line)


_ABBREVS = sorted(ABBREVIATIONS)
PIECES = st.one_of(
    st.sampled_from(
        [
            "word",
            "Word",
            "the",
            "The",
            "it",
            "It",
            "NASA",
            "x2",
            "_",
            "Ü",
            "é",
            "Éa",
            "straße",
            "İ",
            "Σ",
            "café",
            "##number##",
            "ex",
            "ex-Gov",
            "co-Dr",
        ]
    ),
    st.sampled_from(_ABBREVS).map(lambda a: a),
    st.sampled_from(_ABBREVS).map(str.capitalize),
    st.sampled_from(_ABBREVS).map(str.upper),
    st.sampled_from("abcxyzABCXYZ"),
    st.sampled_from(["1", "5", "1990", "3.5", "1,000", "-5", "\u0663", "\u00b2", "1st", "2nd"]),
    st.sampled_from([".", ".", ".", ".", "?", "!", "...", "..", ". . .", "?!", "--", "-"]),
    st.sampled_from(
        [
            '"',
            "'",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "\u201c",
            "\u201d",
            "\u2018",
            "\u2019",
            "\xab",
            "\xbb",
            ",",
            ";",
            ":",
            "*",
            "@",
            "&",
            "#",
            "`",
            "%",
        ]
    ),
    st.sampled_from(
        [" ", " ", " ", " ", "  ", "\t", "\r", "\x0b", "\x0c", "\xa0", "\u2003", "\u3000", "\x85", "\u2028", "\x1c"]
    ),
)
LINES = st.lists(
    st.one_of(PIECES, st.tuples(PIECES, st.just(". ")).map("".join), st.just(" ")),
    max_size=30,
).map("".join)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_generated_lines(line: str) -> None:
    assert_same(line)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_generated_contexts_decide_as_nltk(context: str) -> None:
    """The per-candidate decision equals `text_contains_sentbreak` on any string, not only on
    the contexts the lines above happen to produce."""
    if "\x1c" in context:
        return  # such lines go to nltk, never to the decision
    assert punkt._contains_sentbreak(context) == punkt_tokenizer().text_contains_sentbreak(context)
