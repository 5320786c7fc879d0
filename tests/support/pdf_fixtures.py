"""PDFs the tests make themselves (fpdf2): a report with everything a PDF reader must cope with,
the bundled article as a multi-page PDF, a scan-like file and a password-protected one.

Each maker returns what it put on which page, so a test can check the citations' pages against
what was printed there, not against what the reader under test says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

from citebot.index.ingest.blocks import HEADING, PARAGRAPH, TITLE
from citebot.index.ingest.documents import parse_document

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"

# The report's body paragraphs; the third runs over the break from page 1 to page 2.
REPORT_TITLE = "Water Quality in the Upper Valley"
REPORT_AUTHOR = "Ada Lovelace"


class _Paged(FPDF):
    """A PDF with a running header, and a footer "Page N of M" (digits differ on every page)."""

    def __init__(self, header_text: str, footer: str = "Page {n} of {{nb}}") -> None:
        super().__init__(format="A4")
        self.core_fonts_encoding = "windows-1252"
        self.header_text = header_text
        self.footer_text = footer
        self.set_auto_page_break(True, margin=22)
        self.set_margins(22, 20, 22)

    def header(self) -> None:
        if self.header_text:
            self.set_font("Helvetica", "I", 8.5)
            self.cell(0, 6, self.header_text, align="C")
            self.ln(10)

    def footer(self) -> None:
        self.set_y(-16)
        self.set_font("Helvetica", "", 8.5)
        self.cell(0, 8, self.footer_text.format(n=self.page_no()), align="C")


@dataclass
class MadePdf:
    path: Path
    pages: int
    # each body paragraph's text -> the pages it was printed on (one cut by a page break: both)
    printed_on: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _body(pdf: FPDF, text: str, made: MadePdf) -> None:
    """A justified body paragraph, with the pages it lands on recorded."""
    first = pdf.page_no()
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5.6, text, align="J", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3.2)
    made.printed_on[text.strip()] = tuple(range(first, pdf.page_no() + 1))


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


SPRING = (
    "The spring that feeds the eastern tributary is the cleanest water in the valley. " * 4
    + "Its phosphate level was the lowest ever recorded by the board, at 0.02 milligrams per litre."
)
# Typeset by hand: two words hyphenated at line ends, and a compound the text spells with a hyphen.
TREATMENT_LINES = (
    "The treatment works at Millbrook were rebuilt in 2023 with a new ultra-",
    "violet stage and sand filters, and its well-trained operators were taught the main-",
    "tenance of the membranes by the manufacturer, a task for well-",
    "trained hands.",
)
TREATMENT = (
    "The treatment works at Millbrook were rebuilt in 2023 with a new ultraviolet stage and sand "
    "filters, and its well-trained operators were taught the maintenance of the membranes by the "
    "manufacturer, a task for well-trained hands."
)
LONG_RIVER = (
    "The river was sampled at twelve sites between the glacier and the lake, from the first thaw in "
    "April to the end of October. At every site the team measured temperature, acidity, dissolved "
    "oxygen and turbidity, and took a litre of water for the laboratory. "
)


def make_report(path: Path, metadata: str | None = REPORT_TITLE) -> MadePdf:
    """Four pages: the title `metadata` and an author in the metadata (none when None), a
    running header and "Page N of M" footer, the title in large bold type and bold headings, a
    paragraph across the break from page 1 to 2, words hyphenated at line ends, and a third
    page with no text (only an image), then a last page of text."""
    pdf = _Paged("Upper Valley Water Board - Annual Report 2024")
    if metadata is not None:
        pdf.set_title(metadata)
        pdf.set_author(REPORT_AUTHOR)
    made = MadePdf(path, 0)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 10, REPORT_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, f"By {REPORT_AUTHOR}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _heading(pdf, "Sampling Method")
    _body(pdf, LONG_RIVER * 3, made)
    _heading(pdf, "Nitrate Levels")
    _body(
        pdf,
        LONG_RIVER.replace("twelve", "eight") * 2 + "Nitrate stayed below the drinking water limit at "
        "every site except the mill outflow, where it reached 62 milligrams per litre in August.",
        made,
    )
    # fill page 1 so that the next paragraph runs over onto page 2
    months = iter(["May", "June", "July", "August", "September", "October", "November", "December"])
    while pdf.get_y() < 250:
        month = next(months)
        _body(
            pdf,
            f"In {month} the weather of the valley was recorded at the dam, with the rain and the "
            f"hours of sun noted for every day of {month} by the keeper.",
            made,
        )
    _body(pdf, SPRING, made)
    _heading(pdf, "Treatment Works")
    # a hyphenated word at a line end, typeset by hand
    pdf.set_font("Helvetica", "", 11)
    first = pdf.page_no()
    for line in TREATMENT_LINES:
        pdf.cell(0, 5.6, line, new_x="LMARGIN", new_y="NEXT")
    made.printed_on[TREATMENT] = tuple(range(first, pdf.page_no() + 1))
    pdf.ln(3.2)
    # a page with no text layer: only a picture, as a scanner would give
    pdf.add_page()
    pdf.header_text = ""  # a scanner prints no header
    pdf.image(_grey_image(), x=20, y=20, w=170)
    pdf.header_text = "Upper Valley Water Board - Annual Report 2024"
    pdf.add_page()
    _heading(pdf, "Outlook")
    _body(
        pdf,
        "The board will sample the new reservoir from next spring and publish its results every "
        "quarter, beginning with the winter readings in March.",
        made,
    )
    made.pages = pdf.page_no()
    pdf.output(str(path))
    return made


def _grey_image():
    """A plain grey picture, made in memory (what a scanned page is to a PDF reader)."""
    from PIL import Image

    return Image.new("L", (170, 240), color=200)


def make_scan(path: Path) -> Path:
    """A two-page PDF of images only: what a scanner without OCR gives."""
    pdf = FPDF()
    image = _grey_image()
    for _ in range(2):
        pdf.add_page()
        pdf.image(image, x=20, y=20, w=170)
    pdf.output(str(path))
    return path


def make_encrypted(path: Path) -> Path:
    """A PDF that opens only with its password."""
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, "Confidential minutes of the board meeting.")
    pdf.output(str(path))
    return path


def make_article(path: Path, source: Path = ARTICLE) -> MadePdf:
    """The bundled article as a multi-page PDF: title in large bold type, headings bold, body
    justified, a running header and a "- N -" footer; metadata carries the title and author.
    Every block is printed, in order; `printed_on` maps each body block's text to its pages."""
    doc = parse_document(source.read_text(encoding="utf-8"), str(source))
    pdf = _Paged("Frontier India - Space", footer="- {n} -")
    pdf.set_title(doc.title)
    if doc.author:
        pdf.set_author(doc.author)
    made = MadePdf(path, 0)
    pdf.add_page()
    for block in doc.blocks:
        if block.role == TITLE:
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(0, 9, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        elif block.role == HEADING:
            _heading(pdf, block.text)
        else:
            text = " ".join(block.text.split("\n")) if block.role == PARAGRAPH else block.text
            if "\n" in text:  # a byline block: its lines as lines
                first = pdf.page_no()
                pdf.set_font("Helvetica", "", 11)
                for line in text.split("\n"):
                    pdf.multi_cell(0, 5.6, line, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(3.2)
                made.printed_on[text] = tuple(range(first, pdf.page_no() + 1))
            else:
                _body(pdf, text, made)
    made.pages = pdf.page_no()
    pdf.output(str(path))
    return made
