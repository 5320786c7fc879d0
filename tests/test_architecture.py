"""The shape of the package: no import cycles, the library never imports the adapters or discord,
and the index file is opened only by its owner (`index/indexfile/`)."""

from __future__ import annotations

import re

from tests.support import import_graph


def test_there_are_no_import_cycles() -> None:
    edges = import_graph.graph()
    assert len(edges) > 80  # the walk found the package
    assert import_graph.cycles(edges) == []


def test_the_subpackages_form_a_chain() -> None:
    """analysis <- ingest <- indexfile and ranking <- answering and build: nothing below imports
    what is above it."""
    packages = import_graph.package_edges(import_graph.graph())
    below = {"citebot.index.analysis": set(), "citebot.index.ingest": {"citebot.index.analysis"}}
    for package, allowed in below.items():
        ours = {p for p in packages.get(package, set()) if p.startswith("index.") and p not in allowed}
        assert ours <= {
            "citebot.index.errors",
            "citebot.index.corpus_warnings",
            "citebot.index.run_sync",
            "citebot.index.file_guard",
        }, package
    for package in ("citebot.index.indexfile", "citebot.index.ranking"):
        assert not packages.get(package, set()) & {"citebot.index.build", "citebot.index.answering"}, package
    assert "citebot.index.indexfile" not in packages.get("citebot.index.ranking", set())


def test_the_library_never_imports_the_adapters_or_discord() -> None:
    for module, path in import_graph.modules().items():
        if not module.startswith("index"):
            continue
        names = set(import_graph.imported_names(module, path))
        assert not {n for n in names if n == "bot" or n.startswith("bot.")}, module
        assert not {n for n in names if n == "discord" or n.startswith("discord.")}, module


def test_only_the_indexfile_package_opens_the_index_file() -> None:
    """SQLite is opened by the index file's owner and by the bot's own state file, nowhere else."""
    owners = ("index/indexfile/", "bot/state/")
    for path in import_graph.modules().values():
        rel = path.relative_to(import_graph.ROOT).as_posix()
        if rel.startswith(owners):
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"sqlite3\.connect|aiosqlite\.connect|\.execute\(", text), rel
