"""`citebot index` after a few files changed patches a copy of the index instead of rebuilding,
and the file it writes answers exactly as a full build of the same corpus does.

Compared, for every BM25 position: the stored passage, its sentence spans and sentence terms;
the documents and their build facts in build order; the BM25 postings of every term, document
lengths, hence bit-identical scores and rankings; the acronyms; and the index's description.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.corpus_warnings import WarningKind
from tests.support.corpora import age_files, assert_same_as_full_build, corpus_documents, full_build, table


@pytest.mark.parametrize("context_weight", [1, 0])
def test_reindex_after_edits_patches_and_equals_a_full_build(tmp_path: Path, context_weight: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    corpus_documents(corpus, n_extra=8)
    (corpus / "copy-of-notes-1.md").write_bytes((corpus / "notes-1.md").read_bytes())  # a duplicate
    age_files(corpus)
    db = tmp_path / "index.sqlite3"
    params = IndexParams(context_weight=context_weight)
    first = rebuild_sync([corpus], db, params)
    assert not first.incremental
    assert any(w.kind == WarningKind.DUPLICATE and "same text as" in str(w) for w in first.warnings)

    # Edit one document (longer: every later position shifts), add one, remove one, touch one.
    changed = corpus / "notes-2.md"
    changed.write_text(
        changed.read_text(encoding="utf-8").replace(
            "\n\n",
            "\n\nAn edited paragraph marker sentence about the Deep Space Network, long enough to stand alone "
            "as its own paragraph of the document.\n\n",
            1,
        ),
        encoding="utf-8",
    )
    (corpus / "notes-new.md").write_text(
        "New notes\n\nThe Deep Space Network answered the space station today, said the agency's statement.\n",
        encoding="utf-8",
    )
    (corpus / "notes-5.md").unlink()
    os.utime(corpus / "notes-3.md")
    age_files(corpus)

    second = rebuild_sync([corpus], db, params)
    assert second.incremental
    # notes-2 and notes-new analysed; notes-3 was only touched; notes-5 is gone.
    assert (second.analysed, second.removed) == (2, 1)
    assert second.reused == second.info.documents - 2
    assert second.info.generation == first.info.generation + 1
    assert any(w.kind == WarningKind.DUPLICATE and "same text as" in str(w) for w in second.warnings)
    assert_same_as_full_build(db, full_build(corpus, tmp_path, params))

    # Again on the patched file (positions now map to rows out of order): remove the original
    # of the duplicate, so its copy takes its place, and shorten the first document.
    (corpus / "notes-1.md").unlink()
    article = corpus / "nasa-roscosmos-2025.txt"
    article.write_text(article.read_text(encoding="utf-8").split("\n\n", 6)[-1][:3000] + "\n", encoding="utf-8")
    age_files(corpus)
    third = rebuild_sync([corpus], db, params)
    assert third.incremental
    assert_same_as_full_build(db, full_build(corpus, tmp_path, params))

    # Nothing changed: still a valid index, identical again.
    fourth = rebuild_sync([corpus], db, params)
    assert fourth.incremental and (fourth.analysed, fourth.removed) == (0, 0)
    assert_same_as_full_build(db, full_build(corpus, tmp_path, params))


def test_a_new_acronym_definition_rebuilds_in_full(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    corpus_documents(corpus, n_extra=4)
    age_files(corpus)
    db = tmp_path / "index.sqlite3"
    rebuild_sync([corpus], db, IndexParams())
    notes = corpus / "notes-0.md"
    notes.write_text(
        notes.read_text(encoding="utf-8") + "\nThe Lunar Orbital Platform (LOP) docks.\n", encoding="utf-8"
    )
    age_files(corpus)
    result = rebuild_sync([corpus], db, IndexParams())
    assert not result.incremental  # "lop" now expands passages of other documents too
    assert_same_as_full_build(db, full_build(corpus, tmp_path, IndexParams()))


def test_a_file_changed_within_the_builds_second_is_read_again(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    corpus_documents(corpus, n_extra=3)
    db = tmp_path / "index.sqlite3"
    rebuild_sync([corpus], db, IndexParams())  # files written just now: not trusted by mtime
    notes = corpus / "notes-1.md"
    stat = notes.stat()
    text = notes.read_text(encoding="utf-8")
    notes.write_text(text.replace("Notes 1", "Memo 1", 1), encoding="utf-8")  # same size
    os.utime(notes, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    rebuild_sync([corpus], db, IndexParams())
    assert "Memo 1" in table(db, "SELECT title FROM documents WHERE path LIKE '%notes-1.md'")[0][0]
