"""Passages: whole sentences, one section, bounded size, stable ids, citations a reader can follow.

Expected paragraph numbers and sections below were read off corpus/nasa-roscosmos-2025.txt by
counting its blank-line-separated blocks (the title line is 1), and are re-derived from the raw
file in the tests where that is cheap, not copied from the program's output.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from citebot.index.analysis import sentence_spans, split_sentences
from citebot.index.analysis.reference import reference_sentence_spans
from citebot.index.build.params import IndexParams
from citebot.index.build.reference import build_reference
from citebot.index.build.reindex import rebuild
from citebot.index.build.sources import load_corpus
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.blocks import BYLINE, PARAGRAPH
from citebot.index.ingest.documents import Document, parse_document
from citebot.index.ingest.loading import load_document
from citebot.index.ingest.passages import AUTHOR_SECTION, Passage, PassageParams, split_document
from tests.support.helpers import built_passages

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
TITLE = "NASA and Roscosmos Reignite Space Ties After 8-Year Hiatus"
ISS_SECTION = "ISS Operation Extension and Future Plans"
HISTORY_SECTION = "History of Contact Suspension and Project Halts"
ENGINES_SECTION = "A Complicated Chapter: Russian Engines in US Rockets"


@pytest.fixture(scope="module")
def doc() -> Document:
    return load_document(ARTICLE)


@pytest.fixture(scope="module")
def passages(doc: Document) -> list[Passage]:
    return split_document(doc)


@pytest.fixture(scope="module")
def small_passages(doc: Document) -> list[Passage]:
    return split_document(doc, PassageParams(max_words=40))


def raw_blocks() -> list[str]:
    """The article's blocks counted the way a reader does: split on blank lines."""
    return [b for b in re.split(r"\n[ \t]*\n", ARTICLE.read_text(encoding="utf-8")) if b.strip()]


def words(text: str) -> int:
    return len(text.split())


def blocks_of(doc: Document, passage: Passage) -> list:
    first, last = passage.citation.paragraphs
    return [b for b in doc.blocks if first <= b.number <= last and b.role == PARAGRAPH]


def passage_with(passages: list[Passage], needle: str) -> Passage:
    found = [p for p in passages if needle in p.text]
    assert len(found) == 1, f"{needle!r} should be in exactly one passage, found {len(found)}"
    return found[0]


def is_body(p: Passage) -> bool:
    return p.citation.section != AUTHOR_SECTION


# ---------------------------------------------------------------------------------------------
# Whole sentences


def sentence_aligned(doc: Document, p: Passage) -> bool:
    """The passage is whole paragraphs, or one run of whole sentences of a single paragraph."""
    blocks = blocks_of(doc, p)
    if len(blocks) > 1:
        return p.text == "\n\n".join(b.text for b in blocks)
    (block,) = blocks
    rel_start, rel_end = p.citation.start - block.start, p.citation.end - block.start
    spans = sentence_spans(block.text)
    return (
        block.text[rel_start:rel_end] == p.text
        and rel_start in {s for s, _ in spans}
        and rel_end in {e for _, e in spans}
    )


def test_default_passages_never_cut_a_sentence(doc, passages):
    body = [p for p in passages if is_body(p)]
    assert body
    for p in body:
        assert sentence_aligned(doc, p), p.citation
        # Independent of the splitter: every passage of this article ends where a sentence does
        # (paragraph 12 ends with "as follows:", introducing the list that follows).
        assert re.search(r"[.!?:][\"')\]]*$", p.text), p.text[-40:]
        assert p.text[0].isupper(), p.text[:40]


def test_every_body_paragraph_is_in_some_passage_and_nothing_else_is(doc, passages):
    covered: set[int] = set()
    for p in passages:
        first, last = p.citation.paragraphs
        covered.update(range(first, last + 1))
    expected = {b.number for b in doc.paragraphs} | {b.number for b in doc.blocks if b.role == BYLINE}
    assert covered == expected
    # Read from the file: title (1), "Must Read" (3), headings (6, 10, 16), and the comment form /
    # link lists at the end (23-26) are not body text.
    assert covered.isdisjoint({1, 3, 6, 10, 16, 23, 24, 25, 26})
    assert {2, 5, 7, 8, 9, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22} <= covered


def test_passages_stay_inside_one_section(doc, passages, small_passages):
    for p in passages + small_passages:
        if not is_body(p):
            continue
        sections = {b.section for b in blocks_of(doc, p)}
        assert sections == {p.citation.section}, p.citation


