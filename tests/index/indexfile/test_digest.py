"""The index file's content is what it was: full == incremental, and the eval build is pinned.

`indexfile.content_digest` reads what a file means (documents, passages, postings by term
text, acronyms, files, meta less build times), so two builds that must agree can be compared
whole.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.evaluation import load_eval_set
from citebot.index.indexfile import content_digest
from tests.support.helpers import BUNDLED_ARTICLE, ROOT, assert_matches_reference, build_index_file_for

SQUAD = ROOT.parent / "shared" / "eval" / "squad"


def test_full_and_incremental_builds_of_the_bundled_corpus_have_one_digest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(BUNDLED_ARTICLE, corpus / BUNDLED_ARTICLE.name)
    (corpus / "notes.md").write_text(
        "# Notes\n\nThe Russian Orbital Station (ROS) is planned for the 2030s, "
        "after the crew leaves the old station.\n",
        encoding="utf-8",
    )
    old = time.time() - 3600  # older than the build by more than the clock-tick margin
    for f in corpus.iterdir():
        os.utime(f, (old, old))
    db = tmp_path / "index.sqlite3"
    rebuild_sync([corpus], db, IndexParams())
    # touched: same text, new mtime; the next build is incremental and must change nothing else
    touched = corpus / "notes.md"
    os.utime(touched, (old + 60, old + 60))
    result = rebuild_sync([corpus], db, IndexParams())
    assert result.incremental
    full = build_index_file_for([corpus], tmp_path, IndexParams(), "full.sqlite3")
    assert content_digest(db) == content_digest(full)


@pytest.mark.skipif(not SQUAD.is_dir(), reason=f"the SQuAD eval set is not at {SQUAD}")
def test_the_eval_build_of_squad_is_the_reference_build(tmp_path: Path) -> None:
    """`citebot eval` builds the SQuAD articles (in-memory documents) through the full build;
    what it stores is what the reference build gives (as the in-memory build did)."""
    documents = load_eval_set(SQUAD).documents
    assert documents
    db = build_index_file_for(documents, tmp_path)
    reference = assert_matches_reference(db, documents)
    # What the in-memory build of 7a47c38 wrote for these 24 articles (benchmarks/index_digest.py --eval).
    assert (len(documents), len(reference.passages), len(reference.bm25.idf)) == (24, 1141, 11042)
