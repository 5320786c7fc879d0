"""The incremental reindex of an index that holds exactly one passage.

Why: the next passage row was taken as `MAX(idx) or -1`, so a kept passage at row 0 counted
as none and the first new passage collided with it (UNIQUE constraint failed: passages.idx):
adding a second article to a one-paragraph collection failed every time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.indexfile import IndexReader

ONE = "---\ntitle: Tomatoes\n---\n\nTomatoes\n\nCherry tomatoes grow well in pots on a sunny balcony all summer.\n"
TWO = "---\ntitle: Strawberries\n---\n\nStrawberries\n\nStrawberries in hanging baskets fruit from June onwards.\n"


def test_adding_a_document_to_a_one_passage_index(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tomatoes.md").write_text(ONE, encoding="utf-8")
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync([corpus], db, IndexParams())
    assert first.info.passages == 1
    (corpus / "strawberries.md").write_text(TWO, encoding="utf-8")  # sorts before the kept one
    second = rebuild_sync([corpus], db, IndexParams())
    assert second.incremental and second.reused == 1 and second.analysed == 1
    assert second.info.passages == 2 and second.info.generation == 2

    async def texts() -> list[str]:
        reader = await IndexReader.open(db)
        try:
            return sorted(p.passage.text for p in await reader.passages([0, 1]))
        finally:
            await reader.close()

    assert asyncio.run(texts()) == sorted([ONE.rsplit("\n\n", 1)[1].strip(), TWO.rsplit("\n\n", 1)[1].strip()])
