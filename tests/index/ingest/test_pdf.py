"""Reading PDFs (index/pdf.py): paragraphs rebuilt from page lines, furniture dropped by rule,
title and author, headings, and the pages of every passage; files that cannot be read are
warnings, never a crash.

The PDFs are made here (tests/support/pdf_fixtures.py, with fpdf2), and each maker says on which pages
it printed what, so the pages cited are checked against the printing, not against the reader.
Layout rules are also tested on lines built by hand (`Line`), with no PDF at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import WarningKind, summarise
from citebot.index.ingest.blocks import HEADING, PARAGRAPH, TITLE
from citebot.index.ingest.documents import Document
from citebot.index.ingest.files import UnreadableDocument
from citebot.index.ingest.loading import load_document
from citebot.index.ingest.passages import Passage, page_span, split_document
from citebot.index.ingest.pdf import Line, rebuild
from tests.support.pdf_fixtures import (
    REPORT_AUTHOR,
    REPORT_TITLE,
    SPRING,
    TREATMENT,
    MadePdf,
    make_article,
    make_encrypted,
    make_report,
    make_scan,
)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def printed_pages(passage: Passage, made: MadePdf) -> set[int]:
    """The pages the maker printed the passage's paragraphs on (those it holds whole or in part)."""
    text = squash(passage.text)
    pages: set[int] = set()
    for printed, on in made.printed_on.items():
        printed = squash(printed)
        if printed in text or text in printed:
            pages.update(on)
    return pages


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[MadePdf, Document]:
    made = make_report(tmp_path_factory.mktemp("report") / "report.pdf")
    return made, load_document(made.path)


# ------------------------------------------------------------------------- a whole report --


def test_the_report_is_read_with_its_metadata_headings_and_paragraphs(report) -> None:
    made, doc = report
    assert doc.kind == "pdf" and doc.title == REPORT_TITLE and doc.author == REPORT_AUTHOR
    assert [b.number for b in doc.blocks] == list(range(1, len(doc.blocks) + 1))
    assert doc.blocks[0].role == TITLE
    assert [b.section for b in doc.blocks if b.role == HEADING] == [
        "Sampling Method",
        "Nitrate Levels",
        "Treatment Works",
        "Outlook",
    ]
    # Every paragraph printed is one paragraph of the document, in order, with its words intact.
    bodies = [squash(b.text) for b in doc.paragraphs]
    assert bodies == [squash(t) for t in made.printed_on]
    assert all(b.role == PARAGRAPH for b in doc.paragraphs)


def test_running_header_footer_and_page_numbers_are_gone(report) -> None:
    _, doc = report
    assert "Annual Report" not in doc.text and "Water Board" not in doc.text
    assert not re.search(r"Page \d", doc.text) and " of 4" not in doc.text


def test_line_end_hyphens_join_words_and_keep_real_compounds(report) -> None:
    _, doc = report
    assert squash(TREATMENT) in squash(doc.text)
    assert "ultra-violet" not in doc.text and "main-tenance" not in doc.text and "welltrained" not in doc.text


def test_a_paragraph_across_a_page_break_is_one_passage_citing_both_pages(report) -> None:
    made, doc = report
    assert made.printed_on[SPRING] == (1, 2), "the fixture must print it across the break"
    (block,) = [b for b in doc.paragraphs if b.text.startswith("The spring")]
    assert squash(block.text) == squash(SPRING)
    (passage,) = [p for p in split_document(doc) if p.text.startswith("The spring")]
    assert passage.citation.pages == (1, 2)
    assert passage.citation.page_label == "pp. 1–2"
    assert passage.citation.paragraphs == (block.number, block.number)


def test_every_passage_cites_the_pages_it_was_printed_on(report) -> None:
    made, doc = report
    assert len(doc.page_starts) == made.pages == 4
    passages = split_document(doc)
    assert passages
    for p in passages:
        if p.citation.section is None or p.citation.section == "About the author":
            continue  # the byline is no body paragraph of the maker's
        pages = printed_pages(p, made)
        assert pages, p.text
        assert p.citation.pages == (min(pages), max(pages)), p.text
    # Page 3 holds only a picture: no passage is on it, and it starts where page 4 does.
    assert doc.page_starts[2] == doc.page_starts[3]
    assert all(p.citation.pages != (3, 3) for p in passages)
    assert {p.citation.pages for p in passages} >= {(1, 1), (1, 2), (2, 2), (4, 4)}