def test_passages_have_at_most_max_words(passages, small_passages):
    assert all(words(p.text) <= 200 for p in passages)
    assert all(words(p.text) <= 40 for p in small_passages)
    # The small setting actually has to split something in this article.
    assert len(small_passages) > len(passages)


def test_short_max_words_splits_long_paragraphs_at_sentence_boundaries(doc, small_passages):
    by_para: dict[int, list[Passage]] = {}
    for p in small_passages:
        if is_body(p) and p.citation.paragraphs[0] == p.citation.paragraphs[1]:
            by_para.setdefault(p.citation.paragraphs[0], []).append(p)
    long_paras = [b for b in doc.paragraphs if words(b.text) > 40]
    assert long_paras
    for block in long_paras:
        pieces = by_para[block.number]
        assert len(pieces) >= 2, block.number
        # Every piece cites the paragraph itself, and together they are the paragraph, in order.
        assert all(p.citation.paragraphs == (block.number, block.number) for p in pieces)
        assert all(p.citation.section == block.section for p in pieces)
        assert "".join("".join(p.text.split()) for p in pieces) == "".join(block.text.split())
        spans = sentence_spans(block.text)
        starts, ends = {s for s, _ in spans}, {e for _, e in spans}

        def inside_overlong_sentence(offset: int, block=block, spans=spans) -> bool:
            # The one documented exception: a single sentence longer than max_words is cut
            # at word boundaries.
            return any(s < offset < e and words(block.text[s:e]) > 40 for s, e in spans)

        for p in pieces:
            rel_start, rel_end = p.citation.start - block.start, p.citation.end - block.start
            assert block.text[rel_start:rel_end] == p.text
            assert rel_start in starts or inside_overlong_sentence(rel_start), p.text
            assert rel_end in ends or inside_overlong_sentence(rel_end), p.text
        # Greedy packing: a piece that ends on a sentence could not have taken the next sentence.
        for p, nxt in zip(pieces, pieces[1:]):
            if sentence_aligned(doc, p) and sentence_aligned(doc, nxt):
                next_sentence = split_sentences(nxt.text)[0]
                assert words(p.text) + words(next_sentence) > 40


def test_paragraph_seven_splits_into_whole_sentences_with_small_passages(small_passages):
    pieces = [p for p in small_passages if p.citation.paragraphs == (7, 7)]
    # Paragraph 7 has four sentences (26, 21, 15 and 20 words by str.split): 26 | 21+15 | 20.
    assert [words(p.text) for p in pieces] == [26, 36, 20]
    assert pieces[0].text.endswith("until 2030.")
    assert pieces[1].text.startswith("The United States and Russia")
    assert pieces[2].text.startswith("Furthermore,")


def test_short_paragraphs_join_within_their_section_never_across():
    filler = lambda n, tag: " ".join(f"{tag}{i}" for i in range(n - 1)) + " end."  # noqa: E731
    raw = (
        "\n\n".join(
            [
                "A synthetic title",
                "First Heading",
                "Alpha " + filler(30, "a"),
                "Bravo " + filler(10, "b"),  # short, last in its section: joins the paragraph before
                "Second Heading",
                "Charlie " + filler(10, "c"),  # short, first in its section: joins the next one
                "Delta " + filler(30, "d"),
            ]
        )
        + "\n"
    )
    doc = parse_document(raw, "synthetic.txt")
    result = [(p.citation.paragraphs, p.citation.section) for p in split_document(doc)]
    assert result == [((3, 4), "First Heading"), ((6, 7), "Second Heading")]


def test_passage_params_are_validated():
    with pytest.raises(ValueError, match="max_words"):
        PassageParams(max_words=5)
    with pytest.raises(ValueError, match="join_below"):
        PassageParams(max_words=50, join_below=60)


# ---------------------------------------------------------------------------------------------
# Citations


def test_paragraph_numbers_match_the_blank_line_blocks_of_the_file():
    blocks = raw_blocks()
    assert "extend the ISS\u2019s operation until 2028" in blocks[7 - 1]
    assert blocks[21 - 1].strip() == "In conclusion,"
    assert blocks[22 - 1].startswith("After years of interruption")
    assert blocks[4 - 1].startswith("Joseph P Chacko")
    assert blocks[6 - 1].strip() == ISS_SECTION


