"""The real build gives exactly the reference build's index, and the file ranks as rank_bm25.

The full build (`filebuild`: parallel workers, acronyms injected by term id) must equal
`build_reference` (the plain sequential definition): same passages, sentence spans, acronyms,
document lengths, hence bit-identical scores; and the index `citebot index` writes, read back
from SQLite after a reindex, must rank exactly as rank_bm25 (Lucene IDF) on the reference term
lists. (Incremental reindexing: test_incremental.py.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest

import citebot.index.build.full as filebuild
from citebot.index.analysis import (
    AcronymExpander,
    AcronymMap,
    Analyzer,
    chars_agree,
    decode_sentence_terms,
    is_mixed,
    sentence_spans,
)
from citebot.index.analysis.normalize import normalize_text
from citebot.index.analysis.reference import ReferenceAnalyzer, reference_expand, reference_sentence_spans
from citebot.index.build.params import IndexParams
from citebot.index.build.reference import build_reference
from citebot.index.build.reindex import rebuild_sync
from citebot.index.build.sources import load_corpus
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.documents import parse_document
from citebot.index.ingest.passages import Passage
from tests.support.corpora import AWKWARD, corpus_documents
from tests.support.helpers import assert_matches_reference, build_index_file_for, stored_passages

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"


def test_fast_terms_match_the_analyzer_on_awkward_text() -> None:
    analyzer, fast = ReferenceAnalyzer(), Analyzer()
    texts = AWKWARD + ARTICLE.read_text(encoding="utf-8").split("\n\n")
    for text in texts * 2:  # the second round runs on warm memos
        assert fast.terms(text) == analyzer.terms(text), text
        spans = reference_sentence_spans(text)
        assert sentence_spans(text) == spans, text
        encoded, whole = fast.sentence_and_passage_terms(text, spans)
        assert whole == analyzer.terms(text), text
        assert decode_sentence_terms(encoded, len(spans)) == [analyzer.terms(text[a:b]) for a, b in spans], text


PIECES = [
    "U.S.",
    "a.b",
    " ",
    "  ",
    "\t",
    "\n",
    "rock'n'roll",
    "'",
    "don't",
    "IT",
    "US",
    "WE",
    "us",
    "Dr.",
    "end.",
    "Next",
    ".",
    "!",
    "?",
    "x",
    "NASA",
    "3.5",
    "e.g.",
    "ISS.",
    "hello",
    "World",
    "''",
    "a'",
    "'b",
    "\x07",
    "\r",
    "e\u0301",
    "\u0301",
    "ﬁ",
    "İ",
    "ß",
    "\u2019",
    "\u200b",
    "Σς",
    "日本",
    "ª",
    "Ⅻ",
    "²",
    "٣",
    "\u00a0",
    "Ünïcode",
]


def test_sentence_and_passage_terms_match_the_analyzer_on_random_text() -> None:
    """Random text, raw and normalised (the shape a parsed passage has, which takes the
    in-place path `Analyzer.passage_terms`), against the analyser sentence by sentence."""
    analyzer, fast = ReferenceAnalyzer(), Analyzer()
    rng = random.Random(5)
    clean = 0
    for _ in range(3000):
        raw = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 25)))
        for text in (raw, normalize_text(raw)):
            spans = reference_sentence_spans(text)
            if rng.random() < 0.3:  # any spans: cuts inside words, gaps holding words
                cuts = sorted(rng.randrange(len(text) + 1) for _ in range(2 * rng.randrange(4)))
                spans = list(zip(cuts[::2], cuts[1::2]))
            encoded, whole = fast.sentence_and_passage_terms(text, spans)
            assert decode_sentence_terms(encoded, len(spans)) == [analyzer.terms(text[a:b]) for a, b in spans], text
            assert whole == analyzer.terms(text), text
            clean += fast.passage_terms(text, spans) is not None
    assert clean > 2000  # both paths ran


def test_acronym_expander_matches_acronym_map() -> None:
    rng = random.Random(1)
    words = ["space", "station", "ros", "russian", "orbit", "deep", "network", "dsn", "x"]
    acronyms = AcronymMap(
        {
            "ros": ("russian", "orbit", "space", "station"),
            "dsn": ("deep", "space", "network"),
            "ss": ("space", "station"),
            "x": ("x", "x"),
        }
    )
    expander = AcronymExpander(acronyms)
    for _ in range(2000):
        terms = [rng.choice(words) for _ in range(rng.randrange(0, 12))]
        assert expander.expand(terms) == reference_expand(acronyms, terms), terms
        assert acronyms.expand(terms) == expander.expand(terms), terms


@pytest.mark.parametrize("parallel", [False, True])
def test_fast_build_equals_reference_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool) -> None:
    documents, _ = load_corpus(corpus_documents(tmp_path))
    documents.append(parse_document("\n\n".join(["Awkward text"] + [t for t in AWKWARD if t.strip()]), "awkward.txt"))
    if parallel:
        monkeypatch.setattr(filebuild, "PARALLEL_ABOVE_CHARS", 0)
        monkeypatch.setattr(filebuild, "_TASK_FILES", 2)
    params = IndexParams(context_weight=2)
    # The files through the workers, the awkward document handed in memory.
    folder = tmp_path.parent / f"{tmp_path.name}-index"
    folder.mkdir()
    db = build_index_file_for([tmp_path, documents[-1]], folder, params)
    reference = assert_matches_reference(db, [tmp_path, documents[-1]], params)
    assert reference.acronyms.pairs, "the corpus defines acronyms"
    # The build splits sentences with the live splitter: it gives nltk's Punkt spans (the
    # reference build uses Punkt itself). The stored sentence terms are what the reference
    # analyser computes for each sentence.
    assert reference.sentences == [reference_sentence_spans(p.text) for p in reference.passages]
    analyzer = ReferenceAnalyzer()
    for s in stored_passages(db):
        assert list(s.sentence_terms) == [tuple(analyzer.terms(s.passage.text[x:y])) for x, y in s.sentences]


def unnamed(passage: Passage) -> Passage:
    return dataclasses.replace(passage, citation=dataclasses.replace(passage.citation, name=None))


def test_reindexed_file_ranks_exactly_as_rank_bm25(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    corpus_documents(corpus, n_extra=8)
    db = tmp_path / "index.sqlite3"
    params = IndexParams()
    rebuild_sync([corpus], db, params)

    # Change one document (adding an acronym definition), add one, remove one.
    changed = corpus / "notes-2.md"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nThe Lunar Orbital Platform (LOP) docks.\n", encoding="utf-8"
    )
    (corpus / "notes-new.md").write_text(
        "New notes\n\nThe Deep Space Network answered the Lunar Orbital Platform today, said the agency's statement.\n",
        encoding="utf-8",
    )
    (corpus / "notes-5.md").unlink()
    documents, _ = load_corpus([corpus])

    # Through the store: the reindex command's file ranks exactly as rank_bm25 on the
    # reference term lists.
    rebuild_sync([corpus], db, params)
    reference = build_reference(documents, params)
    analyzer = ReferenceAnalyzer()
    ref = reference.bm25

    async def check() -> None:
        reader = await IndexReader.open(db)
        try:
            assert reader.bm25.n_docs == len(reference.passages)
            stored = await reader.passages(range(reader.bm25.n_docs))
            assert [unnamed(s.passage) for s in stored] == reference.passages  # (the reader adds `name`)
            for question in (
                "When will the ISS be deorbited?",
                "What is the DSN?",
                "Who leads Roscosmos?",
                "lunar orbital platform",
                "space station agreement",
            ):
                terms = reference_expand(reader.acronyms, analyzer.question_terms(question))
                scores = ref.get_scores(terms)
                cand = np.flatnonzero(scores > 0)
                top = cand[np.lexsort((cand, -scores[cand]))[:10]]
                hits = reader.bm25.top_k(terms, 10)
                assert [h.index for h in hits] == top.tolist()
                assert [h.score for h in hits] == scores[top].tolist()  # bit-identical
        finally:
            await reader.close()

    asyncio.run(check())


def test_mixed_case_check_equals_islower_on_any_slice() -> None:
    """The regex shortcut for ASCII text asks exactly `any(c.islower() ...)` of the slice."""
    rng = random.Random(2)
    chars = [chr(i) for i in range(128)] + ["é", "ª", "İ", "ß", "Σ"]
    for _ in range(20000):
        text = "".join(rng.choice(chars) for _ in range(rng.randrange(0, 10)))
        a, b = sorted(rng.randrange(0, len(text) + 1) for _ in range(2))
        assert is_mixed(text, a, b) == any(c.islower() for c in text[a:b]), (text, a, b)
        assert is_mixed(text) == any(c.islower() for c in text)


def test_passage_terms_declines_exactly_the_texts_that_are_not_clean() -> None:
    """`passage_terms` (C, and Python for what needs it) takes a text exactly when it is clean
    by definition, on text holding quotes, invisible and control characters, surrogates,
    compatibility forms and combining marks."""
    from citebot.index.analysis.normalize import CONTROL

    fast = Analyzer()
    pieces = PIECES + [
        "\ud800",
        "\udfff",
        "\u2018",
        "\u00ab",
        "\u200d",
        "\u2066",
        "\ufeff",
        "a\u0308",
        "\u00e4",
        "\u212b",
        "\u1e9b\u0323",
        "\x00",
        "\x1f",
    ]
    rng = random.Random(8)
    seen = {True: 0, False: 0}
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        definition = (
            "\r" not in text
            and CONTROL.search(text) is None
            and (text.isascii() or (normalize_text(text) == text and chars_agree(text)))
        )
        assert (fast.passage_terms(text, [(0, len(text))]) is not None) == definition, repr(text)
        seen[definition and not text.isascii()] += 1
    assert seen[True] > 500 and seen[False] > 500  # both answers, for non-ASCII text


def test_normalize_text_is_its_steps_applied_in_turn() -> None:
    """`normalize_text` skips work on text that is already normal; it must still equal each
    step applied to the whole text in turn."""
    import unicodedata

    from citebot.index.analysis.normalize import CONTROL, INVISIBLE, QUOTES

    def reference(text: str) -> str:
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = unicodedata.normalize("NFKC", text)
        for curly, straight in QUOTES.items():
            text = text.replace(curly, straight)
        return CONTROL.sub(" ", INVISIBLE.sub("", text))

    pieces = PIECES + [
        "\ud800",
        "\u2018",
        "\u201d",
        "\u00ab",
        "\u200d",
        "\u2066",
        "\ufeff",
        "a\u0308",
        "\u00e4",
        "\u212b",
        "\u1e9b\u0323",
        "\x00",
        "\x1f",
        "\r\n",
        "\n\u0301",
        "\u2032",
    ]
    rng = random.Random(9)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        assert normalize_text(text) == reference(text), repr(text)


def test_spans_json_is_json_dumps() -> None:
    import json

    from citebot.index.indexfile.rows import spans_json

    rng = random.Random(10)
    for n in range(12):
        spans = [(rng.randrange(10 ** rng.randrange(1, 12)), rng.randrange(10**6)) for _ in range(n)]
        assert spans_json(spans) == json.dumps(spans)


def test_fast_question_terms_match_the_analyzer() -> None:
    """Answerer analyses questions with `Analyzer.question_terms`; it must give the reference's
    terms, measure words after "how" dropped, on any text."""
    analyzer, fast = ReferenceAnalyzer(), Analyzer()
    pieces = PIECES + [
        "how",
        "How",
        "HOW",
        "long",
        "many",
        "much",
        "Long",
        "MANY",
        " how long ",
        "how how much",
        "?",
        "How long will the ISS keep operating?",
    ]
    rng = random.Random(16)
    for _ in range(20000):
        question = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14)))
        assert fast.question_terms(question) == analyzer.question_terms(question), repr(question)


def test_can_expand_is_false_only_where_expand_copies() -> None:
    rng = random.Random(17)
    words = ["space", "station", "ros", "russian", "orbit", "deep", "network", "dsn", "x", "y"]
    expander = AcronymExpander(
        AcronymMap({"ros": ("russian", "orbit", "space", "station"), "dsn": ("deep", "space", "network")})
    )
    seen = {True: 0, False: 0}
    for _ in range(3000):
        sentences = [[rng.choice(words) for _ in range(rng.randrange(0, 6))] for _ in range(rng.randrange(0, 5))]
        can = expander.can_expand(t for s in sentences for t in s)
        seen[can] += 1
        if not can:
            assert all(expander.expand(s) == s for s in sentences)
        else:
            assert any(set(s) & {"russian", "deep"} for s in sentences)
    assert seen[True] and seen[False]
