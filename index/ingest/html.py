"""Web pages into documents: the article body only, with its metadata, as numbered blocks.

The main-content extraction is trafilatura's (the reference extractor in the field's
evaluations): it keeps the article's paragraphs, headings, lists, quotes and tables and drops
navigation, share buttons, comment forms, "related" lists, cookie banners and footers. From
its result this module writes the document's text as blank-line-separated blocks, so the
paragraph numbers of a citation are counted exactly as in a `.txt` or `.md` file:

    # Title                      ¶1
    By Author                    ¶2 (only when the page names an author; the bio follows,
    Author bio                       when the page has one)
    First body paragraph         ¶3
    ## Heading                   ¶4 (h2/h3 headings: `##`/`###` lines, they start sections)
    ...

Metadata: title, author, date and site name come from the extraction (meta tags, JSON-LD,
the page itself); the canonical URL from `<link rel=canonical>` (else `og:url`). An author
bio is not body text, so trafilatura drops it; it is read from the page's JSON-LD `Person`
or a conventional author box, so "who wrote this?" keeps an answer.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..analysis.normalize import normalize_text
from .documents import Document, parse_document
from .textdecode import NotText, decode_bom

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm", ".xhtml")

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.I)
_AUTHOR_BOX = re.compile(
    r"author[-_ ]?(?:bio|box|description|desc|info|about|details|card)|about[-_ ]?(?:the[-_ ]?)?author", re.I
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BIO_PART = re.compile(r"description|bio|desc|about|summary", re.I)


@dataclass(frozen=True)
class ExtractedPage:
    """What a page holds once its furniture is gone."""

    title: str | None
    author: str | None
    author_bio: str | None
    date: str | None
    site: str | None
    canonical: str | None
    description: str | None
    blocks: tuple[tuple[str, str], ...]  # (kind, text): kind is "h1".."h6", "p" or "list"


def decode_html(data: bytes, content_type: str = "") -> str:
    """Bytes to text (see `html_text`)."""
    return html_text(data, content_type)[0]


def html_text(data: bytes, content_type: str = "") -> tuple[str, str]:
    """(text, the encoding it was read in): a byte-order mark's encoding (it overrides any
    declared charset, as in browsers), else the HTTP charset, else a `<meta charset>`, else
    UTF-8, else a detected encoding."""
    try:
        found = decode_bom(data)
    except NotText:  # not what its mark says: let the declared charsets and detection try
        found = None
    if found is not None:
        return found
    candidates: list[str] = []
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:\-]+)", content_type or "", re.I)
    if match:
        candidates.append(match.group(1))
    meta = _META_CHARSET.search(data[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    candidates.append("utf-8")
    for encoding in candidates:
        try:
            return data.decode(encoding), codecs.lookup(encoding).name
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        from trafilatura.utils import detect_encoding

        for encoding in detect_encoding(data):
            try:
                return data.decode(encoding), codecs.lookup(encoding).name
            except (LookupError, UnicodeDecodeError):
                continue
    except ImportError:  # pragma: no cover - trafilatura is a dependency
        pass
    return data.decode("utf-8", "replace"), "utf-8 (invalid bytes replaced)"


def _clean(text: str | None) -> str:
    return _SPACE.sub(" ", normalize_text(text or "")).strip()


def _key(text: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(text))


def extract_page(html: str, url: str | None = None) -> ExtractedPage:
    """Run trafilatura on a page and read the metadata it leaves out (bio, canonical link)."""
    import trafilatura
    from lxml import etree
    from lxml import html as lxml_html

    result = trafilatura.bare_extraction(
        html,
        url=url,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        include_formatting=False,
        with_metadata=True,
        deduplicate=False,
    )
    try:
        # lxml refuses text that still declares an encoding (XHTML's `<?xml ... encoding=...?>`).
        tree = lxml_html.fromstring(_XML_DECLARATION.sub("", html, count=1))
    except (ValueError, etree.ParserError, etree.XMLSyntaxError):  # empty or hopeless markup
        tree = None
    people = _json_ld_people(tree) if tree is not None else []
    meta_author = _meta(tree, "name", "author") if tree is not None else None

    blocks: list[tuple[str, str]] = []
    body = getattr(result, "body", None)  # (None when trafilatura found nothing)
    if body is not None:
        blocks = _body_blocks(body)
    title = _clean(getattr(result, "title", None)) or (_clean(tree.findtext(".//title")) if tree is not None else "")
    author = _best_author(_clean(getattr(result, "author", None)), [meta_author] + [p[0] for p in people])
    bio = _author_bio(tree, author, people) if tree is not None and author else None
    canonical = _canonical(tree, url) if tree is not None else None
    return ExtractedPage(
        title=title or None,
        author=author or None,
        author_bio=bio,
        date=_clean(getattr(result, "date", None)) or None,
        site=_clean(getattr(result, "sitename", None)) or None,
        canonical=canonical or (_clean(getattr(result, "url", None)) or None),
        description=_clean(getattr(result, "description", None)) or None,
        blocks=tuple(blocks),
    )


def _body_blocks(body: Any) -> list[tuple[str, str]]:
    """trafilatura's body (p, head, list, quote, table, code elements) as (kind, text) blocks."""
    out: list[tuple[str, str]] = []
    for el in body:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "head":
            rend = (el.get("rend") or "h2").lower()
            text = _clean("".join(el.itertext()))
            if text:
                out.append((rend if re.fullmatch(r"h[1-6]", rend) else "h2", text))
        elif tag == "list":
            parted = [_item_parts(item) for item in el.findall("item")]
            if parted and all(len(parts) >= 2 for parts in parted):
                # Items of several paragraphs each (an FAQ, a comment thread): one block per
                # item, a line per paragraph, rather than one line gluing them ("Tom2 hours ago").
                out.extend(("p", "\n".join(parts)) for parts in parted)
                continue
            items = [_clean("".join(item.itertext())) for item in el.findall("item")]
            items = [i for i in items if i]
            if items:
                out.append(("list", "\n".join(f"- {i}" for i in items)))
        elif tag == "table":
            rows = [" | ".join(_clean("".join(c.itertext())) for c in row) for row in el.iter("row")]
            rows = [r for r in rows if r.strip(" |")]
            if rows:
                out.append(("p", "\n".join(rows)))
        elif tag in ("p", "quote", "code"):
            text = _clean("".join(el.itertext()))
            if text:
                out.append(("p", text))
        elif tag:
            text = _clean("".join(el.itertext()))
            if text:
                out.append(("p", text))
    return out