def test_citation_of_the_iss_extension_sentence(passages):
    p = passage_with(passages, "extend the ISS's operation until 2028")
    c = p.citation
    assert c.paragraphs == (7, 7)
    assert c.section == ISS_SECTION
    assert c.document == TITLE
    assert c.author == "Joseph P. Chacko"
    assert c.path == str(ARTICLE)
    # A citation never shows the absolute path: without a known corpus folder, the file's name.
    assert c.label == f'"{TITLE}" by Joseph P. Chacko, § {ISS_SECTION}, ¶7 ({ARTICLE.name})'


@pytest.mark.parametrize(
    ("needle", "paragraphs", "section"),
    [
        ("first in-person talks in eight years", (2, 2), None),
        ("headed by General Director Dmitry Bakanov", (5, 5), None),
        ("Russian Orbital Space Station (ROS)", (8, 8), ISS_SECTION),
        ("Japan Aerospace Exploration Agency (JAXA)", (9, 9), ISS_SECTION),
        ("the first direct dialogue since 2018", (11, 11), HISTORY_SECTION),
        ("Atlas V from United Launch Alliance", (17, 17), ENGINES_SECTION),
        ("Antares rocket to facilitate payload deliveries", (19, 19), ENGINES_SECTION),
    ],
)
def test_citations_match_the_blocks(passages, needle, paragraphs, section):
    p = passage_with(passages, needle)
    assert p.citation.paragraphs == paragraphs
    assert p.citation.section == section
    # The cited block of the raw file really holds the sentence (curly quotes aside).
    raw = raw_blocks()[paragraphs[0] - 1].replace("\u2019", "'")
    assert needle in raw


def test_in_conclusion_joins_the_next_paragraph(passages):
    p = passage_with(passages, "In conclusion,")
    assert p.citation.paragraphs == (21, 22)
    assert p.citation.section == ENGINES_SECTION
    assert p.text.startswith("In conclusion,\n\nAfter years of interruption")
    assert p.citation.paragraph_label == "¶21–22"
    assert "¶21–22" in p.citation.label
    assert not any(q.text.strip() == "In conclusion," for q in passages)


def test_author_bio_passage(doc, passages):
    bio = [p for p in passages if p.citation.section == AUTHOR_SECTION]
    assert len(bio) == 1
    p = bio[0]
    assert p.citation.paragraphs == (4, 4)
    assert p.text.startswith("Joseph P. Chacko is the publisher of Frontier India.")
    assert "M.B.A in International Business" in p.text
    # The repeated name lines above the bio are not part of the text.
    assert "Joseph P Chacko" not in p.text
    assert "author" in p.context and "Joseph P. Chacko" in p.context


def test_char_offsets_point_at_the_passage_text_in_the_document(doc, passages, small_passages):
    for p in passages + small_passages:
        if not is_body(p):
            continue
        assert doc.text[p.citation.start : p.citation.end] == p.text, p.citation
        assert 0 <= p.citation.start < p.citation.end <= len(doc.text)


def test_bio_passage_offset_points_at_its_text(doc, passages):
    (p,) = [p for p in passages if p.citation.section == AUTHOR_SECTION]
    assert doc.text.startswith(p.text[:60], p.citation.start)


def test_markdown_heading_in_same_block_offset_points_at_paragraph_text():
    raw = "# Title\n\n## Section A\nThis is the section text, which is long enough to be a paragraph.\n"
    doc = parse_document(raw, "notes.md", kind="md")
    (p,) = split_document(doc)
    assert p.citation.section == "Section A"
    assert doc.text.startswith(p.text[:30], p.citation.start)


# ---------------------------------------------------------------------------------------------
# Stable ids


def test_ids_are_stable_for_the_same_text(tmp_path, passages):
    again = split_document(load_document(ARTICLE))
    assert [p.id for p in again] == [p.id for p in passages]
    copy = tmp_path / "elsewhere" / "renamed.txt"
    copy.parent.mkdir()
    shutil.copy(ARTICLE, copy)
    moved = split_document(load_document(copy))
    assert [p.id for p in moved] == [p.id for p in passages]
    assert len({p.id for p in passages}) == len(passages)


def test_ids_change_when_the_text_changes(tmp_path, passages):
    edited = tmp_path / "edited.txt"
    edited.write_text(ARTICLE.read_text(encoding="utf-8").replace("until 2028", "until 2029"), encoding="utf-8")
    changed = split_document(load_document(edited))
    assert len(changed) == len(passages)
    assert {p.id for p in changed}.isdisjoint({p.id for p in passages})


