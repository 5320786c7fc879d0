"""Text in other encodings (issue 12): files that are not UTF-8 are read in the encoding they
were saved in (a byte-order mark first, then UTF-8, then detection), the encoding is recorded
in the documents table, and only data that is no text in any encoding is skipped as binary.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.ingest.textdecode import NotText, decode_text
from tests.support.corpora import age_files, assert_same_as_full_build
from tests.support.helpers import BUNDLED_ARTICLE

CITEBOT = Path(sys.executable).with_name("citebot")

# name -> (text, encoding written in, encoding recorded, question, what the answer must hold)
FILES = {
    "latin1.txt": (
        "Desserts of Besan\u00e7on\n\nThe Caf\u00e9 Z\u00e9phyr in Besan\u00e7on serves cr\u00e8me br\u00fbl\u00e9e "
        "to every guest who first orders the soupe \u00e0 l'oignon, the owner explained.\n",
        "latin-1",
        "cp1252",
        "What does the Café Zéphyr in Besançon serve?",
        ("Caf\u00e9 Z\u00e9phyr", "Besan\u00e7on", "cr\u00e8me br\u00fbl\u00e9e", "\u00e0 l'oignon"),
    ),
    "cp1252.txt": (
        "The Na\u00efve Owl\n\nThe Na\u00efve Owl bookshop\u2019s owner said \u201cevery caf\u00e9 needs a "
        "reading corner\u201d \u2013 and she built one beside the till.\n",
        "cp1252",
        "cp1252",
        "What did the owner of the Naïve Owl bookshop say?",
        # Curly quotes read right become straight ones (normalize_text folds them so
        # questions match); read as Latin-1 they would be C1 control characters.
        ("Na\u00efve Owl bookshop's", '"every caf\u00e9 needs a reading corner" \u2013 and'),
    ),
    "utf16.txt": (
        "\ufeffThe \u00c6r\u00f8sk\u00f8bing ferry\n\nThe ferry to \u00c6r\u00f8sk\u00f8bing crosses the "
        "Baltic in seventy minutes, and its kiosk sells sm\u00f8rrebr\u00f8d to the passengers.\n",
        "utf-16-le",
        "utf-16-le",
        "How long does the ferry to Ærøskøbing take?",
        ("\u00c6r\u00f8sk\u00f8bing", "seventy minutes", "sm\u00f8rrebr\u00f8d"),
    ),
    "utf8bom.md": (
        "\ufeff# The textile museum of \u0141\u00f3d\u017a\n\nThe Central Museum of Textiles in "
        "\u0141\u00f3d\u017a displays nineteenth-century looms beside a caf\u00e9 that serves pierogi.\n",
        "utf-8",
        "utf-8-sig",
        "What does the Central Museum of Textiles in Łódź display?",
        ("\u0141\u00f3d\u017a", "nineteenth-century looms"),
    ),
}
PAGE = (
    "\ufeff<!DOCTYPE html><html><head><title>Fjord notes</title></head><body><article><h1>Fjord notes</h1>"
    "<p>The Geirangerfjord cruise stops at Hellesylt, where a caf\u00e9 sells w\u00e6ffles with brunost "
    "to every passenger who walks up the hill.</p></article></body></html>"
)


def citebot(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    return subprocess.run(
        [str(CITEBOT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300, input=stdin
    )


def binary_bytes(seed: int = 12) -> bytes:
    """A PNG-like header and noise without NUL bytes: only detection can call it binary."""
    return b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(4096).replace(b"\x00", b"\x01")


def encoded_corpus(folder: Path) -> None:
    folder.mkdir()
    shutil.copy(BUNDLED_ARTICLE, folder / "article.txt")
    for name, (text, written, *_rest) in FILES.items():
        (folder / name).write_bytes(text.encode(written))
    (folder / "page.html").write_bytes(PAGE.encode("utf-16-le"))
    (folder / "binary.txt").write_bytes(binary_bytes())


def encodings(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as conn:
        return {Path(p).name: e for p, e in conn.execute("SELECT path, encoding FROM documents")}


def test_files_in_other_encodings_are_indexed_and_answered_with_their_characters(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    encoded_corpus(corpus)
    db = tmp_path / "index.sqlite3"
    done = citebot(tmp_path, "index", "--db", str(db), str(corpus))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"warning: {corpus / 'binary.txt'}: skipped, looks binary (not UTF-8, and no other text encoding fits it)"
    ]
    assert "Indexed 6 documents" in done.stdout
    assert encodings(db) == {
        "article.txt": "utf-8",
        "page.html": "utf-16-le",
        **{name: spec[2] for name, spec in FILES.items()},
    }

    questions = [spec[3] for spec in FILES.values()] + ["Where does the Geirangerfjord cruise stop?"]
    asked = citebot(tmp_path, "ask", "--db", str(db), "--json", "-", stdin="\n".join(questions) + "\n")
    assert asked.returncode == 0, asked.stderr
    answers = [json.loads(line) for line in asked.stdout.splitlines()]
    for (name, spec), answer in zip(FILES.items(), answers):
        assert answer["answered"], (name, answer)
        top = answer["passages"][0]
        assert Path(top["citation"]["path"]).name == name
        for expected in spec[4]:
            assert expected in answer["answer"], (name, expected, answer["answer"])
        assert "\ufffd" not in top["text"] and "\ufeff" not in top["text"]
    page = answers[-1]
    assert page["answered"] and Path(page["passages"][0]["citation"]["path"]).name == "page.html"
    assert "caf\u00e9 sells w\u00e6ffles with brunost" in page["answer"]


def test_a_file_saved_again_in_another_encoding_is_reindexed_as_a_full_build_would(tmp_path: Path) -> None:
    """Same text, new encoding: the incremental reindex records the new encoding (it does not
    keep the old row as "touched but not changed"), and equals a full build."""
    corpus = tmp_path / "corpus"
    encoded_corpus(corpus)
    age_files(corpus)
    db = tmp_path / "index.sqlite3"
    params = IndexParams()
    rebuild_sync([corpus], db, params)
    assert encodings(db)["latin1.txt"] == "cp1252"
    text = FILES["latin1.txt"][0]
    (corpus / "latin1.txt").write_bytes(text.encode("utf-8"))
    age_files(corpus)
    again = rebuild_sync([corpus], db, params)
    assert again.incremental and again.analysed == 1
    assert encodings(db)["latin1.txt"] == "utf-8"
    full = tmp_path / "full.sqlite3"
    rebuild_sync([corpus], full, params)
    assert_same_as_full_build(db, full)


# ------------------------------------------------------------------------ decode_text --


@pytest.mark.parametrize(
    ("text", "written", "recorded"),
    [
        ("plain ASCII and UTF-8: caf\u00e9 \u2013 \u201cok\u201d", "utf-8", "utf-8"),
        ("\ufeffa UTF-8 file with a byte-order mark: caf\u00e9", "utf-8", "utf-8-sig"),
        ("\ufeffUTF-16 BE: \u00c6r\u00f8sk\u00f8bing", "utf-16-be", "utf-16-be"),
        ("\ufeffUTF-32 LE: \u00c6r\u00f8sk\u00f8bing", "utf-32-le", "utf-32-le"),
        ("\ufeffUTF-32 BE: \u00c6r\u00f8sk\u00f8bing", "utf-32-be", "utf-32-be"),
        ("caf\u00e9", "latin-1", "cp1252"),  # short Western text: cp1252, not the cp1250 a detector guesses
        ("Die Stra\u00dfe f\u00fchrt \u00fcber die Br\u00fccke nach M\u00fcnchen.", "latin-1", "cp1252"),
        (
            "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144. \u0141\u00f3d\u017a jest pi\u0119knym "
            "miastem w Polsce.",
            "cp1250",
            "cp1250",
        ),  # Central European text keeps its code page
        (
            "\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a \u0434\u0435\u043b\u0430? \u042d\u0442\u043e "
            "\u043f\u0440\u043e\u0432\u0435\u0440\u043a\u0430 \u043a\u043e\u0434\u0438\u0440\u043e\u0432\u043a\u0438.",
            "cp1251",
            "cp1251",
        ),
    ],
)
def test_text_is_read_in_the_encoding_it_was_saved_in(text: str, written: str, recorded: str) -> None:
    decoded, encoding = decode_text(text.encode(written))
    assert (decoded, encoding) == (text.lstrip("\ufeff"), recorded)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (binary_bytes(), "no other text encoding fits it"),
        (b"\x7fELF\x02\x01\x01\x00" + random.Random(1).randbytes(2048), "contains NUL bytes"),
        (b"\xff\xfe" + "text".encode("utf-16-le") + b"\x00\xd8", "is not UTF-16-LE"),  # a lone surrogate
        ("\ufeffa\x00b".encode("utf-16-le"), "contains NUL characters"),
        (b"\xff\xfe" + "".join(chr(0xE000 + i) for i in range(64)).encode("utf-16-le"), "but is not text"),
    ],
)
def test_binary_data_is_not_text(data: bytes, why: str) -> None:
    with pytest.raises(NotText, match=why):
        decode_text(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400))
def test_utf8_text_reads_as_it_always_did(text: str) -> None:
    """What UTF-8 decoding gave before detection existed: text, or binary for NUL bytes."""
    data = text.encode("utf-8", "surrogatepass")
    try:
        expected = data.decode("utf-8-sig")
    except UnicodeDecodeError:  # lone surrogates: not UTF-8, left to detection
        return
    if "\x00" in expected[:4096]:
        with pytest.raises(NotText):
            decode_text(data)
    else:
        assert decode_text(data)[0] == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_any_bytes_are_text_or_not_text_never_a_crash(data: bytes) -> None:
    try:
        text, encoding = decode_text(data)
    except NotText:
        return
    assert isinstance(text, str) and encoding
