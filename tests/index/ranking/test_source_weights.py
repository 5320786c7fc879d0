"""corpus.exclude and corpus.weights: files left out and counted, sources weighed at query time.

The docs folder written here is the case the weights exist for: a one-line release note
repeats the question's words and outranks the tutorial paragraph that answers, until the
release notes weigh 0.5. The weights live in the index (`documents.weight`), so the tests also
check that changing them re-analyses nothing and gives the index a full build gives, that a
weight of 1 changes no score, and that the weighted retrieval is exactly the best BM25 score
times weight (against a brute-force ranking of every passage).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from citebot.index.answering.answerer import Answerer
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import WarningKind, summarise
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.source_rules import SourceRules, SourceWeight, compile_glob, relative_name
from citebot.index.ranking.bm25 import BM25Params
from citebot.index.ranking.source_weights import weighted_top_k
from tests.support.helpers import bm25_index, build_index_file_for, citebot_command

QUESTION = "How do I set a timeout on the client?"
TUTORIAL = """# Timeouts

HTTPX is careful to enforce timeouts everywhere by default. The default behaviour is to raise a timeout error \
after five seconds of network inactivity, so a server that never answers cannot hang your program.

## Setting a timeout

You can set a timeout for a single request by passing `timeout` to the request method. To set a default for \
every request, create the client with a timeout, for example `httpx.Client(timeout=10.0)`, and each request it \
sends then waits at most ten seconds before it gives up. Pass `timeout=None` to turn timeouts off completely.
"""
RELEASE_NOTES = """# Release notes

## 0.9.0

- Set a timeout on the client.
- Fixed proxy URLs with credentials.

## 0.8.0

