"""Reading article files into structured documents: metadata, sections and numbered paragraphs.

A citation is only useful if a reader can find the place, so paragraph numbers here are the
blank-line-separated blocks of the file body (after any front matter), counted from 1 in file
order, exactly as a person counting blocks in an editor would. Everything else -- which block
is a heading, a byline, or web-page leftovers -- is decided by general layout rules, never by
knowing a particular article's strings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from ..analysis.normalize import normalize_text
from ..corpus_warnings import CorpusWarning, WarningKind
from .blocks import BYLINE, CHROME, COMMENT, HEADING, PARAGRAPH, TITLE, Block
from .comment_sections import comment_sections
from .markdown import markdown_blocks
from .source_rules import SourceRules

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".xhtml", ".pdf", ".docx")
# What a user is told citebot reads (a test checks it names every supported suffix).
READ_KINDS = "citebot reads .txt, .md/.markdown, .html/.htm/.xhtml, .pdf and .docx files, and http(s) URLs"
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
DOCX_SUFFIXES = (".docx",)
# Kinds whose text marks headings with `#` lines: Markdown files, and the text built from web pages,
# PDFs and Word documents.
MARKUP_KINDS = ("md", "html", "url", "pdf", "docx")


_WORD = re.compile(r"\w+")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_NAME_LINE = re.compile(r"^(?:by\s+)?((?:[A-Z][\w'\-]*\.?)(?:\s+(?:[A-Z][\w'\-]*\.?|de|van|von|bin|al)){1,3})$", re.I)
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)
_BY_PREFIX = re.compile(r"^(?:by|author|written by)\s*[:\-]?\s+", re.I)
# One or more blank (empty or whitespace-only) lines after a line break: what separates blocks.
# An attempt starts only at a "\n" and the possessive run never backtracks, so the scan stays
# linear even over a very long whitespace-only line.
_BLANK_LINES = re.compile(r"(\n(?:[^\S\n]*+\n)+)")
# Some line of at least eight words. Attempts start only where a word starts and possessive runs
# never backtrack, so the scan is linear; it stops at the first such line.
_EIGHT_WORD_LINE = re.compile(r"(?<!\w)\w++(?:[^\w\n]++\w++){7}")
# The first three words of a text (fewer if it has fewer), with what precedes them.
_FIRST_WORDS = re.compile(r"\W*+(?:\w++(?:\W++\w++){0,2})?")


@dataclass(frozen=True)
class Document:
    """A normalised article: metadata plus its numbered blocks (roles decided)."""

    path: str
    title: str
    text: str
    blocks: tuple[Block, ...]
    author: str | None = None
    author_bio: str | None = None
    url: str | None = None
    date: str | None = None
    kind: str = "txt"
    content_hash: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    # The encoding the file or page was read in ("utf-8", "cp1252", "utf-16-le", ...; Python's
    # names); None for a document not read from bytes (an evaluation set's, a test's).
    encoding: str | None = None
    # Where each page starts in `text` (page n at page_starts[n - 1]), for a document that has
    # pages (a PDF); empty otherwise. A passage's pages follow from its span (`passages.page_span`).
    page_starts: tuple[int, ...] = ()
    # What reading it noticed without skipping it (a Markdown include that was dropped), for
    # the build to report with its warnings.
    notes: tuple[CorpusWarning, ...] = ()

    @property
    def paragraphs(self) -> list[Block]:
        """Blocks that carry body text (what passages are made of)."""
        return [b for b in self.blocks if b.role == PARAGRAPH]


# ---------------------------------------------------------------------------------------------
# Reading files


def discover_files(paths: list[Path], rules: SourceRules | None = None) -> tuple[list[Path], list[CorpusWarning]]:
    """Expand files and folders (recursively) into supported files, in a stable order.

    Returns the files and warnings for paths that do not exist, cannot be read or are not
    supported (files of other kinds found in folders included, so every file left out is
    counted). Hidden files and folders (names starting with ".") are left out silently.
    Files in folders that `rules.exclude` matches (their path inside the folder) are left out
    with an EXCLUDED warning each, so the summary counts them; a file given by itself is read.
    Folder symlinks are not followed, so a symlink loop cannot make the walk endless.
    """
    found: dict[Path, None] = {}
    warnings: list[CorpusWarning] = []
    for root in paths:
        if root.is_file():
            if root.suffix.lower() in SUPPORTED_SUFFIXES:
                found[root] = None
            else:
                warnings.append(_unsupported(root))
        elif root.is_dir():
            for path in sorted(_walk(root, warnings, rules if rules is not None and rules.exclude else None)):
                found[path] = None
        elif root.is_symlink() or root.exists():
            warnings.append(CorpusWarning(WarningKind.NOT_A_FILE, str(root), f"skipped, {_not_a_file(root)}"))
        else:
            warnings.append(CorpusWarning(WarningKind.MISSING, str(root), "no such file or folder"))
    return list(found), warnings


def _walk(root: Path, warnings: list[CorpusWarning], rules: SourceRules | None = None, inside: str = "") -> list[Path]:
    """The supported files under `root`, whose path inside the corpus folder is `inside`."""
    files: list[Path] = []
    try:
        children = sorted(root.iterdir())
    except OSError as exc:  # an unreadable folder is skipped with a warning, not a crash
        warnings.append(CorpusWarning.cannot_read(root, exc))
        return files
    for child in children:
        if child.name.startswith("."):
            continue
        relative = f"{inside}{child.name}"
        if child.is_dir() and not child.is_symlink():
            files.extend(_walk(child, warnings, rules, relative + "/"))
            continue
        pattern = rules.excluded_by(relative) if rules is not None else None
        if pattern is not None:
            warnings.append(CorpusWarning.excluded(str(child), pattern))
        elif child.suffix.lower() in SUPPORTED_SUFFIXES:
            if child.is_file():
                files.append(child)
            else:  # a FIFO (reading it would block), a socket, a broken or looping symlink
                warnings.append(CorpusWarning(WarningKind.NOT_A_FILE, str(child), f"skipped, {_not_a_file(child)}"))
        elif child.is_symlink() and child.is_dir():
            warnings.append(CorpusWarning(WarningKind.NOT_A_FILE, str(child), f"skipped, {_not_a_file(child)}"))
        else:
            warnings.append(_unsupported(child))
    return files


def _unsupported(path: Path) -> CorpusWarning:
    """A file citebot does not read (the error for an empty corpus lists the kinds it reads)."""
    suffix = path.suffix.lower()
    what = f"{suffix} is" if suffix else "a file without an extension is"
    return CorpusWarning(WarningKind.UNSUPPORTED, str(path), f"skipped, {what} not a kind citebot reads")


def _not_a_file(path: Path) -> str:
    """Why a path that names no regular file cannot be read, for a warning."""
    if path.is_symlink() and not path.exists():
        return "a broken or looping symlink"
    if path.is_symlink() and path.is_dir():
        return "a symlink to a folder (folder symlinks are not followed)"
    return "not a regular file (a FIFO, socket or device)"


def corpus_folder(path: Path, folders: list[Path]) -> Path | None:
    """The deepest of the corpus `folders` that `path` was found in (None: a file given by
    itself), the folder a Markdown file's includes must lie in."""
    inside = [f for f in folders if f.is_dir() and path.parts[: len(f.parts)] == f.parts and path != f]
    return max(inside, key=lambda f: len(f.parts), default=None)


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_document(
    raw: str,
    path: str,
    kind: str = "txt",
    metadata: dict[str, str] | None = None,
    source: Path | None = None,
    root: Path | None = None,
    max_bytes: int | None = None,
) -> Document:
    """Turn raw file text into a Document: front matter, blocks, roles, sections, byline.

    Markdown (`kind="md"`) is parsed as Markdown (`markdown`), its blocks still numbered as the
    file's blank-line blocks; `source` is the file, for its includes (read only inside the
    corpus folder `root`, none without one).
    """
    text = normalize_text(raw)
    front, body_offset = _split_front_matter(text)
    front.update(metadata or {})
    blocks = _split_blocks(text, body_offset)
    notes: tuple[CorpusWarning, ...] = ()
    included: tuple[str, ...] = ()
    if kind == "md":
        blocks, notes, included = markdown_blocks(text, body_offset, blocks, path, source, root, max_bytes)
    if not any(b.text.strip() for b in blocks):
        return _document(
            path, kind, text, front, front.get("title") or Path(path).stem, [], None, None, notes, included
        )

    title = front.get("title")
    roles: dict[int, str] = {}
    headings: dict[int, str] = {}
    first = blocks[0]
    first_line = first.text.split("\n", 1)[0].strip()
    md_first = _MD_HEADING.match(first_line)
    if (
        title is None
        and kind == "md"
        and not md_first
        and not ("\n" not in first.text.strip() and _is_heading_text(first_line))
    ):
        # A Markdown page that opens with neither a heading nor a title-like line (a
        # documentation site's page, titled by its site's navigation): named after its file,
        # as MkDocs names it, not after its first line ("Hint:" of an admonition, or half a
        # sentence).
        title = title_from_file_name(path)
    elif title is None:
        title = md_first.group(2) if md_first else first_line
        if "\n" not in first.text.strip():
            roles[first.number] = TITLE
    elif md_first and md_first.group(2).strip() == title:
        roles[first.number] = TITLE

    author, bio = front.get("author"), None
    byline = _find_byline(blocks, roles, author)
    if byline is not None:
        number, name, bio = byline
        roles[number] = BYLINE
        author = author or name

    _drop_repeated_lines(blocks, roles)
    _mark_comments(blocks, roles, kind)
    _assign_roles(blocks, roles, headings, kind)
    sectioned = _with_sections(blocks, roles, headings)
    return _document(path, kind, text, front, title, sectioned, author, bio, notes, included)