def test_without_metadata_the_title_and_author_come_from_the_first_page(tmp_path: Path) -> None:
    doc = load_document(make_report(tmp_path / "bare.pdf", metadata=None).path)
    assert doc.title == REPORT_TITLE and doc.author == REPORT_AUTHOR
    assert doc.blocks[0].role == TITLE


def test_a_metadata_title_other_than_the_printed_one_wins_and_the_printed_one_names_no_section(tmp_path: Path) -> None:
    doc = load_document(make_report(tmp_path / "other.pdf", metadata="Annual Report of the Board").path)
    assert doc.title == "Annual Report of the Board"
    assert doc.blocks[0].role == TITLE and doc.blocks[0].section is None
    first_body = doc.paragraphs[0]
    assert first_body.section is None or first_body.section == "Sampling Method"


def test_the_bundled_article_as_a_pdf_has_the_text_files_paragraphs(tmp_path: Path) -> None:
    """Rendered to three pages, the article keeps the same blocks as the text file, so its
    paragraph numbers are the text file's."""
    from tests.support.helpers import BUNDLED_ARTICLE

    made = make_article(tmp_path / "article.pdf")
    assert made.pages >= 3
    pdf = load_document(made.path)
    txt = load_document(BUNDLED_ARTICLE)
    assert (pdf.title, pdf.author) == (txt.title, txt.author)
    assert [(b.role, b.section) for b in pdf.blocks] == [(b.role, b.section) for b in txt.blocks]
    assert [squash(b.text.lstrip("# ")) for b in pdf.blocks] == [squash(b.text) for b in txt.blocks]
    for p in split_document(pdf):
        pages = printed_pages(p, made)
        if pages:
            assert p.citation.pages == (min(pages), max(pages)), p.text


# ------------------------------------------------------------------- files it cannot read --


