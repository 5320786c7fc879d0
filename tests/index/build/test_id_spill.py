"""build.id_spill: the full build's term ids kept in an unnamed temporary file read back as the
concatenation of any run of consecutive documents, leaving nothing in the index's folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from citebot.index.build.id_spill import TermIdSpill


def test_any_run_of_documents_reads_back_as_their_ids_concatenated(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    docs = [rng.integers(0, 2**31 - 1, size=int(n), dtype=np.int32) for n in rng.integers(0, 3000, size=60)]
    docs[7] = docs[7][:0]  # a document of no terms
    with TermIdSpill(tmp_path) as spill:
        for ids in docs:
            spill.append(ids)
        assert len(spill) == len(docs)
        assert list(tmp_path.iterdir()) == []  # the file has no name: a killed build leaves nothing
        for first, last in [
            (0, 59),
            (7, 7),
            (0, 0),
            (59, 59),
            *[sorted(rng.integers(0, 60, size=2)) for _ in range(40)],
        ]:
            got = spill.read(int(first), int(last))
            assert got.dtype == np.int32 and np.array_equal(got, np.concatenate(docs[first : last + 1]))
        # Reading twice (the build's two passes) gives the same again.
        assert np.array_equal(spill.read(0, 59), np.concatenate(docs))
    assert list(tmp_path.iterdir()) == []


def test_ids_of_another_integer_type_are_stored_as_int32(tmp_path: Path) -> None:
    with TermIdSpill(tmp_path) as spill:
        spill.append(np.arange(5, dtype=np.int64))
        spill.append(np.arange(3, dtype=np.uint16))
        assert spill.read(0, 1).tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
