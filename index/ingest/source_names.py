"""How a corpus file is named to people: relative to the corpus folder it was found under.

The index keeps each document's path as it was read (often absolute, e.g.
`/home/someone/bots/citebot/corpus/a.txt`), because a reindex needs it to find the file
again. Shown in a Discord channel, that path tells every member where the bot runs and as
whom. So citations name a file by the folder it was indexed from plus its path inside that
folder (`corpus/a.txt`), or by its own name when it was given directly.

The folders and files a build was given (its roots) are stored in the index's meta as JSON
(`corpus_roots`), so the reader can name files without knowing how the build was invoked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path, PurePath

META_KEY = "corpus_roots"


def root_labels(roots: Iterable[Path]) -> list[tuple[str, str]]:
    """(root as document paths spell it, the name shown for it) for each file or folder given.

    A folder is shown by its own name (`.` by the name of the folder it stands for), a file by
    its name: neither says where on the server it lies.
    """
    labels = []
    for root in roots:
        label = Path.cwd().name if str(root) in (".", "") else root.name
        if not label or label == "..":
            label = root.resolve().name
        labels.append((str(root), label))
    return labels


def encode_roots(roots: Iterable[Path]) -> str:
    """The `corpus_roots` meta value."""
    return json.dumps(root_labels(roots), ensure_ascii=False)


def decode_roots(value: str | None) -> list[tuple[str, str]]:
    """The roots stored by `encode_roots`, longest first (the deepest folder names a file)."""
    if not value:
        return []
    try:
        pairs = [(str(r), str(label)) for r, label in json.loads(value)]
    except (ValueError, TypeError):
        return []
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def shown_name(path: str, roots: Sequence[tuple[str, str]] = ()) -> str:
    """The name of the document at `path` as people see it (never an absolute path)."""
    # Every passage read from the index asks for its document's name; a large corpus's passages
    # come from few documents per question, and the path arithmetic costs ~30 us a call.
    return _shown_name(path, tuple(roots))


@lru_cache(maxsize=16_384)
def _shown_name(path: str, roots: tuple[tuple[str, str], ...]) -> str:
    # The common case without building paths: plainly spelt absolute paths, where "is below"
    # is "starts with"; anything else is left to pathlib.
    if not _plain(path):
        return _shown_name_slowly(path, roots)
    for root, label in roots:
        if path == root:
            return label
        if not _plain(root):
            return _shown_name_slowly(path, roots)
        if path.startswith(root + "/"):
            inside = path[len(root) + 1 :]
            return f"{label}/{inside}" if label else inside
    return _shown_name_slowly(path, roots)


def _plain(path: str) -> bool:
    """An absolute POSIX path with no empty, "." or ".." part and no trailing slash."""
    return (
        path.startswith("/")
        and len(path) > 1
        and not path.endswith("/")
        and "//" not in path
        and "/./" not in path
        and "/../" not in path
        and not path.endswith(("/.", "/.."))
    )


def _shown_name_slowly(path: str, roots: tuple[tuple[str, str], ...]) -> str:
    pure = PurePath(path)
    for root, label in roots:
        if path == root:
            return label
        if root in (".", "") and not pure.is_absolute() and ".." not in pure.parts:
            return str(PurePath(label, pure)) if label else path
        try:
            inside = pure.relative_to(root)
        except ValueError:
            continue
        return str(PurePath(label, inside))
    if os.path.isabs(path):
        return pure.name  # a path from no known root: its name only
    return path
