"""Markdown read as Markdown (index/markdown.py), on an MkDocs-style documentation folder.

tests/fixtures/mkdocs/docs is a small site in the shape MkDocs Material projects use: front
matter, fenced code with `#` comment lines, inline HTML, attribute lists, `!!!`, `///` and `:::`
admonitions, `===` tabs, and `--8<--` / `{!…!}` includes, one of a file outside the corpus
folder. Each test names what the line rules got wrong there and checks the reading now.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from citebot.index.analysis import sentence_spans
from citebot.index.answering.answerer import Answerer, AnswerParams
from citebot.index.answering.highlight import code_sentences
from citebot.index.build.doc_analysis import _SHAPING_SOURCES
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import WarningKind, count_skipped, summarise
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.blocks import HEADING
from citebot.index.ingest.documents import Document, parse_document
from citebot.index.ingest.loading import load_document
from citebot.index.ingest.passages import Passage, split_document

SITE = Path(__file__).parents[2] / "fixtures" / "mkdocs"
DOCS = SITE / "docs"
# A tag or an attribute list left in text: what the line rules let through.
RAW_TAG = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
ATTR_LIST = re.compile(r"\{:?\s*[#.][\w-]+[^{}]*\}|\{:?\s*[\w-]+=[^{}]*\}")


def read(name: str, root: Path | None = DOCS) -> Document:
    return load_document(DOCS / name, root=root)


@pytest.fixture(scope="module")
def guide() -> Document:
    return read("index.md")


@pytest.fixture(scope="module")
def guide_passages(guide: Document) -> list[Passage]:
    return split_document(guide)


def passage_with(passages: list[Passage], words: str) -> Passage:
    (found,) = [p for p in passages if words in p.text]
    return found


def test_front_matter_gives_title_and_author_as_before(guide: Document) -> None:
    assert (guide.title, guide.author, guide.kind) == ("Tidewater Guide", "Grace Hopper", "md")


def test_headings_only_outside_code(guide: Document) -> None:
    headings = [b.section for b in guide.blocks if b.role == HEADING]
    assert headings == ["Installation", "Usage", "Scripting"]  # not "create a virtual environment first"
    code = passage_with(split_document(guide), "# create a virtual environment first")
    assert code.citation.section == "Installation"


def test_setext_headings_and_heading_levels_are_the_parsers() -> None:
    doc = parse_document(
        "Notes\n=====\n\nPower\n-----\n\nSolar arrays on the crater rim give almost continuous "
        "sunlight to the base.\n\n    # an indented code line, no heading\n",
        "n.md",
        kind="md",
    )
    assert doc.title == "Notes"
    assert [b.section for b in doc.blocks if b.role == HEADING] == ["Power"]


def test_inline_html_is_reduced_to_its_text(guide_passages: list[Passage]) -> None:
    lead = passage_with(guide_passages, "online manual")
    assert "its online manual explains every option" in lead.text
    usage = passage_with(guide_passages, "command reference")
    assert "the predict subcommand" in usage.text  # <code>predict</code>
    html = split_document(read("guide/html.md"))
    text = "\n".join(p.text for p in html)
    assert "measured above chart datum, and negative levels" in text
    assert "Gauge files are plain CSV exports" in text  # inside <div markdown>
    assert "editor's note" not in text  # an HTML comment is no text
    assert not [p.text for p in guide_passages + html if RAW_TAG.search(p.text)]


def test_attribute_lists_are_dropped(guide_passages: list[Passage]) -> None:
    usage = passage_with(guide_passages, "command reference")
    assert "The command reference lists every subcommand" in usage.text
    assert not [p.text for p in guide_passages if ATTR_LIST.search(p.text)]
    assert "{: .lead }" not in passage_with(guide_passages, "online manual").text


def test_a_code_block_stays_with_its_lead_in(guide: Document, guide_passages: list[Passage]) -> None:
    p = passage_with(guide_passages, "and use with:")
    assert "```bash\n# create a virtual environment first" in p.text
    assert p.text.index("use with:") < p.text.index("pip install tidewater")
    # The code block has a blank line inside: it spans two blank-line blocks of the file (6 and
    # 7: title 1, lead 2, heading 3, include 4, lead-in 5), and the citation counts both.
    code = next(b for b in guide.blocks if b.text.startswith("```bash"))
    assert (code.number, code.last) == (6, 7)
    assert p.citation.covers(5) and p.citation.covers(7)


def test_a_code_block_that_does_not_fit_takes_its_lead_in_along() -> None:
    prose = " ".join(["The harbour gauge readings are checked every morning by the keeper."] * 12)
    code = "\n".join(f"tide predict --harbour h{i} --days 3" for i in range(30))
    doc = parse_document(
        f"# Long\n\n{prose}\n\nRun it for every harbour with:\n\n```sh\n{code}\n```\n", "l.md", kind="md"
    )
    (with_code,) = [p for p in split_document(doc) if "```sh" in p.text]
    assert with_code.text.startswith("Run it for every harbour with:")


def test_code_is_never_the_answer_sentence_but_stays_searchable() -> None:
    text = "Prose first.\n\n```bash\n# comment\npip install tidewater\n```\n\nAfter."
    flags = code_sentences(text, sentence_spans(text))
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert [s for s, f in zip(sentences, flags) if f] == ["```bash", "# comment", "pip install tidewater", "```"]
    assert not code_sentences("No code here.", sentence_spans("No code here."))[0]


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("mkdocs") / "index.sqlite3"
    rebuild_sync([DOCS], db, IndexParams())
    return db


@pytest.fixture
async def answerer(site_db: Path) -> AsyncIterator[Answerer]:
    reader = await IndexReader.open(site_db)
    try:
        yield Answerer(reader, AnswerParams())
    finally:
        await reader.close()


async def test_the_answer_to_a_code_question_is_prose_from_the_passage_with_the_code(answerer: Answerer) -> None:
    answer = await answerer.ask("How do I pip install tidewater in a venv?")
    top = answer.hits[0]
    assert "pip install tidewater" in top.passage.text  # found through the code
    assert top.sentence is not None and "pip install" not in top.sentence
    assert top.sentence.startswith("Install the package")
    assert not any(
        flag and span == top.highlight
        for flag, span in zip(
            code_sentences(top.passage.text, sentence_spans(top.passage.text)), sentence_spans(top.passage.text)
        )
    )


def test_admonitions_and_tabs_are_text_of_their_section(guide: Document, guide_passages: list[Passage]) -> None:
    sections = {
        "Tidewater never contacts a server": "Installation",  # !!! note "Offline use"
        "On Linux the cache lives": "Usage",  # === "Linux"
        "On Windows the cache lives": "Usage",  # === "Windows"
        "Keeping the cache between runs": "Usage",  # /// tip | Faster predictions
        "Predictions more than a year ahead drift": "Usage",  # :::warning
    }
    for words, section in sections.items():
        assert passage_with(guide_passages, words).citation.section == section, words
    assert "Faster predictions:\nKeeping the cache" in passage_with(guide_passages, "Keeping the cache").text
    markup = re.compile(r"^\s*(?:!!!|\?\?\?|===|///|:::|--8<--)", re.M)
    assert not [p.text for p in guide_passages if markup.search(p.text)]


def test_include_inside_the_corpus_is_read_as_text_of_the_including_block(
    guide: Document, guide_passages: list[Passage]
) -> None:
    p = passage_with(guide_passages, "Tidewater needs Python 3.11")
    assert p.citation.section == "Installation" and p.citation.paragraphs[0] == 4  # the directive's block
    scripting = passage_with(guide_passages, "Table.load")
    assert "```python\n# read the tide table for one harbour\nfrom tidewater import Table" in scripting.text
    assert 'print(table.high_water("2025-06-01"))' in scripting.text


def test_include_outside_the_corpus_is_dropped_with_a_note(guide: Document, guide_passages: list[Passage]) -> None:
    assert not [p for p in guide_passages if "outside the corpus folder" in p.text]
    (note,) = guide.notes
    assert note.kind is WarningKind.INCLUDE_DROPPED and note.path == str(DOCS / "index.md")
    assert "'../outside.md'" in note.reason and "outside the corpus folder docs/" in note.reason


def test_a_build_reports_the_dropped_include_without_counting_the_file_skipped() -> None:
    docs, warnings = load_corpus([DOCS])
    # The snippet's one sentence is a page of its own too (a site keeps its snippets out with
    # corpus.exclude); before, its line was taken for a title and the file skipped as empty.
    assert {Path(d.path).name for d in docs} == {"index.md", "html.md", "install-note.md"}
    dropped = [w for w in warnings if w.kind is WarningKind.INCLUDE_DROPPED]
    assert len(dropped) == 1 and count_skipped(dropped) == 0
    assert any(line.startswith(f"{DOCS / 'index.md'}: include '../outside.md' dropped") for line in summarise(warnings))


def test_a_file_given_by_itself_includes_nothing(guide: Document) -> None:
    alone = read("index.md", root=None)
    assert not [b for b in alone.blocks if "Tidewater needs Python" in b.text]
    assert "Table.load" not in " ".join(b.text for b in alone.blocks)
    assert len(alone.notes) == 3 and all("outside the corpus" in n.reason for n in alone.notes)
    assert alone.content_hash != guide.content_hash  # included text is part of a document's identity


def test_includes_cannot_escape_the_corpus_or_loop(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (tmp_path / "secret.md").write_text("The vault code is 1234 and nobody outside may read it.\n", encoding="utf-8")
    (corpus / "link.md").symlink_to(tmp_path / "secret.md")
    page = corpus / "page.md"
    page.write_text(
        '# Page\n\n--8<-- "link.md"\n\n{!page.md!}\n\n--8<-- "/etc/hostname"\n\n'
        '--8<-- "https://example.org/x.md"\n\n--8<-- "missing.md"\n\n'
        "The page itself says enough words to be one paragraph of real text.\n",
        encoding="utf-8",
    )
    doc = load_document(page, root=corpus)
    assert "vault" not in " ".join(b.text for b in doc.blocks)
    reasons = [n.reason for n in doc.notes]
    assert len(reasons) == 5
    assert "outside the corpus folder" in reasons[0] and "includes itself" in reasons[1]
    assert "URLs are never fetched" in reasons[3] and "not found" in reasons[4]


def test_include_line_ranges_and_nested_includes(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    (corpus / "parts").mkdir(parents=True)
    (corpus / "parts" / "a.md").write_text('--8<-- "b.md"\n', encoding="utf-8")
    (corpus / "parts" / "b.md").write_text("one\ntwo\nThe nested include says this sentence.\nfour\n", encoding="utf-8")
    page = corpus / "page.md"
    page.write_text('# Page\n\n--8<-- "parts/a.md"\n\n--8<-- "parts/b.md:3:3"\n', encoding="utf-8")
    doc = load_document(page, root=corpus)
    texts = [b.text for b in doc.blocks]
    assert texts[1].startswith("one\ntwo\nThe nested include")
    assert texts[2] == "The nested include says this sentence."
    assert not doc.notes


def test_paragraph_numbers_are_the_files_blank_line_blocks() -> None:
    html = read("guide/html.md")
    # title 1, <div> block 2, "Each reading" 3, HTML comment 4 (no text), table 5, "Readings" 6
    numbers = {b.text.split(" ", 3)[0]: b.number for b in html.blocks}
    assert numbers["Gauge"] == 2 and numbers["Each"] == 3 and numbers["Readings"] == 6
    raw = (DOCS / "guide" / "html.md").read_text(encoding="utf-8")
    assert re.split(r"\n\s*\n", raw.strip())[5].startswith("Readings taken")


def test_markdown_inside_a_txt_file_is_left_to_the_plain_text_rules(tmp_path: Path) -> None:
    copy = tmp_path / "index.txt"
    shutil.copy(DOCS / "index.md", copy)
    doc = load_document(copy)
    assert doc.kind == "txt" and not doc.notes


def test_the_new_readers_are_part_of_the_analysis_fingerprint() -> None:
    assert {"ingest/markdown.py", "ingest/docx.py"} <= set(_SHAPING_SOURCES)
    for name in _SHAPING_SOURCES:
        assert (Path(__file__).parents[3] / "index" / name).is_file(), name


def test_a_page_without_a_heading_is_titled_after_its_file(tmp_path: Path) -> None:
    # Documentation sites title such pages in their navigation; the first line is no title
    # ("Hint:" of an admonition, or half a sentence).
    page = tmp_path / "event-hooks.md"
    page.write_text(
        "!!! hint\n    Hooks are called for every request.\n\nHTTPX lets you register event hooks with the client.\n",
        encoding="utf-8",
    )
    doc = load_document(page)
    assert doc.title == "Event hooks"
    assert any("Hooks are called for every request" in b.text for b in doc.blocks)  # still body text
    (tmp_path / "guide").mkdir()
    index = tmp_path / "guide" / "index.md"
    index.write_text("Start here: the guide walks through a first request.\n", encoding="utf-8")
    assert load_document(index).title == "Guide"
    titled = tmp_path / "titled.md"
    titled.write_text("# Clients\n\nA client keeps connections open.\n", encoding="utf-8")
    assert load_document(titled).title == "Clients"
    plain = tmp_path / "plain.md"  # a short first line without final punctuation is its title, as in text
    plain.write_text("Garden notes\n\nThe tomatoes are watered at six.\n", encoding="utf-8")
    assert load_document(plain).title == "Garden notes"