async def test_rebuilt_index_twice_has_equal_ids(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    ids = []
    for name in ("one.sqlite3", "two.sqlite3"):
        built = build_reference(load_corpus([corpus])[0])
        await rebuild([corpus], tmp_path / name, IndexParams())
        reader = await IndexReader.open(tmp_path / name)
        try:
            stored = await reader.passages(list(range(reader.info.passages)))
            ids.append([s.passage.id for s in stored])
            assert [s.passage.text for s in stored] == [p.text for p in built.passages]
        finally:
            await reader.close()
    assert ids[0] == ids[1] and len(ids[0]) == len(set(ids[0]))


def test_two_documents_never_share_passage_ids(tmp_path):
    def text(i: int) -> str:
        return f"Generated note {i}\n\nThis generated paragraph number {i} has enough plain words to count as prose.\n"

    seen: dict[str, int] = {}
    pair = None
    for i in range(3_000_000):  # a birthday collision on 32 bits is expected after ~80,000 tries
        prefix = hashlib.sha256(text(i).encode()).hexdigest()[:8]
        if prefix in seen:
            pair = (seen[prefix], i)
            break
        seen[prefix] = i
    assert pair is not None
    docs = [parse_document(text(n), f"note{n}.txt") for n in pair]
    assert docs[0].content_hash != docs[1].content_hash
    built = [s.passage for s in built_passages(docs)]  # (the passages' unique index would refuse a repeat)
    assert {p.doc_hash for p in built} == {d.content_hash for d in docs}
    assert len({p.id for p in built}) == len(built)


# ---------------------------------------------------------------------------------------------
# Sentence splitting and abbreviations


@pytest.mark.parametrize(
    "text",
    [
        "The U.S. Air Force frequently extended waivers to ensure access to space.",
        "Dr. Smith met the delegation in Houston.",
        "Mr. Bakanov arrived in Houston on July 29.",
        "The talks began at 3 p.m. on Thursday in Houston.",
        "Joseph P. Chacko is the publisher of Frontier India.",
        "He holds an M.B.A in International Business.",
        "The U.K. and the U.S. signed it.",
    ],
)
def test_abbreviations_do_not_end_a_sentence(text):
    assert split_sentences(text) == [text]


def test_bio_sentences_split_at_real_ends_only():
    bio = (
        "Joseph P. Chacko is the publisher of Frontier India. He holds an M.B.A in International "
        "Business. Books: Author: Foxtrot to Arihant."
    )
    assert split_sentences(bio) == [
        "Joseph P. Chacko is the publisher of Frontier India.",
        "He holds an M.B.A in International Business.",
        "Books: Author: Foxtrot to Arihant.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The probe reached orbit. Scientists cheered.", ["The probe reached orbit.", "Scientists cheered."]),
        ("It rained. It poured! Did it stop? Yes.", ["It rained.", "It poured!", "Did it stop?", "Yes."]),
        ("He holds an M.B.A. in business. She does not.", ["He holds an M.B.A. in business.", "She does not."]),
        ("Dr. Smith arrived. Mr. Jones left.", ["Dr. Smith arrived.", "Mr. Jones left."]),
    ],
)
def test_normal_sentences_are_split(text, expected):
    assert split_sentences(text) == expected


def test_sentence_spans_cover_lines_of_a_block_separately():
    text = "Label without a stop\nA sentence follows here. And another one."
    assert split_sentences(text) == ["Label without a stop", "A sentence follows here.", "And another one."]
    assert all(text[s:e] == t for (s, e), t in zip(sentence_spans(text), split_sentences(text)))


WRAPPED = """pyenv works by inserting a directory of shims at the front of your
PATH, so that every command is found there first. Through a process called
rehashing, pyenv keeps one shim for every command.
Short label
- a list item
- another item without a stop
```
code line one
code line two
```
name | value
other | row"""


def test_hard_wrapped_lines_are_one_text_while_lists_labels_and_code_stay_lines():
    assert split_sentences(WRAPPED) == [
        "pyenv works by inserting a directory of shims at the front of your\nPATH, so that every command is "
        "found there first.",
        "Through a process called\nrehashing, pyenv keeps one shim for every command.",
        "Short label",
        "- a list item",
        "- another item without a stop",
        "```",
        "code line one",
        "code line two",
        "```",
        "name | value",
        "other | row",
    ]
    assert sentence_spans(WRAPPED) == reference_sentence_spans(WRAPPED)
    # A short line followed by a capitalised one reads as a line of its own; followed by a
    # lower-case word, it carries on.
    assert split_sentences("Installed here\nThe next line") == ["Installed here", "The next line"]
    assert split_sentences("Installed here\nand there.") == ["Installed here\nand there."]