def test_a_scan_an_encrypted_and_a_damaged_pdf_are_warnings_naming_them(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_report(corpus / "report.pdf")
    make_scan(corpus / "scan.pdf")
    make_encrypted(corpus / "locked.pdf")
    (corpus / "junk.pdf").write_bytes(b"%PDF-1.7\nthis is no PDF at all\n")
    whole = (corpus / "report.pdf").read_bytes()
    (corpus / "cut.pdf").write_bytes(whole[: len(whole) // 3])
    docs, warnings = load_corpus([corpus])
    by_name = {Path(w.path).name: w for w in warnings}
    assert by_name["scan.pdf"].kind == WarningKind.NO_TEXT
    assert "no text layer" in by_name["scan.pdf"].reason and "OCR" in by_name["scan.pdf"].reason
    assert by_name["locked.pdf"].kind == WarningKind.ENCRYPTED
    assert str(by_name["locked.pdf"]) == f"{corpus / 'locked.pdf'}: skipped, the PDF is password-protected"
    assert by_name["junk.pdf"].kind == WarningKind.UNREADABLE and "not a readable PDF" in by_name["junk.pdf"].reason
    for w in warnings:
        assert "\n" not in str(w) and str(corpus) in w.path
    # A cut file is either repaired by PDFium or skipped with a warning; the report is indexed.
    names = {Path(d.path).name for d in docs}
    assert "report.pdf" in names and names <= {"report.pdf", "cut.pdf"}
    assert "cut.pdf" in names or "cut.pdf" in by_name
    with pytest.raises(UnreadableDocument) as caught:
        load_document(corpus / "scan.pdf")
    assert caught.value.kind == WarningKind.NO_TEXT


def test_many_scans_are_one_counted_line(tmp_path: Path) -> None:
    for i in range(5):
        make_scan(tmp_path / f"scan-{i}.pdf")
    _, warnings = load_corpus([tmp_path])
    assert summarise(warnings) == ["5 PDFs skipped with no text layer (scanned pages?); --verbose lists them"]


def test_a_pdf_over_the_size_limit_is_skipped_before_reading(tmp_path: Path) -> None:
    made = make_report(tmp_path / "report.pdf")
    with pytest.raises(UnreadableDocument) as caught:
        load_document(made.path, max_bytes=100)
    assert caught.value.kind == WarningKind.TOO_LARGE


# ---------------------------------------------------------------- layout rules, by hand --

A4_TOP = 800.0


def body_line(
    text: str,
    page: int,
    row: int,
    *,
    size: float = 11.0,
    left: float = 72.0,
    right: float = 520.0,
    bold: bool = False,
    gap_rows: float = 0.0,
    hyphen: bool = False,
) -> Line:
    """A line at `row` (0 the first) of the page's body, 14 points apart; `gap_rows` more space above."""
    top = A4_TOP - 40 - (row + gap_rows) * 14.0
    return Line(text, page, left, right, top, top - size * 1.2, size, bold, hyphen)


def edge_line(text: str, page: int, at: str, size: float = 8.0) -> Line:
    top = A4_TOP if at == "top" else 40.0
    return Line(text, page, 250.0, 350.0, top, top - 10, size, False)


def lines_of(body: list[list[str]], header=None, footer=None) -> list[list[Line]]:
    """Pages whose body paragraphs are lists of full lines (the last one short), one blank row
    between paragraphs; `header(n)`/`footer(n)` give page n's edge text."""
    pages = []
    for n, paragraphs in enumerate(body, start=1):
        page: list[Line] = []
        if header:
            page.append(edge_line(header(n), n, "top"))
        row = 0.0
        for para in paragraphs:
            for j, text in enumerate(para):
                last = j == len(para) - 1
                page.append(body_line(text, n, int(row), right=300.0 if last else 520.0))
                row += 1
            row += 1
        if footer:
            page.append(edge_line(footer(n), n, "bottom"))
        pages.append(page)
    return pages


PROSE = ["The survey counted birds along the coast every spring and every autumn for", "ten years."]
NAMES = [
    "gulls",
    "terns",
    "puffins",
    "geese",
    "swans",
    "ducks",
    "herons",
    "waders",
    "plovers",
    "owls",
    "larks",
    "finches",
    "crows",
    "rooks",
    "wrens",
    "robins",
]


def on_page(lines: list[str], n: int) -> list[str]:
    """`lines` about another bird (body text differs from page to page, as it does)."""
    return [line.replace("birds", NAMES[n]) for line in lines]


@pytest.mark.parametrize(
    "footer",
    [
        lambda n: f"Page {n} of 5",
        lambda n: f"\u2013 {n} \u2013",
        lambda n: str(n),
        lambda n: f"Coastal Survey Report \u00b7 {2020 + n}",
    ],
)
def test_footers_that_recur_with_other_digits_are_dropped(footer) -> None:
    pages = lines_of(
        [[on_page(PROSE, n), on_page(PROSE, n + 10)] for n in range(5)],
        header=lambda n: "Coastal Survey",
        footer=footer,
    )
    text, starts, _ = rebuild(pages)
    assert "Coastal Survey" not in text and "Page" not in text and "\u2013" not in text
    assert text.count("The survey counted") == 10 and text.count("\n\n") == 9
    assert len(starts) == 5 and starts == sorted(starts)


def test_headers_alternating_between_left_and_right_pages_are_dropped() -> None:
    pages = lines_of(
        [[on_page(PROSE, n)] for n in range(6)],
        header=lambda n: "A History of the Coast" if n % 2 else "Chapter Two: Birds",
    )
    text, _, _ = rebuild(pages)
    assert "History of the Coast" not in text and "Chapter Two" not in text


def test_a_line_that_recurs_at_the_top_in_larger_type_is_a_heading_not_furniture() -> None:
    pages = []
    for n in range(1, 5):
        pages.append(
            [
                body_line(f"Step {n}", n, 0, size=20.0, bold=True, right=200.0),
                *(body_line(t, n, i + 2, right=520.0 if i == 0 else 300.0) for i, t in enumerate(on_page(PROSE, n))),
            ]
        )
    text, _, _ = rebuild(pages)
    for n in range(1, 5):
        assert f"Step {n}" in text


def test_a_line_that_only_once_stands_at_the_top_is_kept() -> None:
    pages = lines_of(
        [
            [on_page(PROSE, 0)],
            [["Unusual opening line of the second page that is long enough", "to be text."]],
            [on_page(PROSE, 1)],
        ],
        header=lambda n: "Coastal Survey",
    )
    text, _, _ = rebuild(pages)
    assert "Unusual opening line" in text and "Coastal Survey" not in text


def test_a_lone_page_number_on_a_single_page_is_dropped() -> None:
    text, _, _ = rebuild(lines_of([[PROSE]], footer=lambda n: "7"))
    assert text == "The survey counted birds along the coast every spring and every autumn for ten years."


def test_paragraphs_break_at_space_style_and_indent_and_run_over_pages() -> None:
    short = 300.0
    page1 = [
        body_line("Coastal Birds", 1, 0, size=16.0, bold=True, right=200.0),
        body_line("Gulls nest on the cliffs in great numbers, and the survey counted more", 1, 2),
        body_line("of them than ever.", 1, 3, right=short),
        # no blank row, but indented: a new paragraph
        body_line("Terns came later in the year, and fewer of them were seen on the", 1, 4, left=90.0),
        body_line("southern beaches, where the dunes give them shelter from the wind and the", 1, 5),
    ]
    page2 = [
        body_line("dogs of the walkers.", 2, 0, right=short),
        body_line("Puffins were not seen at all.", 2, 2, right=short),
    ]
    text, starts, title = rebuild([page1, page2])
    assert title == "Coastal Birds"
    assert text.split("\n\n") == [
        "# Coastal Birds",
        "Gulls nest on the cliffs in great numbers, and the survey counted more of them than ever.",
        "Terns came later in the year, and fewer of them were seen on the southern beaches, where the dunes "
        "give them shelter from the wind and the dogs of the walkers.",
        "Puffins were not seen at all.",
    ]
    assert text[starts[1] :].startswith("dogs of the walkers.")
    assert page_span(starts, text.index("Terns"), text.index("walkers.") + 8) == (1, 2)
    assert page_span(starts, text.index("Puffins"), len(text)) == (2, 2)
    assert page_span((), 0, 10) is None


def test_a_short_line_closing_a_sentence_at_a_page_end_ends_its_paragraph() -> None:
    page1 = [
        body_line("The survey counted birds along the coast every spring and every autumn for", 1, 0),
        body_line("ten years.", 1, 1, right=300.0),
    ]
    page2 = [
        body_line("A second survey counted seals on the sandbanks at low tide in the", 2, 0),
        body_line("summer.", 2, 1, right=300.0),
    ]
    text, starts, _ = rebuild([page1, page2])
    assert text.split("\n\n")[1].startswith("A second survey") and starts[1] == text.index("A second")


def test_hyphens_at_line_ends_join_words_unless_the_text_spells_them_with_one() -> None:
    lines = [
        body_line("A well-known spring feeds the lake; the water is clear and the", 1, 0),
        body_line("well", 1, 1, hyphen=True),  # PDFium's form: the hyphen is a mark, not text
        body_line("known spring is cold. The measure-", 1, 2),  # a hyphen character at the end
        body_line("ments were taken by the Anglo", 1, 3, hyphen=True),
        body_line("Saxon   survey   team   on   justified   lines.", 1, 4, right=300.0),
    ]
    text, _, _ = rebuild([lines])
    assert text == (
        "A well-known spring feeds the lake; the water is clear and the well-known spring is cold. "
        "The measurements were taken by the Anglo-Saxon survey team on justified lines."
    )


def test_a_header_that_changes_by_chapter_is_known_by_its_page_number() -> None:
    """ "Chapter 1: Birds 5" on the first pages, "Chapter 2: Seals 8" on later ones: no text
    recurs, but the number goes up with the page."""
    pages = lines_of(
        [[on_page(PROSE, n)] for n in range(6)],
        header=lambda n: f"Chapter {1 if n <= 3 else 2}: {'Birds' if n <= 3 else 'Seals'} {n + 4}",
    )
    text, _, _ = rebuild(pages)
    assert "Chapter" not in text and text.count("The survey counted") == 6


def test_dot_leaders_of_a_table_of_contents_are_shortened() -> None:
    lines = [
        body_line("1 Introduction . . . . . . . . . . . . . . . . . . 1", 1, 0),
        body_line("2 Methods.............................................. 4", 1, 1),
    ]
    text, _, _ = rebuild([lines])
    assert text == "1 Introduction ... 1 2 Methods ... 4"
