"""Corpora the build tests share and the comparison of two index files: text that is awkward
for the analyser (`AWKWARD`), the bundled article with reshuffled copies (`corpus_documents`,
`awkward_corpus`), files dated back (`age_files`), and an index checked against a full build of
the same corpus (`assert_same_as_full_build`, `full_build`)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.indexfile import IndexReader
from tests.support.helpers import BUNDLED_ARTICLE as ARTICLE

AWKWARD = [
    "The U.S. Army and the U.K. met in Washington, D.C. on Jan. 5. Dr. Smith said so.",
    "US sanctions hit IT staff. WE ARE HERE. it is what it is.",
    "ALL CAPS TEXT WITH US AND IT",
    "Don't stop-believing: o'clock rock'n'roll isn't _under_score_ 3.14 x2.",
    "Straße İstanbul ﬁne Ⅻ café naïve e\u0301 \u200bhidden\u200b \u2018quoted\u2019 “double” – dash",
    "Line one without end\nLine two. Another sentence!\n\n  \nLast line?",
    "A\r\nB carriage\rreturn and \x07bell and tab\there.",
    "The Russian Orbital Space Station (ROS) and the International Space Station (ISS). ROS is new.",
    'Mr. J. R. R. Tolkien wrote it... Then (he said) "fine." Next one.',
    "१२३ digits ٣ and ½ fraction ² super; 日本語のテキスト。次の文。",
    "",
    "   ",
    "end.Next sentence started without a space.'Quoted start' here.",
]


def corpus_documents(tmp: Path, n_extra: int = 6, seed: int = 0) -> list[Path]:
    """The bundled article plus a few reshuffled copies with headings and acronym definitions."""
    rng = random.Random(seed)
    shutil.copy(ARTICLE, tmp / ARTICLE.name)
    blocks = [b for b in ARTICLE.read_text(encoding="utf-8").split("\n\n")[2:] if len(b.split()) > 8]
    for i in range(n_extra):
        parts = [f"Notes {i} on orbit"]
        for j, block in enumerate(rng.sample(blocks, min(8, len(blocks)))):
            if j % 3 == 0:
                parts.append(f"Part {j} about the Deep Space Network")
            parts.append(block)
        parts.append(
            f"The Deep Space Network (DSN) and the Lunar Gateway Station (LGS{i}) are new. "
            + rng.choice(AWKWARD[:4] + AWKWARD[7:10])
        )
        (tmp / f"notes-{i}.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return [tmp]


QUESTIONS = (
    "When will the ISS be deorbited?",
    "What is the DSN?",
    "Who leads Roscosmos?",
    "lunar orbital platform",
    "space station agreement",
    "edited paragraph marker sentence",
)


def age_files(folder: Path, seconds: float = 3600) -> None:
    """Date every file back, as files edited before the last build are (the reindex does not
    trust a file modified within a second of the build that read it)."""
    when = time.time() - seconds
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


def postings(reader: IndexReader) -> dict[str, tuple[list[int], list[int]]]:
    arrays = reader.bm25.to_arrays()
    utf8, toff = arrays["terms_utf8"].tobytes(), arrays["terms_offsets"]
    off, ids, tfs = arrays["term_offsets"], arrays["doc_ids"], arrays["tfs"]
    return {
        utf8[toff[i] : toff[i + 1]].decode(): (ids[off[i] : off[i + 1]].tolist(), tfs[off[i] : off[i + 1]].tolist())
        for i in range(len(toff) - 1)
    }


def table(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def assert_same_as_full_build(db: Path, full: Path) -> None:
    async def compare() -> None:
        a, b = await IndexReader.open(db), await IndexReader.open(full)
        try:
            n = b.bm25.n_docs
            assert a.bm25.n_docs == n
            assert await a.passages(range(n)) == await b.passages(range(n))
            assert np.array_equal(a.bm25.to_arrays()["doc_len"], b.bm25.to_arrays()["doc_len"])
            assert postings(a) == postings(b)
            assert a.acronyms.pairs == b.acronyms.pairs
            for question in QUESTIONS:
                terms = b.acronyms.expand(question.lower().split())
                assert a.bm25.top_k(terms, 10) == b.bm25.top_k(terms, 10)
            for key in ("documents", "passages", "terms", "avg_sentence_terms", "fingerprint"):
                assert a.info.meta[key] == b.info.meta[key], key
            # A stored passage is found by its id at its position.
            last = (await b.passages([n - 1]))[0]
            found = await a.passage_by_id(last.passage.id)
            assert found is not None and found.index == n - 1
        finally:
            await a.close()
            await b.close()

    asyncio.run(compare())
    docs = (
        "SELECT hash, path, title, author, url, kind, encoding, ord, n_passages, definitions, body_terms, "
        "n_sentences FROM documents ORDER BY ord"
    )
    assert table(db, docs) == table(full, docs)
    assert table(db, "SELECT * FROM files ORDER BY path") == table(full, "SELECT * FROM files ORDER BY path")


def full_build(corpus: Path, tmp_path: Path, params: IndexParams) -> Path:
    db = tmp_path / f"full-{time.monotonic_ns()}.sqlite3"
    result = rebuild_sync([corpus], db, params)
    assert not result.incremental
    return db


def awkward_corpus(folder: Path) -> None:
    corpus_documents(folder, n_extra=8)
    (folder / "copy.md").write_bytes((folder / "notes-3.md").read_bytes())  # identical text: kept once
    (folder / "empty.txt").write_text("\n\n   \n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01 not text")
    (folder / "awkward.txt").write_text(
        "\n\n".join(["Awkward text"] + [t for t in AWKWARD if t.strip()]), encoding="utf-8"
    )
    # A definition only in page furniture: its short form appears in no passage.
    (folder / "furniture.txt").write_text(
        "Station notes\n\nMenu Crew Station Flight (CSF)\n\nHome\n\n"
        "The crew docked with the station after a two day flight and began "
        "unloading supplies for the next science campaign.\n",
        encoding="utf-8",
    )
    (folder / "defs.md").write_text(
        "Definitions\n\nThe Russian Orbital Space Station (ROS) replaces the "
        "International Space Station (ISS) in orbit; the Russian Orbital Space "
        "Station will be smaller.\n",
        encoding="utf-8",
    )
