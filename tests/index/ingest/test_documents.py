"""Ingestion: layout rules on the bundled article and on small documents written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.index.build.sources import load_corpus
from citebot.index.ingest.blocks import BYLINE, CHROME, HEADING, PARAGRAPH, TITLE
from citebot.index.ingest.documents import parse_document
from citebot.index.ingest.loading import load_document

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
SHARED_ARTICLE = ROOT.parent / "shared" / "corpus" / "nasa-roscosmos-2025.txt"


@pytest.fixture(scope="module")
def article():
    return load_document(ARTICLE)


def test_bundled_article_is_byte_identical_to_shared_copy():
    if not SHARED_ARTICLE.exists():
        pytest.skip("../shared/corpus is not beside this checkout")
    assert ARTICLE.read_bytes() == SHARED_ARTICLE.read_bytes()


def test_paragraph_numbers_count_blank_line_blocks_from_one(article):
    numbers = [b.number for b in article.blocks]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1
    # Count the blocks the way a reader would: split the raw file on blank lines.
    raw_blocks = [b for b in ARTICLE.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    assert len(article.blocks) == len(raw_blocks)
    by_number = {b.number: b.text for b in article.blocks}
    assert by_number[7].startswith("The chiefs of Roscosmos and NASA")
    assert by_number[17].startswith("The relationship between the United States and Russia")


def test_title_headings_and_sections(article):
    roles = {b.number: b.role for b in article.blocks}
    assert article.title == "NASA and Roscosmos Reignite Space Ties After 8-Year Hiatus"
    assert roles[1] == TITLE
    assert [b.text for b in article.blocks if b.role == HEADING] == [
        "ISS Operation Extension and Future Plans",
        "History of Contact Suspension and Project Halts",
        "A Complicated Chapter: Russian Engines in US Rockets",
    ]
    sections = {b.number: b.section for b in article.paragraphs}
    assert sections[7] == "ISS Operation Extension and Future Plans"
    assert sections[19] == "A Complicated Chapter: Russian Engines in US Rockets"
    assert sections[2] is None


def test_web_leftovers_are_dropped(article):
    dropped = {b.text for b in article.blocks if b.role == CHROME}
    kept = " ".join(b.text for b in article.paragraphs)
    for leftover in ("Must Read", "LEAVE A REPLY", "Latest", "More Articles Like This"):
        assert leftover in dropped
        assert leftover not in kept
    assert "Please enter your comment" not in kept


def test_byline_becomes_metadata(article):
    assert article.author == "Joseph P. Chacko"
    assert article.author_bio.startswith("Joseph P. Chacko is the publisher of Frontier India.")
    assert [b.number for b in article.blocks if b.role == BYLINE] == [4]


def test_lead_in_line_is_kept_as_body(article):
    roles = {b.number: b.role for b in article.blocks}
    assert roles[21] == PARAGRAPH  # "In conclusion," introduces paragraph 22


def test_text_is_normalised(article):
    assert "\u2019" not in article.text and "\u00a0" not in article.text
    assert "ISS's operation" in article.text


def test_markdown_front_matter_and_headings():
    doc = parse_document(
        "---\ntitle: Moon Base Notes\nauthor: Ada Lovelace\nurl: https://example.org/moon\ndate: 2025-01-02\n---\n"
        "# Moon Base Notes\n\nThe base will be **built** near the south pole, a site chosen for its ice.\n\n"
        "## Power\n\nSolar arrays on the crater rim give almost continuous sunlight to the [base](https://x.y).\n",
        "notes.md",
        kind="md",
    )
    assert (doc.title, doc.author, doc.url, doc.date) == (
        "Moon Base Notes",
        "Ada Lovelace",
        "https://example.org/moon",
        "2025-01-02",
    )
    paragraphs = doc.paragraphs
    assert [p.number for p in paragraphs] == [2, 4]  # blocks after the front matter, from 1
    assert paragraphs[0].text == "The base will be built near the south pole, a site chosen for its ice."
    assert paragraphs[1].section == "Power"
    assert paragraphs[1].text.endswith("to the base.")


def test_plain_text_byline_with_by_prefix():
    doc = parse_document(
        "A Title Line\n\nBy Jane Q. Public\n\nThe first paragraph says something long enough to count.\n", "a.txt"
    )
    assert doc.author == "Jane Q. Public"
    assert [p.number for p in doc.paragraphs] == [3]


def test_repeated_lines_are_dropped():
    body = "Title\n\nShare this\n\nA real paragraph with enough words to be prose, and it ends here.\n\nShare this\n"
    doc = parse_document(body, "r.txt")
    assert [p.text for p in doc.paragraphs] == ["A real paragraph with enough words to be prose, and it ends here."]


def test_corpus_loading_skips_bad_files_with_warnings(tmp_path):
    (tmp_path / "good.txt").write_text("Good\n\nThis paragraph has plenty of words to be treated as prose.\n")
    (tmp_path / "copy.md").write_text("Good\n\nThis paragraph has plenty of words to be treated as prose.\n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes(
        "Caf\xe9\n\nThe caf\xe9 au lait here is strong enough to count as prose, or so the regulars say.\n".encode(
            "latin-1"
        )
    )  # text: read, not skipped
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    docs, warnings = load_corpus([tmp_path])
    assert [Path(d.path).name for d in docs] == ["copy.md", "latin1.txt"]
    assert "café au lait" in docs[1].paragraphs[0].text and docs[1].encoding == "cp1252"
    text = "\n".join(map(str, warnings))
    assert "binary.txt: skipped, looks binary" in text
    assert "empty.txt: skipped, no text to index" in text
    assert "good.txt: skipped, same text as" in text
    assert "ignored.pdf: skipped, not a readable PDF" in text  # counted, not silently left out
