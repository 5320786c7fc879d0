"""Word documents (.docx, index/docx.py): files built here with python-docx, read into documents
with headings as sections, paragraphs numbered like other kinds, title and author from the core
properties; damaged files are one warning each, never a crash.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest

from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import WarningKind
from citebot.index.ingest.blocks import HEADING, TITLE
from citebot.index.ingest.docx import parse_docx
from citebot.index.ingest.files import UnreadableDocument
from citebot.index.ingest.loading import load_document
from citebot.index.ingest.passages import split_document

CITEBOT = Path(sys.executable).with_name("citebot")

LEAD = "The valley water board measured nitrate levels in every well of the district during the spring of 2024."
RISE = "Nitrate levels rose in the northern wells after the heavy March rains, the board said in its report."
CAUSE = "Fertiliser washed from the fields above the wells is the most likely cause, according to the hydrologist."
PLAN = "The board will test the northern wells every month until the levels fall below the legal limit again."


def make_report(
    path: Path, title: str | None = "Water Quality in the Upper Valley", author: str | None = "Ada Lovelace"
) -> Path:
    """A report in the shape Word users write: a Title paragraph, Heading 1/2 sections, body
    paragraphs, an empty paragraph, a bulleted list and a table."""
    d = docx.Document()
    d.core_properties.title = title or ""
    d.core_properties.author = author or ""
    d.add_paragraph("Water Quality in the Upper Valley", style="Title")  # ¶1
    d.add_paragraph(LEAD)  # ¶2
    d.add_paragraph("")  # an empty paragraph is no block
    d.add_heading("Nitrate Levels", level=1)  # ¶3
    d.add_paragraph(RISE)  # ¶4
    d.add_heading("Causes", level=2)  # ¶5
    d.add_paragraph(CAUSE)  # ¶6
    d.add_paragraph("wells north of the river are tested first", style="List Bullet")  # ¶7 (one block)
    d.add_paragraph("wells near the fields are tested second", style="List Bullet")
    table = d.add_table(rows=2, cols=2)  # ¶8
    for (r, c), text in {(0, 0): "Well", (0, 1): "Nitrate", (1, 0): "North 3", (1, 1): "14 mg/l"}.items():
        table.cell(r, c).text = text
    d.add_heading("Next Steps", level=1)  # ¶9
    d.add_paragraph(PLAN)  # ¶10
    d.save(str(path))
    return path


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return make_report(tmp_path / "water.docx")


def test_title_and_author_come_from_the_core_properties(report: Path) -> None:
    doc = load_document(report)
    assert (doc.kind, doc.title, doc.author) == ("docx", "Water Quality in the Upper Valley", "Ada Lovelace")
    assert doc.blocks[0].role == TITLE


def test_without_core_properties_the_title_is_the_first_line(tmp_path: Path) -> None:
    doc = load_document(make_report(tmp_path / "bare.docx", title=None, author=None))
    assert doc.title == "Water Quality in the Upper Valley" and doc.author is None


def test_heading_styles_start_sections_and_paragraphs_are_numbered_blocks(report: Path) -> None:
    doc = load_document(report)
    assert [b.section for b in doc.blocks if b.role == HEADING] == ["Nitrate Levels", "Causes", "Next Steps"]
    by_text = {b.text: (b.number, b.section) for b in doc.paragraphs}
    assert by_text[LEAD] == (2, None)
    assert by_text[RISE] == (4, "Nitrate Levels")
    assert by_text[CAUSE] == (6, "Causes")
    assert by_text[PLAN] == (10, "Next Steps")
    # The count is of the blocks of the text built from the file, stored as the document's text.
    assert doc.text.split("\n\n")[9].strip() == PLAN
    lists = [b for b in doc.blocks if b.text.startswith("- ")]
    assert [b.number for b in lists] == [7] and lists[0].text.count("\n") == 1
    assert "North 3 | 14 mg/l" in doc.text


def test_passages_cite_sections_and_paragraphs(report: Path) -> None:
    passages = split_document(load_document(report))
    (plan,) = [p for p in passages if PLAN in p.text]
    assert plan.citation.section == "Next Steps" and plan.citation.covers(10) and plan.citation.kind == "docx"


def test_another_title_is_another_document(tmp_path: Path) -> None:
    a = load_document(make_report(tmp_path / "a.docx"))
    b = load_document(make_report(tmp_path / "b.docx", title="Another Title"))
    assert a.text == b.text and a.content_hash != b.content_hash


def _zip_without_document(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")


@pytest.mark.parametrize("damage", ["not-a-zip", "truncated", "no-document-part", "broken-xml", "ole"])
def test_a_damaged_docx_is_one_warning_naming_it(tmp_path: Path, report: Path, damage: str) -> None:
    bad = tmp_path / "corpus" / f"{damage}.docx"
    bad.parent.mkdir()
    good = report.read_bytes()
    if damage == "not-a-zip":
        bad.write_bytes(b"this is no zip file at all")
    elif damage == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    elif damage == "no-document-part":
        _zip_without_document(bad)
    elif damage == "broken-xml":
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                dst.writestr(item, b"<w:document><w:body><w:p>" if item.filename == "word/document.xml" else data)
        bad.write_bytes(out.getvalue())
    else:
        bad.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    (tmp_path / "corpus" / "water.docx").write_bytes(good)
    with pytest.raises(UnreadableDocument):
        parse_docx(bad.read_bytes(), str(bad))
    docs, warnings = load_corpus([tmp_path / "corpus"])
    assert [Path(d.path).name for d in docs] == ["water.docx"]
    (warning,) = warnings
    assert warning.kind is WarningKind.UNREADABLE and warning.path == str(bad)
    assert "\n" not in str(warning) and "not a readable .docx" in str(warning)


def test_citebot_indexes_and_answers_from_a_docx_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_report(corpus / "water.docx")
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 damaged")
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    db = tmp_path / "index.sqlite3"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CITEBOT), *args, "--db", str(db)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
        )

    done = run("index", "corpus")
    assert done.returncode == 0, done.stderr
    (line,) = [text for text in done.stderr.splitlines() if "broken.docx" in text]
    assert "not a readable .docx" in line
    asked = run("ask", "What is the most likely cause of the nitrate in the wells?", "--json")
    top = json.loads(asked.stdout)["passages"][0]["citation"]
    assert (top["kind"], top["section"], top["paragraphs"], top["document"]) == (
        "docx",
        "Causes",
        [6, 7],
        "Water Quality in the Upper Valley",
    )  # the short list joins it