- Client redirects keep the request method.
- Added HTTP/2 support for the client.
"""
HALF = SourceRules(weights=(SourceWeight("release-notes.md", 0.5),))


def age(folder: Path) -> None:
    """Date the files back (a reindex trusts no file modified within a second of a build)."""
    when = time.time() - 3600
    for path in folder.rglob("*"):
        os.utime(path, (when, when))


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tutorial.md").write_text(TUTORIAL, encoding="utf-8")
    (folder / "release-notes.md").write_text(RELEASE_NOTES, encoding="utf-8")
    age(folder)
    return folder


def answers(db: Path, *questions: str) -> list:
    async def run() -> list:
        reader = await IndexReader.open(db)
        try:
            answerer = Answerer(reader)
            return [await answerer.ask(q) for q in questions]
        finally:
            await reader.close()

    return asyncio.run(run())


def weights_of(db: Path) -> list[tuple[str, float]]:
    with sqlite3.connect(db) as conn:
        return [(Path(p).name, w) for p, w in conn.execute("SELECT path, weight FROM documents ORDER BY ord")]


def test_a_release_note_outranks_the_tutorial_until_it_weighs_half(docs: Path, tmp_path: Path) -> None:
    plain, weighted = tmp_path / "plain.sqlite3", tmp_path / "weighted.sqlite3"
    rebuild_sync([docs], plain, IndexParams())
    rebuild_sync([docs], weighted, IndexParams(sources=HALF))

    [before] = answers(plain, QUESTION)
    assert before.hits[0].passage.citation.display_name == "docs/release-notes.md"  # the problem

    [after] = answers(weighted, QUESTION)
    assert after.answered
    assert after.hits[0].passage.citation.display_name == "docs/tutorial.md"
    assert "httpx.Client(timeout=10.0)" in after.answer
    # Demoted, not dropped: the note is still shown below, at half its score.
    note = next(h for h in after.hits if h.passage.citation.display_name == "docs/release-notes.md")
    first = next(h for h in before.hits if h.passage.id == note.passage.id)
    assert note.score == pytest.approx(first.score * 0.5)
    assert weights_of(weighted) == [("release-notes.md", 0.5), ("tutorial.md", 1.0)]


def test_weight_one_changes_no_score(docs: Path, tmp_path: Path) -> None:
    plain, ones = tmp_path / "plain.sqlite3", tmp_path / "ones.sqlite3"
    rebuild_sync([docs], plain, IndexParams())
    rebuild_sync([docs], ones, IndexParams(sources=SourceRules(weights=(SourceWeight("*", 1.0),))))
    with sqlite3.connect(ones) as conn:
        assert dict(conn.execute("SELECT key, value FROM meta"))["weighted_documents"] == "0"
    questions = (QUESTION, "HTTP/2 support", "proxy credentials", "how long until a request gives up?")
    assert [a.to_json() for a in answers(ones, *questions)] == [a.to_json() for a in answers(plain, *questions)]

    async def loaded() -> object:
        reader = await IndexReader.open(ones)
        await reader.close()
        return reader.weights

    assert asyncio.run(loaded()) is None  # nothing to multiply: scored exactly as without weights


def test_changing_weights_re_analyses_nothing_and_equals_a_full_build(docs: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    assert not rebuild_sync([docs], db, IndexParams()).incremental

    changed = rebuild_sync([docs], db, IndexParams(sources=HALF))
    assert changed.incremental and (changed.analysed, changed.removed) == (0, 0)
    full = tmp_path / "full.sqlite3"
    rebuild_sync([docs], full, IndexParams(sources=HALF))
    assert weights_of(db) == weights_of(full)
    assert [a.to_json() for a in answers(db, QUESTION)] == [a.to_json() for a in answers(full, QUESTION)]
    assert answers(db, QUESTION)[0].hits[0].passage.citation.display_name == "docs/tutorial.md"

    back = rebuild_sync([docs], db, IndexParams())
    assert back.incremental and back.analysed == 0
    assert [w for _, w in weights_of(db)] == [1.0, 1.0]
    assert answers(db, QUESTION)[0].hits[0].passage.citation.display_name == "docs/release-notes.md"


def test_the_eval_build_weighs_too(docs: Path, tmp_path: Path) -> None:
    """`citebot eval --corpus` builds through the same build as `citebot index`, weights included."""
    db = build_index_file_for([docs], tmp_path, IndexParams(sources=HALF), "eval.sqlite3")
    assert weights_of(db) == [("release-notes.md", 0.5), ("tutorial.md", 1.0)]
    assert answers(db, QUESTION)[0].hits[0].passage.citation.display_name == "docs/tutorial.md"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weighted_top_k_is_the_best_score_times_weight(seed: int) -> None:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(40)]
    docs = [[rng.choice(words[: rng.randint(5, 40)]) for _ in range(rng.randint(1, 30))] for _ in range(400)]
    bm25 = bm25_index(docs, BM25Params(k1=0.7, b=0.9))
    weights = np.array([rng.choice([0.25, 0.5, 1.0, 1.0, 1.0, 2.0]) for _ in docs])
    for _ in range(30):
        query = rng.sample(words, rng.randint(1, 4))
        scores = bm25.scores(query, range(len(docs)))
        expected = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-(scores[i] * weights[i]), i))
        for k in (1, 3, 10, 50):
            got = weighted_top_k(bm25, query, k, weights)
            assert [h.index for h in got] == expected[:k]
            assert [h.score for h in got] == [scores[i] for i in expected[:k]]  # BM25's own scores


def corpus_tree(root: Path) -> Path:
    corpus = root / "corpus"
    for name in (
        "guide/setup.md",
        "guide/drafts/idea.md",
        "drafts/plan.md",
        "drafts/old/notes.md",
        "notes.tmp.md",
        "guide/CHANGELOG.md",
        "drafts/scan.pdf",
    ):
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        stem = path.stem.replace(".", " ")
        path.write_text(
            f"# {stem}\n\nThe {stem} page explains the {stem} steps that a reader follows in order.\n", encoding="utf-8"
        )
    return corpus


def test_exclude_leaves_files_out_and_counts_them(tmp_path: Path) -> None:
    corpus = corpus_tree(tmp_path)
    rules = SourceRules(exclude=("drafts/**", "*.tmp.md"))
    result = rebuild_sync([corpus], tmp_path / "index.sqlite3", IndexParams(sources=rules))
    with sqlite3.connect(result.info.path) as conn:
        indexed = sorted(Path(p).relative_to(corpus).as_posix() for (p,) in conn.execute("SELECT path FROM documents"))
    # "drafts/**" is the top folder only; guide/drafts/ is another folder.
    assert indexed == ["guide/CHANGELOG.md", "guide/drafts/idea.md", "guide/setup.md"]
    excluded = sorted(
        Path(w.path).relative_to(corpus).as_posix() for w in result.warnings if w.kind is WarningKind.EXCLUDED
    )
    # The excluded PDF is counted as excluded, not as a file of an unsupported kind.
    assert excluded == ["drafts/old/notes.md", "drafts/plan.md", "drafts/scan.pdf", "notes.tmp.md"]
    assert not [w for w in result.warnings if w.kind is WarningKind.UNSUPPORTED]
    assert summarise(result.warnings) == ["4 files excluded by corpus.exclude; --verbose lists them"]
    assert "drafts/plan.md: excluded by corpus.exclude ('drafts/**')" in " ".join(summarise(result.warnings, True))


def test_a_file_named_by_itself_is_read_whatever_exclude_says(tmp_path: Path) -> None:
    corpus = corpus_tree(tmp_path)
    rules = SourceRules(exclude=("*.tmp.md",))
    documents, _ = load_corpus([corpus / "notes.tmp.md"], rules=rules)
    assert [Path(d.path).name for d in documents] == ["notes.tmp.md"]
    db = build_index_file_for([corpus / "notes.tmp.md"], tmp_path, IndexParams(sources=rules))
    assert weights_of(db) == [("notes.tmp.md", 1.0)]


def test_excluding_more_later_removes_documents_in_place(tmp_path: Path) -> None:
    corpus = corpus_tree(tmp_path)
    age(corpus)
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync([corpus], db, IndexParams())
    assert first.info.documents == 6
    second = rebuild_sync([corpus], db, IndexParams(sources=SourceRules(exclude=("guide/drafts/",))))
    assert second.incremental and (second.analysed, second.removed) == (0, 1)
    assert second.info.documents == 5


@pytest.mark.parametrize(
    "pattern, path, matches",
    [
        ("drafts/**", "drafts/a.md", True),
        ("drafts/**", "drafts/x/a.md", True),
        ("drafts/**", "x/drafts/a.md", False),
        ("drafts/", "x/drafts/a.md", True),
        ("*.tmp.md", "a/b/c.tmp.md", True),
        ("*.tmp.md", "c.md", False),
        ("changelog*", "docs/CHANGELOG.md", True),
        ("changelog*", "changelog/x.md", False),
        ("a/**/b.md", "a/b.md", True),
        ("a/**/b.md", "a/x/y/b.md", True),
        ("docs/*.md", "docs/x/a.md", False),
        ("/top.md", "top.md", True),
        ("/top.md", "x/top.md", False),
        ("[!a]*.md", "b.md", True),
        ("[!a]*.md", "a.md", False),
    ],
)
def test_glob_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_glob(pattern).fullmatch(path)) is matches


def test_what_patterns_are_matched_against() -> None:
    roots = ["/srv/docs", "/srv/docs/api", "/srv/one.md"]
    assert relative_name("/srv/docs/guide/a.md", "md", roots) == "guide/a.md"
    assert relative_name("/srv/docs/api/b.md", "md", roots) == "b.md"  # the deepest root names it
    assert relative_name("/srv/one.md", "md", roots) == "one.md"
    assert relative_name("https://example.org/docs/changelog/", "url", roots) == "docs/changelog"


@pytest.mark.parametrize("bad", ["", "[ab"])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        SourceRules(exclude=(bad,))


@pytest.mark.parametrize("weight", [0, -1, 11])
def test_weights_out_of_range_are_refused(weight: float) -> None:
    with pytest.raises(ValueError, match="corpus.exclude"):
        SourceWeight("*", weight)


def test_config_shapes_and_the_cli(docs: Path, tmp_path: Path) -> None:
    """[[corpus.weights]] tables and corpus.exclude in a real config, through `citebot`."""
    (docs / "scratch.tmp.md").write_text(
        "# Scratch\n\nSet a timeout on the client, the client timeout, timeout.\n", encoding="utf-8"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        '[corpus]\npaths = ["docs"]\nexclude = ["*.tmp.md"]\n\n[[corpus.weights]]\n'
        'pattern = "release-notes.md"\nweight = 0.5\n\n[index]\ndb = "index.sqlite3"\n',
        encoding="utf-8",
    )
    command = citebot_command()
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))

    def citebot(command_name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command + [command_name, "--config", str(config), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = citebot("index")
    assert done.returncode == 0, done.stderr
    assert "scratch.tmp.md: excluded by corpus.exclude ('*.tmp.md')" in done.stderr
    asked = json.loads(citebot("ask", "--json", QUESTION).stdout)
    assert asked["passages"][0]["citation"]["name"] == "docs/tutorial.md"

    config.write_text(config.read_text(encoding="utf-8").replace("weight = 0.5", "weight = 0"), encoding="utf-8")
    refused = citebot("index")
    assert refused.returncode == 2
    assert "corpus.weights entry 1" in refused.stderr and "Traceback" not in refused.stderr
