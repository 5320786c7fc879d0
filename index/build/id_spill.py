"""The full build's per-document term ids, kept in a temporary file instead of in memory.

The parent keeps every passage's term ids (4 bytes a term) until all documents are in, because
acronyms are learned over the whole corpus before the BM25 arrays are built. At a million
passages that is ~400 MB, and it was still held when the posting arrays (another ~400 MB) were
allocated: most of the build's 1 GB peak, 4 GB at ten million. The ids are written once, in
document order, to an unnamed temporary file and read back a run of consecutive documents at a
time (the BM25 chunks are consecutive documents), twice; the page cache serves the second read.

The file is made in the index's own folder, not the system temp folder: there is room for the
index there, and /tmp is often a RAM-backed tmpfs, which would put the memory back. It has no
name (`tempfile.TemporaryFile`), so a build killed at any point leaves nothing behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np

_DTYPE = np.dtype(np.int32)


class TermIdSpill:
    """Append-only store of one int32 array per document; `read(first, last)` returns the ids
    of documents first..last (inclusive, consecutive) as one array. Use as a context manager."""

    def __init__(self, folder: Path) -> None:
        self._file = tempfile.TemporaryFile(dir=folder, prefix=".citebot-term-ids-")
        self._fd = self._file.fileno()
        self._starts: list[int] = [0]  # element offset of each document, and the end

    def __enter__(self) -> TermIdSpill:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._starts) - 1

    def append(self, ids: np.ndarray) -> None:
        """Store the next document's ids (written through at once; nothing is buffered here)."""
        data = np.ascontiguousarray(ids, dtype=_DTYPE).data.cast("B")
        at = self._starts[-1] * _DTYPE.itemsize
        while data:
            written = os.pwrite(self._fd, data, at)
            data, at = data[written:], at + written
        self._starts.append(self._starts[-1] + ids.size)

    def read(self, first: int, last: int) -> np.ndarray:
        """The ids of documents first..last, concatenated (a new array)."""
        lo, hi = self._starts[first] * _DTYPE.itemsize, self._starts[last + 1] * _DTYPE.itemsize
        out = bytearray(hi - lo)
        view = memoryview(out)
        while lo < hi:
            n = os.preadv(self._fd, [view], lo)
            if n == 0:
                raise OSError(f"term id spill file ended at byte {lo:,} of {hi:,}")
            view, lo = view[n:], lo + n
        return np.frombuffer(out, dtype=_DTYPE)

    def close(self) -> None:
        self._file.close()
