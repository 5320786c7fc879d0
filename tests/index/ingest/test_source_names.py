"""Citations name files relative to the corpus folder they were found under, never by the
server's absolute path (`index.source_names`), in every reply and in `citebot ask`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from citebot.index.ingest.source_names import (
    _shown_name,
    _shown_name_slowly,
    decode_roots,
    encode_roots,
    shown_name,
)

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
CITEBOT = Path(sys.executable).with_name("citebot")


def names(path: str, *roots: Path) -> str:
    return shown_name(path, decode_roots(encode_roots(roots)))


def test_a_file_in_a_folder_is_named_from_that_folder() -> None:
    assert names("/srv/bots/citebot/corpus/a/b.md", Path("/srv/bots/citebot/corpus")) == "corpus/a/b.md"
    assert names("corpus/b.md", Path("corpus")) == "corpus/b.md"


def test_a_file_given_directly_is_named_by_its_name() -> None:
    assert names("/home/someone/notes/moon.txt", Path("/home/someone/notes/moon.txt")) == "moon.txt"


def test_the_deepest_root_names_a_file() -> None:
    roots = (Path("/data"), Path("/data/handbook"))
    assert names("/data/handbook/ch1.md", *roots) == "handbook/ch1.md"
    assert names("/data/news/x.txt", *roots) == "data/news/x.txt"


def test_a_path_under_no_root_shows_only_its_name() -> None:
    assert names("/var/lib/secret/place/a.txt", Path("/elsewhere")) == "a.txt"
    assert shown_name("/var/lib/secret/place/a.txt") == "a.txt"


def test_the_current_folder_as_root(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert names("sub/a.txt", Path(".")) == f"{tmp_path.name}/sub/a.txt"
    finally:
        os.chdir(cwd)


@given(
    st.lists(
        st.text(alphabet="abcxyz-_.", min_size=1, max_size=8).filter(lambda p: p not in (".", "..")),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.text(alphabet="abc", min_size=1, max_size=4), max_size=3),
)
def test_an_absolute_path_is_never_shown(parts: list[str], root_parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    root = Path("/" + "/".join(root_parts))
    assert not names(path, root).startswith("/")


def test_citebot_ask_shows_the_corpus_relative_name(tmp_path: Path) -> None:
    corpus = tmp_path / "deep" / "server" / "folder" / "articles"
    corpus.mkdir(parents=True)
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    db = tmp_path / "index.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CITEBOT), *a, "--db", str(db)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
        )

    assert run("index", str(corpus)).returncode == 0
    text = run("ask", "How long will the ISS keep operating?")
    assert text.returncode == 0, text.stderr
    assert f"(articles/{ARTICLE.name})" in text.stdout and str(tmp_path) not in text.stdout
    as_json = json.loads(run("ask", "How long will the ISS keep operating?", "--json").stdout)
    citation = as_json["passages"][0]["citation"]
    assert citation["path"] == str(corpus / ARTICLE.name)  # the full path stays for scripts
    assert citation["name"] == f"articles/{ARTICLE.name}" and str(tmp_path) not in citation["label"]
    # An incremental reindex keeps naming files the same way.
    (corpus / "extra.md").write_text("# Extra\n\nThe Moon base has a greenhouse for lettuce.\n", encoding="utf-8")
    assert "Updated:" in run("index", str(corpus)).stdout
    lettuce = json.loads(run("ask", "Where does the lettuce grow?", "--json").stdout)
    assert lettuce["passages"][0]["citation"]["name"] == "articles/extra.md"


_PARTS = st.sampled_from(["a", "b", "c.txt", "bc", ".", "..", "", "ü d"])
_PATHS = st.builds(
    lambda parts, slash: "/" + "/".join(parts) + slash,
    st.lists(_PARTS, min_size=1, max_size=4),
    st.sampled_from(["", "/"]),
) | st.sampled_from(["rel/p.txt", "a/b", "."])


@settings(max_examples=300, deadline=None)
@given(path=_PATHS, roots=st.lists(st.tuples(_PATHS, st.sampled_from(["", "corpus", "docs/site"])), max_size=3))
def test_the_fast_name_is_the_pathlib_name(path: str, roots: list[tuple[str, str]]) -> None:
    # shown_name's string shortcut for plainly spelt paths gives what the pathlib rule gives.
    assert _shown_name(path, tuple(roots)) == _shown_name_slowly(path, tuple(roots))