def _item_parts(item: Any) -> list[str]:
    """The paragraphs of a list item that holds paragraphs (empty: it holds none), its own
    text before them first."""
    paragraphs = [child for child in item if isinstance(child.tag, str) and child.tag == "p"]
    if not paragraphs:
        return []
    parts = [_clean(item.text)] + [
        _clean("".join(p.itertext())) + (" " + _clean(p.tail) if _clean(p.tail) else "") for p in paragraphs
    ]
    return [p for p in parts if p]


def _meta(tree: Any, attr: str, value: str) -> str | None:
    for el in tree.iter("meta"):
        if (el.get(attr) or "").strip().lower() == value and el.get("content"):
            return _clean(el.get("content"))
    return None


def _json_ld_people(tree: Any) -> list[tuple[str, str | None]]:
    """(name, description) of every schema.org Person in the page's JSON-LD."""
    people: list[tuple[str, str | None]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if "Person" in kinds and isinstance(node.get("name"), str):
                desc = node.get("description")
                people.append((_clean(node["name"]), _clean(desc) if isinstance(desc, str) else None))
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)

    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json" and script.text:
            try:
                walk(json.loads(script.text))
            except ValueError:
                continue
    return people


def _best_author(found: str, others: list[str | None]) -> str:
    """The fullest spelling of the extracted author ("Joseph P. Chacko" over "Joseph P Chacko")."""
    if not found:
        return next((o for o in others if o), "")
    key = _key(found)
    same = [o for o in others if o and _key(o) == key]
    return max([found, *same], key=len)


def _author_bio(tree: Any, author: str, people: list[tuple[str, str | None]]) -> str | None:
    """The author's bio: a JSON-LD Person of that name, else a conventional author box."""
    key = _key(author)
    for name, desc in people:
        if _key(name) == key and desc and len(_WORD.findall(desc)) >= 6:
            return desc
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("body", "html", "article", "main"):
            continue
        marker = f"{el.get('class') or ''} {el.get('id') or ''}"
        if not _AUTHOR_BOX.search(marker):
            continue
        # The box itself when it is the bio ("author-bio"), else its description part.
        candidates = [el] if _BIO_PART.search(marker) else []
        candidates += [
            d
            for d in el.iter()
            if isinstance(d.tag, str)
            and d is not el
            and _BIO_PART.search(f"{d.get('class') or ''} {d.get('id') or ''} {d.get('itemprop') or ''}")
        ]
        for candidate in candidates:
            text = _clean(" ".join(candidate.itertext()))
            if len(_WORD.findall(text)) >= 8 and _key(text) != key:
                return text
    return None


def _canonical(tree: Any, url: str | None) -> str | None:
    for el in tree.iter("link"):
        rels = (el.get("rel") or "").lower().split()
        if "canonical" in rels and el.get("href"):
            return urljoin(url or "", el.get("href").strip())
    og = _meta(tree, "property", "og:url")
    return urljoin(url or "", og) if og else None


def _same_site(a: str, b: str) -> bool:
    host = lambda u: (urlsplit(u).hostname or "").lower().removeprefix("www.")  # noqa: E731
    return bool(host(a)) and host(a) == host(b)


def page_text(page: ExtractedPage, fallback_title: str) -> str:
    """The document text: title, byline, then the body blocks, one block per paragraph or heading."""
    title = page.title or fallback_title
    parts = [f"# {title}"]
    if page.author:
        parts.append("\n".join(filter(None, [f"By {page.author}", page.author_bio])))
    blocks = list(page.blocks)
    if blocks and blocks[0][0].startswith("h") and _key(blocks[0][1]) == _key(title):
        blocks = blocks[1:]  # the page's own <h1> repeats the title
    for kind, text in blocks:
        if kind.startswith("h"):
            parts.append(f"{'#' * max(2, int(kind[1]))} {text}")
        else:
            parts.append(text)
    return "\n\n".join(parts) + "\n"


def parse_html(html: str, path: str, kind: str = "html", url: str | None = None) -> Document:
    """A page as a Document. `url` is where it was fetched from (None for a local file).

    The citation links to the canonical URL when the page names one on the same site as `url`
    (or, for a local file, any http(s) canonical URL), else to `url` itself: a page cannot make
    its citations point at another site.
    """
    fallback = path.rstrip("/").rsplit("/", 1)[-1] or path
    page = extract_page(html, url)
    canonical = page.canonical if page.canonical and urlsplit(page.canonical).scheme in ("http", "https") else None
    cite: str | None
    if url is not None:
        cite = canonical if canonical and _same_site(canonical, url) else url
    else:
        cite = canonical
    metadata = {"title": page.title or fallback}
    for key, value in (
        ("author", page.author),
        ("date", page.date),
        ("site", page.site),
        ("canonical", canonical),
        ("url", cite),
        ("fetched_from", url),
        ("description", page.description),
    ):
        if value:
            metadata[key] = value
    return parse_document(page_text(page, fallback), path, kind=kind, metadata=metadata)
