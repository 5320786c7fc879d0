"""Corpus file bytes to text, in whatever encoding they were saved: a byte-order mark first,
then UTF-8, then a detected encoding; only data no encoding makes sensible text of is binary.

Files saved by older Windows and Mac tools are often cp1252 or Latin-1 ("café" as one byte
per letter), and Windows' "Unicode" is UTF-16 with a byte-order mark; refusing them as "not
UTF-8" or "binary" left a user's articles out of the index. UTF-8 is tried before any
detection, so a UTF-8 file reads exactly as it always did.

Detection is charset-normalizer's, with one correction: on short Western text it often names a
Central European code page (cp1250, turning "crème" into "crčme") although cp1252 reads the
bytes as well. So when cp1252 is among the encodings it finds least garbled, cp1252 is used,
as browsers default to for Western text; Latin-1 files read the same through cp1252, its
superset for printable text. Without charset-normalizer's answer, cp1252 is the fallback.
"""

from __future__ import annotations

import codecs
import unicodedata

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
FALLBACK = "cp1252"
_SNIFF = 8192  # how far NUL bytes (or characters) are looked for
# Decoded text with more than this share of control, unassigned, private-use or surrogate
# characters is binary read through some code page, not text.
MAX_JUNK_SHARE = 0.01
_JUDGED = 65536
_WHITESPACE_CONTROLS = frozenset("\t\n\r\f\v")
_JUNK_CATEGORIES = frozenset(("Cc", "Cn", "Co", "Cs"))


class NotText(ValueError):
    """The bytes are not text in any encoding tried; the message says why."""


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, the encoding it was read in, as Python names it): a byte-order mark's encoding,
    else UTF-8, else a detected one. Raises NotText for binary data."""
    found = decode_bom(data)
    if found is not None:
        return found
    if b"\x00" in data[:_SNIFF]:
        raise NotText("looks binary (contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in _candidates(data):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if is_sensible(text):
            return text, codecs.lookup(encoding).name
    raise NotText("looks binary (not UTF-8, and no other text encoding fits it)")


def decode_bom(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) when `data` starts with a byte-order mark, else None. Raises NotText
    when what follows the mark is not valid in its encoding, or holds NUL characters."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            body = data if encoding == "utf-8-sig" else data[len(bom) :]
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError as exc:
                name = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
                raise NotText(
                    f"looks binary (starts with a {name} byte-order mark but is not {name}, "
                    f"byte {exc.start + len(data) - len(body)})"
                ) from exc
            if "\x00" in text[:_SNIFF]:
                raise NotText("looks binary (contains NUL characters)")
            if encoding != "utf-8-sig" and not is_sensible(text):
                raise NotText(f"looks binary (starts with a {encoding.upper()} byte-order mark but is not text)")
            return text, encoding
    return None


def is_sensible(text: str) -> bool:
    """Whether decoded text reads as text: almost no control characters (other than
    whitespace), unassigned code points, private-use or surrogate characters in its first
    _JUDGED characters (looking at each character of a 50 MB file took seconds)."""
    sample = text[:_JUDGED]
    junk = sum(1 for ch in sample if ch not in _WHITESPACE_CONTROLS and unicodedata.category(ch) in _JUNK_CATEGORIES)
    return junk <= MAX_JUNK_SHARE * len(sample)


def _candidates(data: bytes) -> list[str]:
    """Encodings to try, best first: charset-normalizer's least garbled one (cp1252 when it
    is among those), then cp1252."""
    from charset_normalizer import from_bytes

    # Without a byte-order mark, UTF-16/32 cannot be told from a CJK code page by guessing.
    matches = list(
        from_bytes(data, cp_exclusion=["utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be", "utf_7"])
    )
    if not matches:
        return [FALLBACK]
    least = min(m.chaos for m in matches)
    calm = [m for m in matches if m.chaos <= least]
    if any(FALLBACK in (m.encoding, *m.could_be_from_charset) for m in calm):
        return [FALLBACK]
    return [calm[0].encoding, FALLBACK]
