"""Citebot installs one top-level package, `citebot`; the folders index/ and bot/ are its parts."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed_and_nothing_else() -> None:
    """pyproject's explicit package list (package-dir maps citebot.index -> index/, citebot.bot ->
    bot/) names every folder with an __init__.py: a new subpackage missing from it would be left
    out of a normal install while an editable one still worked."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setup["package-dir"] == {"citebot.index": "index", "citebot.bot": "bot", "citebot.corpus": "corpus"}
    folders = {
        "citebot." + ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("index", "bot")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert set(setup["packages"]) == folders | {"citebot.corpus"}
    assert all(name.startswith("citebot.") for name in setup["packages"])


def test_the_installed_package_imports_from_any_folder_without_index_or_bot(tmp_path: Path) -> None:
    """From a folder that is not the repository, `citebot` imports, and no top-level `index` or
    `bot` module exists or gets imported (another package of that name would clash)."""
    code = (
        "import importlib.util, sys, citebot.index.answering, citebot.bot.cli.main, citebot.bot.discord.client\n"
        "print(importlib.util.find_spec('index'), importlib.util.find_spec('bot'),"
        " sorted(m for m in sys.modules if m.split('.')[0] in ('index', 'bot')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "None", "[]"]
