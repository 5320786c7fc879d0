"""Pausing Python's cyclic garbage collector around bulk work.

Building and patching an index allocate millions of small lists, strings and tuples that form
no reference cycles; every generation-2 collection walks all of them, and a py-spy profile of a
1M-passage reindex found ~1 s of such collections. The builds run with the collector off and
restore whatever state they found (the bot may run a build in a worker thread).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector off for the block, then back as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
