"""Web pages as documents: main-content extraction of a realistic news page, its metadata,
headings as sections, paragraph numbering, and a corpus that mixes .txt, .md and .html."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import WarningKind
from citebot.index.ingest.blocks import BYLINE, HEADING, TITLE
from citebot.index.ingest.documents import parse_document
from citebot.index.ingest.html import decode_html, parse_html
from citebot.index.ingest.loading import load_document
from citebot.index.ingest.passages import split_document
from tests.support.helpers import built_passages

TESTS = Path(__file__).resolve().parents[2]
ROOT = TESTS.parent
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
PAGE = TESTS / "fixtures" / "nasa-roscosmos-2025.html"
CANONICAL = "https://news.example/nasa-and-roscosmos-reignite-space-ties-after-8-year-hiatus/"
HEADINGS = [
    "ISS Operation Extension and Future Plans",
    "History of Contact Suspension and Project Halts",
    "A Complicated Chapter: Russian Engines in US Rockets",
]
# Text that only the page's furniture holds: menu, share buttons, comment form, lists, banner, footer.
FURNITURE = [
    "Subscribe to our newsletter",
    "Sign in",
    "Geopolitics",
    "Economy and Trade",
    "Opinion Columns",
    "Contact Us",
    "Share this article",
    "Share on Facebook",
    "WhatsApp",
    "Telegram",
    "4 min read",
    "Also read",
    "Gaganyaan",
    "Image for representation",
    "Tags:",
    "View all posts",
    "More Articles Like This",
    "NISAR",
    "Tiangong",
    "LEAVE A REPLY",
    "Please enter your comment",
    "Please enter your name",
    "Post Comment",
    "Save my name",
    "Must Read",
    "Arihant: How",
    "Hypersonic",
    "Latest",
    "Monsoon Session",
    "Drone Export",
    "Semiconductor",
    "Stay Informed",
    "cookies",
    "cookie",
    "privacy policy",
    "About Us",
    "independent publication",
    "All rights reserved",
    "Terms of Use",
    "Advertise",
]


def norm(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def page_doc():
    return load_document(PAGE)


@pytest.fixture(scope="module")
def text_doc():
    return load_document(ARTICLE)


def test_extraction_keeps_no_page_furniture(page_doc):
    passages = split_document(page_doc)
    assert passages
    for passage in passages:
        for phrase in FURNITURE:
            assert phrase.lower() not in passage.text.lower(), (phrase, passage.citation.label)
    for block in page_doc.blocks:
        for phrase in FURNITURE:
            assert phrase.lower() not in block.text.lower(), (phrase, block)


def test_body_paragraphs_equal_the_text_version(page_doc, text_doc):
    assert [norm(b.text) for b in page_doc.paragraphs] == [norm(b.text) for b in text_doc.paragraphs]


def test_metadata(page_doc):
    assert page_doc.kind == "html"
    assert page_doc.title == "NASA and Roscosmos Reignite Space Ties After 8-Year Hiatus"
    assert page_doc.author == "Joseph P. Chacko"
    assert page_doc.author_bio.startswith("Joseph P. Chacko is the publisher of Frontier India.")
    assert page_doc.date == "2025-07-30"
    assert page_doc.metadata["site"] == "Frontier India"
    assert page_doc.metadata["canonical"] == CANONICAL
    # A local file has no other URL, so its citations link to the page's canonical URL.
    assert page_doc.url == CANONICAL


def test_headings_become_sections(page_doc):
    headings = [b for b in page_doc.blocks if b.role == HEADING]
    assert [b.section for b in headings] == HEADINGS
    by_section = {}
    for passage in split_document(page_doc):
        by_section.setdefault(passage.citation.section, []).append(passage.text)
    assert any("2028" in t for t in by_section[HEADINGS[0]])
    assert any("sanctions" in t for t in by_section[HEADINGS[1]])
    assert any("RD-180" in t for t in by_section[HEADINGS[2]])
    assert by_section["About the author"] == [page_doc.author_bio]


def test_paragraph_numbers_count_the_blocks_of_the_built_text(page_doc):
    blocks = page_doc.text.strip().split("\n\n")
    assert [b.number for b in page_doc.blocks] == list(range(1, len(blocks) + 1))
    assert page_doc.blocks[0].role == TITLE and blocks[0] == f"# {page_doc.title}"
    assert page_doc.blocks[1].role == BYLINE and blocks[1].startswith("By Joseph P. Chacko\n")
    assert blocks[2].startswith("In July 2025")
    for passage in split_document(page_doc):
        first, last = passage.citation.paragraphs
        if passage.citation.section == "About the author":
            continue
        spanned = "\n\n".join(blocks[first - 1 : last])
        assert norm(passage.text) in norm(spanned), passage.citation.label
    extension = next(p for p in split_document(page_doc) if "extend the ISS" in p.text)
    assert extension.citation.paragraphs == (6, 6)
    assert extension.citation.kind == "html"
    assert extension.citation.label.endswith(f"¶6 ({CANONICAL})")


def test_h3_headings_title_h1_and_lists():
    html = """<html><head><title>Moon Notes | Example Site</title>
    <meta property="og:title" content="Moon Notes"><link rel="canonical" href="ftp://example.org/x"></head>
    <body><nav><a href="/">Home</a> <a href="/a">Archive</a></nav><article>
    <h1>Moon Notes</h1>
    <p>The Moon has no global magnetic field, so the solar wind reaches its surface directly and
    implants hydrogen in the regolith over billions of years.</p>
    <h3>Water ice</h3>
    <p>Permanently shadowed craters near the poles stay cold enough to hold water ice, which
    orbiters have detected through neutron spectroscopy and reflected ultraviolet light.</p>
    <ul><li>Shackleton crater near the south pole of the Moon</li><li>Cabeus crater, impacted by LCROSS in 2009</li></ul>
    <h2>Regolith?</h2>
    <p>The regolith is a layer of loose fragments several metres deep, produced by billions of
    years of meteorite impacts that crushed and melted the bedrock again and again.</p>
    </article><footer>Copyright Example Site</footer></body></html>"""
    doc = parse_html(html, "notes/moon.html")
    assert doc.title == "Moon Notes"
    assert doc.author is None and doc.url is None  # an ftp canonical is not a citation link
    assert [b.section for b in doc.blocks if b.role == HEADING] == ["Water ice", "Regolith?"]
    assert doc.text.split("\n\n")[0] == "# Moon Notes"  # the page's <h1> is the title, not repeated
    assert "### Water ice" in doc.text.split("\n\n")
    listed = [b for b in doc.paragraphs if b.text.startswith("- ")]
    assert listed and "Shackleton" in listed[0].text and listed[0].section == "Water ice"
    assert not any("Archive" in b.text or "Copyright" in b.text for b in doc.blocks)


def test_declared_charset_is_honoured():
    html = (
        '<html><head><meta charset="iso-8859-1"><title>Caf\xe9 notes</title></head><body><article>'
        "<p>The caf\xe9 on the corner serves cr\xe8me br\xfbl\xe9e every day of the week, and the "
        "queue at noon is long enough to read a chapter of a novel.</p></article></body></html>"
    )
    text = decode_html(html.encode("iso-8859-1"))
    assert "crème brûlée" in text
    doc = parse_html(text, "cafe.html")
    assert "crème brûlée" in doc.paragraphs[0].text


def test_markdown_stays_first_class(tmp_path):
    md = tmp_path / "moon.md"
    md.write_text(
        "---\ntitle: Moon Base Notes\nauthor: Ada Lovelace\nurl: https://example.org/moon\n---\n"
        "# Moon Base Notes\n\n## Power\n\nSolar arrays on the crater rim would see sunlight for most "
        "of the lunar day, which makes the rim the favoured site.\n",
        encoding="utf-8",
    )
    doc = load_document(md)
    assert (doc.kind, doc.title, doc.author, doc.url) == (
        "md",
        "Moon Base Notes",
        "Ada Lovelace",
        "https://example.org/moon",
    )
    assert doc.paragraphs[0].section == "Power" and doc.paragraphs[0].number == 3


def test_mixed_folder_cites_each_kind(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(PAGE, folder / PAGE.name)
    (folder / "plain.txt").write_text(
        "Lunar Dust\n\nLunar dust is abrasive and clings to spacesuits because it is electrostatically "
        "charged by sunlight and the solar wind.\n",
        encoding="utf-8",
    )
    (folder / "notes.md").write_text(
        "# Mars Notes\n\n## Atmosphere\n\nThe Martian atmosphere is about one percent as dense as Earth's "
        "and is mostly carbon dioxide, so parachutes alone cannot land heavy craft.\n",
        encoding="utf-8",
    )
    (folder / "ignored.pdf").write_bytes(b"%PDF-1.4")
    built = [s.passage for s in built_passages([folder])]
    kinds = {p.citation.path.rsplit(".", 1)[-1]: p.citation.kind for p in built}
    assert kinds == {"html": "html", "txt": "txt", "md": "md"}


def test_unreadable_html_is_a_warning(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_bytes(b"\x00\x01\x02binary")
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>", encoding="utf-8")
    docs, warnings = load_corpus([bad, empty])
    assert docs == []
    assert any(str(w).startswith(f"{bad}: skipped") and w.kind == WarningKind.BINARY for w in warnings)
    assert any(str(w).startswith(f"{empty}: skipped") and w.kind == WarningKind.EMPTY for w in warnings)


def test_same_page_as_text_and_md_text_parses_alike():
    # The text built from a page is ordinary block text: parsing it again gives the same blocks.
    doc = load_document(PAGE)
    again = parse_document(doc.text, "again", kind="html", metadata=dict(doc.metadata))
    assert [(b.number, b.role, b.section) for b in again.blocks] == [(b.number, b.role, b.section) for b in doc.blocks]
    assert re.match(r"^# .+\n\nBy ", doc.text)


def test_xhtml_with_an_xml_declaration_keeps_its_metadata():
    html = PAGE.read_text(encoding="utf-8").replace("<!doctype html>", '<?xml version="1.0" encoding="UTF-8"?>', 1)
    doc = parse_html(html, "page.xhtml")
    assert doc.metadata["canonical"] == CANONICAL
    assert doc.author_bio and doc.author_bio.startswith("Joseph P. Chacko is the publisher")