def title_from_file_name(path: str) -> str:
    """A page's title from its file name: "advanced/event-hooks.md" -> "Event hooks"; an index
    or README page is named after its folder."""
    pure = PurePath(path)
    stem = pure.stem
    if stem.casefold() in ("index", "readme") and pure.parent.name:
        stem = pure.parent.name
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem


def _document(
    path: str,
    kind: str,
    text: str,
    front: dict[str, str],
    title: str,
    blocks: list[Block],
    author: str | None,
    bio: str | None,
    notes: tuple[CorpusWarning, ...] = (),
    included: tuple[str, ...] = (),
) -> Document:
    # Included files' texts are part of what the document says, so of its identity; a document
    # without includes keeps the hash of its text alone.
    identity = text + "".join(f"\x00{part}" for part in included)
    return Document(
        path=path,
        title=title.strip() or Path(path).stem,
        text=text,
        blocks=tuple(blocks),
        author=author,
        author_bio=bio,
        url=front.get("url"),
        date=front.get("date"),
        kind=kind,
        content_hash=hashlib.sha256(identity.encode("utf-8")).hexdigest(),
        metadata=dict(front),
        notes=notes,
    )


def _split_front_matter(text: str) -> tuple[dict[str, str], int]:
    """Parse a leading `---` block of `key: value` lines; return it and where the body starts."""
    if not text.startswith("---\n"):
        return {}, 0
    end = text.find("\n---", 4)
    if end == -1:
        return {}, 0
    after = text.find("\n", end + 4)
    body_start = len(text) if after == -1 else after + 1
    meta: dict[str, str] = {}
    for line in text[4:end].split("\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, body_start


def _split_blocks(text: str, offset: int) -> list[Block]:
    """Blank-line-separated blocks of the body (whitespace-only lines count as blank)."""
    # Splitting at runs of blank lines (`_BLANK_LINES`), not a regex for "a run of non-blank
    # lines": that one backtracks over every position of a long whitespace-only line (a 40 kB
    # line of spaces took 6 s, 1 MB hours). Between two separators lie only non-blank lines,
    # except for blank lines at the very start or end of the body, which `strip` removes.
    blocks: list[Block] = []
    body = text[offset:]
    pos = offset
    for i, part in enumerate(_BLANK_LINES.split(body)):
        stripped = part.strip() if i % 2 == 0 else ""  # odd parts are the separators
        if stripped:
            start = pos + len(part) - len(part.lstrip())
            blocks.append(Block(len(blocks) + 1, _strip_lines(stripped), start, start + len(stripped)))
        pos += len(part)
    return blocks


def _strip_lines(text: str) -> str:
    """The text with each of its lines stripped (the text itself is stripped already)."""
    if "\n" not in text:
        return text
    return "\n".join(line.strip() for line in text.split("\n"))


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def is_prose(text: str) -> bool:
    """Running text: a sentence of some length, not a label, menu entry or form prompt."""
    # Equal to `max(_words(line) for line in text.split("\n")) >= 8 and (ends a sentence or
    # _words(text) >= 20)`, without listing every word of every line (0.9 ms per 4,000-word
    # document).
    return _EIGHT_WORD_LINE.search(text) is not None and (_ends_sentence(text) or _words(text) >= 20)


def _ends_sentence(text: str) -> bool:
    r"""Whether the text ends with . ! or ? and then only closing quotes and brackets.

    Equal to `re.search(r"[.!?][\"')\]]*$", text.strip())`, which tries the pattern at every
    ".", "!" and "?" of the text instead of looking at its end.
    """
    return text.rstrip().rstrip("\"')]").endswith((".", "!", "?"))


def _is_heading_text(line: str) -> bool:
    """A short line without final punctuation: what a plain-text heading looks like."""
    line = line.strip()
    return 0 < _words(line) <= 14 and len(line) <= 120 and not re.search(r"[.!?,;:]$", line)


def _find_byline(
    blocks: list[Block], roles: dict[int, str], known_author: str | None = None
) -> tuple[int, str, str | None] | None:
    """Find an author byline or bio among the first blocks.

    Two general shapes: a line "By Name" (or "Author: Name"), and a bio block that starts with a
    name-like line followed by a sentence about that same name ("Name is the ..."). "By" and
    the author named in the metadata is a byline whatever the name looks like.
    """
    known = _name_key(known_author or "")
    for block in blocks[:6]:
        if roles.get(block.number):
            continue
        lines = block.text.split("\n")
        first = lines[0].strip()
        named = _BY_PREFIX.sub("", first)
        if _BY_PREFIX.match(first) and (_NAME_LINE.match(named) or (known and _name_key(named) == known)):
            name = _BY_PREFIX.sub("", first).strip()
            rest = " ".join(lines[1:]).strip() or None
            return block.number, name, rest
        name_match = _NAME_LINE.match(first)
        if name_match and len(lines) > 1:
            name = name_match.group(1)
            key = _name_key(name)
            if any(_name_key(line).startswith(key) for line in lines[1:]):
                bio = " ".join(line for line in lines[1:] if _name_key(line) != key).strip()
                return block.number, _best_name(lines, name), bio or None
    return None


def _name_key(text: str) -> str:
    # Lower-casing the joined words equals joining the lower-cased words (lower() maps each
    # character alone; its one contextual rule, final sigma, stops at the separating space).
    return " ".join(_WORD.findall(text)).lower()


def _best_name(lines: list[str], fallback: str) -> str:
    """Prefer the fullest spelling of the name ("Joseph P. Chacko" over "Joseph P Chacko")."""
    key = _name_key(fallback)
    spellings = [
        cand.strip()
        for line in lines
        for cand in re.findall(r"(?:[A-Z][\w'\-]*\.?\s+){1,3}[A-Z][\w'\-]*", line)
        if _name_key(cand) == key
    ]
    return max(spellings, key=len, default=fallback)


def _drop_repeated_lines(blocks: list[Block], roles: dict[int, str]) -> None:
    """A block that repeats an earlier block word for word is page furniture."""
    # Equal to marking each block whose `_name_key` is among the earlier blocks' keys. Equal
    # keys mean equal first three words (`head`), so a block's key is only worked out when an
    # earlier block has its head: no `findall` over every word of the text (0.7 ms per
    # 4,000-word document).
    earlier: dict[str, str | set[str]] = {}  # first words -> that block's text, or all keys
    for block in blocks:
        first = _FIRST_WORDS.match(block.text)  # (every string matches: all of it is optional)
        head = _name_key(block.text[: first.end() if first else 0])
        seen = earlier.get(head)
        if seen is None:
            earlier[head] = block.text
            continue
        if isinstance(seen, str):
            seen = earlier[head] = {_name_key(seen)}
        key = _name_key(block.text)
        if key in seen and not roles.get(block.number):
            roles[block.number] = CHROME
        seen.add(key)


def _mark_comments(blocks: list[Block], roles: dict[int, str], kind: str) -> None:
    """Every block of a readers' comment section becomes COMMENT (the title and byline stay)."""
    for first, last in comment_sections(blocks, kind in MARKUP_KINDS, is_prose):
        for block in blocks[first : last + 1]:
            if roles.get(block.number) not in (TITLE, BYLINE):
                roles[block.number] = COMMENT


def _assign_roles(blocks: list[Block], roles: dict[int, str], headings: dict[int, str], kind: str) -> None:
    """Decide headings, paragraphs and leftovers by layout.

    A heading is a short unpunctuated line (or a Markdown `#` line) that introduces prose. A
    short block that introduces nothing -- "Latest", a comment-form prompt, a list of link titles
    -- is web-page furniture and is dropped.
    """
    body_text: dict[int, bool] = {}  # block index -> prose or list (asked twice per block)

    def is_body_text(j: int) -> bool:
        found = body_text.get(j)
        if found is None:
            text = blocks[j].text
            found = body_text[j] = is_prose(text) or _is_list(text) or _holds_code(text)
        return found

    for i, block in enumerate(blocks):
        if block.number in roles:
            continue
        markup = kind in MARKUP_KINDS and block.text.startswith("#")  # what _MD_HEADING needs
        md = _MD_HEADING.match(block.text.split("\n", 1)[0]) if markup else None
        nxt = _next_prose(blocks, i, roles, is_body_text)
        if md:
            headings[block.number] = md.group(2).strip()
            roles[block.number] = HEADING
        elif is_body_text(i):
            roles[block.number] = PARAGRAPH
        elif "\n" not in block.text and _is_heading_text(block.text) and nxt:
            headings[block.number] = block.text.strip()
            roles[block.number] = HEADING
        elif "\n" not in block.text and re.search(r"[,:]$", block.text.strip()) and nxt:
            roles[block.number] = PARAGRAPH  # a lead-in ("In conclusion,") that joins the next block
        else:
            roles[block.number] = CHROME


def _holds_code(text: str) -> bool:
    """Whether a block holds a fenced code block: body text, however little prose it has (the
    code a tutorial shows, and the lead-in "use with:" above it)."""
    return ("```" in text or "~~~" in text) and _FENCE_LINE.search(text) is not None


def _is_list(text: str) -> bool:
    lines = text.split("\n")
    item = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
    return len(lines) >= 2 and all(item.match(line) for line in lines) and _words(text) >= 8


def _next_prose(blocks: list[Block], i: int, roles: dict[int, str], is_body_text: Callable[[int], bool]) -> bool:
    """Whether the very next block is body text (what a heading must introduce)."""
    if i + 1 >= len(blocks) or roles.get(blocks[i + 1].number) in (BYLINE, CHROME, TITLE, COMMENT):
        return False
    return is_body_text(i + 1)


def _with_sections(blocks: list[Block], roles: dict[int, str], headings: dict[int, str]) -> list[Block]:
    out: list[Block] = []
    section: str | None = None
    for b in blocks:
        role = roles.get(b.number, PARAGRAPH)
        if role == HEADING:
            section = headings[b.number]
            # A Markdown heading written directly above its text (no blank line) shares the block.
            rest = b.text.split("\n", 1)[1].strip() if "\n" in b.text else ""
            out.append(Block(b.number, b.text.split("\n", 1)[0], b.start, b.end, HEADING, section))
            if rest:
                out.append(
                    Block(b.number, rest, b.start + b.text.index(rest), b.end, PARAGRAPH, section, b.last_number)
                )
            continue
        if role == PARAGRAPH and section is None and b.role == PARAGRAPH and b.section is None:
            out.append(b)  # already equal to the Block below: spare building it again
        else:
            out.append(Block(b.number, b.text, b.start, b.end, role, section, b.last_number))
    return out
