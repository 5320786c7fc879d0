"""Text normalisation applied to every document and question before anything else.

Articles pasted from the web carry curly quotes, non-breaking spaces and compatibility
characters; a question typed in Discord usually carries the plain forms. Folding both sides to
one form (NFKC plus ASCII quotes) is what lets "ISS's" in a question match "ISS’s" in a source.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
}
# Zero-width and bidi control characters carry no words; dropping them keeps tokens intact.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Other control characters (except tab and newline) would only confuse the block splitter.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str) -> str:
    """NFKC-normalise, straighten quotes, drop invisible characters, unify line ends.

    Invalid surrogates (from a badly decoded file or a fuzzed question) are replaced rather than
    allowed to raise later in the pipeline.
    """
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFKC", text)
    # One replace per quote present: str.translate with a table walks every character in
    # Python-level lookups (1.2 ms for a 26 kB article, 40x this).
    for curly, straight in _QUOTES.items():
        if curly in text:
            text = text.replace(curly, straight)
    text = _INVISIBLE.sub("", text)
    return _CONTROL.sub(" ", text)
