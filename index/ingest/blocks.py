"""The blocks of a document body: each blank-line-separated block with its number and role.

Every reader produces them (plain text and Markdown here, and the text built from web pages,
PDFs and Word documents), and `documents.parse_document` decides their roles.
"""

from __future__ import annotations

from dataclasses import dataclass

# Roles a block can play; only "paragraph" blocks become passages. COMMENT: a block of a
# readers' comment section (`comment_sections`), never the article's word.
TITLE, HEADING, PARAGRAPH, BYLINE, CHROME = "title", "heading", "paragraph", "byline", "chrome"
COMMENT = "comment"


@dataclass(frozen=True)
class Block:
    """One blank-line-separated block of the body, with its paragraph number and role."""

    number: int
    text: str
    start: int
    end: int
    role: str = PARAGRAPH
    section: str | None = None
    # The number of the last blank-line block it spans, when it spans several (a Markdown code
    # block with a blank line in it); None: only its own.
    last_number: int | None = None

    @property
    def last(self) -> int:
        """The number of the last blank-line block of the file it covers."""
        return self.number if self.last_number is None else self.last_number
