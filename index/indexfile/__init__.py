"""The index file, owned in one place: its schema, row codecs, writer, reader, lock and swap.

Nothing outside this package opens the index file or writes SQL against it: the builds write
through `IndexFileWriter` (a new file) and `IndexFilePatch` (a patched copy), inside
`replacing` (the temporary file, removed on any failure) under `build_lock`; the bot reads
through `IndexReader`; the side tables (source times, passage vectors, weights) and the
listings other modules need go through `tables`.
"""

from .digest import content_digest
from .patch import IndexFilePatch, PreviousIndex, StoredDocument, read_acronym_rows, read_previous
from .reader import IndexInfo, IndexReader, StoredPassage, read_generation, read_info
from .schema import APPLICATION_ID, SCHEMA_VERSION, index_meta, shaping_meta
from .swap import (
    build_lock,
    ensure_replaceable,
    install,
    raise_write_error,
    remove_stale_builds,
    replacing,
    temporary_path,
)
from .writer import IndexFileWriter

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "IndexFilePatch",
    "IndexFileWriter",
    "IndexInfo",
    "IndexReader",
    "PreviousIndex",
    "StoredDocument",
    "StoredPassage",
    "build_lock",
    "content_digest",
    "ensure_replaceable",
    "index_meta",
    "install",
    "raise_write_error",
    "read_acronym_rows",
    "read_generation",
    "read_info",
    "read_previous",
    "remove_stale_builds",
    "replacing",
    "shaping_meta",
    "temporary_path",
]
