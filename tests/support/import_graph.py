"""The import graph of citebot's own modules, and its cycles.

Why a module of its own: "no import cycles" is a property of the whole tree that review cannot
see; `tests/test_architecture.py` asserts it, and anyone can print it:

    python tests/support/import_graph.py [--packages]

Every import counts: at module level and inside functions, and the package `__init__` modules an
import runs first (importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py`), which is where
package-level cycles hide.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("index", "bot")  # installed as citebot.index and citebot.bot


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name (without the `citebot.` prefix) -> file, for every module of index/ and bot/."""
    found = {}
    for top in TOPS:
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _ours(name: str) -> str:
    return name[len("citebot.") :] if name.startswith("citebot.") else name


def imported_names(module: str, path: Path, known: Iterable[str] = ()) -> Iterator[str]:
    """The dotted names `module` imports (absolute, without the `citebot.` prefix). `from pkg
    import sub` names `pkg.sub`, and `pkg` itself only when some name is not a module of `known`
    (`from . import tables` needs the submodule, not what the package's __init__ defines)."""
    known = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (_ours(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = _ours(node.module or "")
            subs = [f"{target}.{alias.name}" for alias in node.names]
            if not all(sub in known for sub in subs):
                yield target
            yield from subs


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module's edges to the modules it imports, and to the packages those imports run."""
    mods = modules(root)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        for name in imported_names(module, path, mods):
            if name not in mods or name == module:
                continue
            edges[module].add(name)
            parts = name.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in mods and not (module == parent or module.startswith(parent + ".")):
                    edges[module].add(parent)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def package_edges(edges: dict[str, set[str]], depth: int = 2) -> dict[str, set[str]]:
    """The same graph between subpackages (`index.ingest`, `bot.cli`, ...)."""
    out: dict[str, set[str]] = {}
    for a, targets in edges.items():
        pa = ".".join(a.split(".")[:depth])
        for b in targets:
            pb = ".".join(b.split(".")[:depth])
            if pa != pb:
                out.setdefault(pa, set()).add(pb)
    return out


def main(argv: list[str]) -> int:
    edges = graph()
    if "--packages" in argv:
        for a, targets in sorted(package_edges(edges).items()):
            print(f"{a} -> {', '.join(sorted(targets))}")
    found = cycles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} import edges, {len(found)} cycles")
    for component in found:
        print("  cycle:", " <-> ".join(component))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
