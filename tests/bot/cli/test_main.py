"""The `citebot` command end to end: real subprocesses, temporary configs and index files, run
from a folder that is neither the project nor the config's folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from citebot.index.indexfile import read_info
from citebot.index.ingest.loading import load_document
from citebot.index.ingest.passages import split_document
from tests.support.helpers import citebot_command

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
EVAL = Path(__file__).resolve().parents[4] / "shared" / "eval"
SUMMARY = re.compile(
    r"^Indexed (\d+) documents into (\d+) passages, (\d+) terms, in (\d+\.\d+) s \(generation (\d+)\) -> (.+)$"
)


@dataclass
class Cli:
    """A sandbox: corpus, config folder, an unrelated working folder, and a clean environment."""

    root: Path
    corpus: Path
    config: Path
    cwd: Path
    env: dict[str, str]

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            citebot_command() + list(args),
            cwd=self.cwd,
            env=env or self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def write_config(self, name: str, text: str) -> Path:
        path = self.root / "conf" / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    conf = tmp_path / "conf"
    conf.mkdir()
    config = conf / "config.toml"
    # Relative paths are relative to the config file's folder, not to the working folder.
    config.write_text('[corpus]\npaths = ["../corpus"]\n\n[index]\ndb = "data/index.sqlite3"\n', encoding="utf-8")
    (conf / "data").mkdir()  # an index path the user chose must have its folder (see test_index_needs_its_folder)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return Cli(tmp_path, corpus, config, cwd, env)


@pytest.fixture(scope="module")
def built_db(tmp_path_factory) -> Path:
    """An index of the bundled article written by `citebot index`, copied by tests that need one."""
    folder = tmp_path_factory.mktemp("cli-built")
    db = folder / "index.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(HOME=str(folder / "home"), XDG_DATA_HOME=str(folder / "xdg"))
    done = subprocess.run(
        citebot_command() + ["index", "--db", str(db), str(ARTICLE)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return db


def existing_db(cli: Cli, built_db: Path) -> Path:
    db = cli.root / "db" / "index.sqlite3"
    db.parent.mkdir(exist_ok=True)
    shutil.copy(built_db, db)
    return db


def one_json(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, stdout
    return json.loads(lines[0])


# ---------------------------------------------------------------------------------------------
# citebot index


def test_index_needs_its_folder_and_says_so_in_one_line(cli):
    for db in (cli.root / "missing" / "index.sqlite3", Path("/proc/citebot-test/index.sqlite3")):
        done = cli.run("index", str(cli.corpus), "--db", str(db), "--config", str(cli.config))
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("citebot: error: ") and str(db.parent) in line, line
        assert not db.parent.exists() or not db.exists()
    assert not (cli.root / "missing").exists()


def test_index_prints_the_summary(cli):
    (cli.root / "out").mkdir()
    db = cli.root / "out" / "index.sqlite3"
    done = cli.run("index", str(cli.corpus), "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    documents, passages, terms, seconds, generation, path = match.groups()
    info = read_info(db)
    expected_passages = len(split_document(load_document(ARTICLE)))
    assert int(documents) == info.documents == 1
    assert int(passages) == info.passages == expected_passages
    assert int(terms) == info.terms > 100
    assert 0 <= float(seconds) < 60
    assert int(generation) == info.generation == 1
    assert Path(path).resolve() == db.resolve()
    assert list(cli.cwd.iterdir()) == []  # nothing written into the working folder

    again = cli.run("index", str(cli.corpus), "--db", str(db), "--config", str(cli.config))
    assert again.returncode == 0 and "(generation 2)" in again.stdout


def test_index_from_the_config_named_by_citebot_config(cli):
    env = dict(cli.env, CITEBOT_CONFIG=str(cli.config))
    done = cli.run("index", env=env)
    assert done.returncode == 0, done.stderr
    db = cli.config.parent / "data" / "index.sqlite3"
    assert db.is_file()
    assert read_info(db).documents == 1
    assert list(cli.cwd.iterdir()) == []


def test_config_precedence_flag_then_env_then_working_folder(cli):
    for name in ("flag", "env", "local"):
        cli.write_config(f"{name}.toml", f'[index]\ndb = "{name}.sqlite3"\n')
    shutil.copy(cli.root / "conf" / "local.toml", cli.cwd / "config.toml")
    env = dict(cli.env, CITEBOT_CONFIG=str(cli.root / "conf" / "env.toml"))

    assert cli.run("index", str(cli.corpus), "--config", str(cli.root / "conf" / "flag.toml"), env=env).returncode == 0
    assert (cli.root / "conf" / "flag.sqlite3").is_file()
    assert cli.run("index", str(cli.corpus), env=env).returncode == 0
    assert (cli.root / "conf" / "env.sqlite3").is_file()
    assert cli.run("index", str(cli.corpus)).returncode == 0
    assert (cli.cwd / "local.sqlite3").is_file()  # ./config.toml, its paths relative to cwd
    assert not (cli.root / "xdg-data").exists()


def test_index_of_an_empty_folder_fails_and_keeps_the_old_index(cli, built_db):
    db = existing_db(cli, built_db)
    before = db.read_bytes()
    empty = cli.root / "empty"
    empty.mkdir()
    done = cli.run("index", str(empty), "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 2
    assert "citebot: error: no documents could be indexed from" in done.stderr
    assert str(empty) in done.stderr
    assert "Traceback" not in done.stderr
    assert db.read_bytes() == before


def test_index_of_unreadable_files_names_each_file(cli, built_db):
    db = existing_db(cli, built_db)
    before = db.read_bytes()
    junk = cli.root / "junk"
    junk.mkdir()
    (junk / "binary.txt").write_bytes(b"\x00\x01\x02 binary")
    (junk / "latin1.txt").write_bytes("caf\xe9 au lait, a sentence long enough to be read as prose.".encode("latin-1"))
    (junk / "notes.pdf").write_bytes(b"%PDF-1.4")
    done = cli.run("index", str(junk), "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 2
    assert "binary.txt" in done.stderr and "latin1.txt" in done.stderr
    assert "Traceback" not in done.stderr
    assert db.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# citebot ask


@pytest.fixture(scope="module")
def head_of_roscosmos(built_db, tmp_path_factory) -> subprocess.CompletedProcess[str]:
    """`citebot ask "Who is the head of Roscosmos?" --json`, run once from an unrelated folder."""
    folder = tmp_path_factory.mktemp("ask-head")
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(HOME=str(folder / "home"), XDG_DATA_HOME=str(folder / "xdg"))
    db = folder / "index.sqlite3"
    shutil.copy(built_db, db)
    config = folder / "config.toml"
    config.write_text("[answer]\ntop_k = 3\n", encoding="utf-8")
    return subprocess.run(
        citebot_command()
        + ["ask", "Who is the head of Roscosmos?", "--json", "--db", str(db), "--config", str(config)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ask_json_about_the_head_of_roscosmos(head_of_roscosmos):
    done = head_of_roscosmos
    assert done.returncode == 0, done.stderr
    out = one_json(done.stdout)
    assert out["question"] == "Who is the head of Roscosmos?"
    assert set(out) == {"question", "answered", "answer", "searched_for", "corrections", "passages"}
    assert out["searched_for"] is None and out["corrections"] == []
    assert len(out["passages"]) == 3
    # Paragraph 5: "a Roscosmos delegation, headed by General Director Dmitry Bakanov".
    assert any("Dmitry Bakanov" in p["text"] for p in out["passages"])


def test_ask_json_top_passage_names_the_head_of_roscosmos(head_of_roscosmos):
    # Fails at commit b637076 (a bug): paragraph 11 ("...the heads of Roscosmos and NASA was
    # particularly significant...", which names nobody) ranked first and its sentence was the
    # answer. Passes with the working tree's uncommitted name cue in index/rerank.py.
    out = one_json(head_of_roscosmos.stdout)
    assert "Dmitry Bakanov" in out["passages"][0]["text"]
    assert out["answered"] and "Bakanov" in out["answer"]


def test_ask_reads_questions_from_stdin(cli, built_db):
    db = existing_db(cli, built_db)
    questions = ["How long will the ISS keep operating?", "What is JAXA?", "Who painted the Mona Lisa?"]
    stdin = questions[0] + "\n\n   \n" + questions[1] + "\n" + questions[2] + "\n"
    done = cli.run("ask", "-", "--json", "--db", str(db), "--config", str(cli.config), stdin=stdin)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3
    objects = [json.loads(line) for line in lines]
    assert [o["question"] for o in objects] == questions
    assert objects[0]["answered"] and objects[0]["passages"][0]["citation"]["paragraphs"] == [7, 7]
    assert objects[1]["answered"] and objects[1]["passages"][0]["citation"]["paragraphs"] == [9, 9]
    assert objects[2]["answered"] is False and objects[2]["answer"] is None


def test_ask_builds_a_missing_index_at_the_default_location_only(cli):
    config = cli.write_config("default-db.toml", '[corpus]\npaths = ["../corpus"]\n')
    db = cli.root / "xdg-data" / "citebot" / "index.sqlite3"
    assert not db.parent.exists()
    done = cli.run("ask", "How long will the ISS keep operating?", "--json", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "No index yet" in done.stderr
    assert db.is_file()
    out = one_json(done.stdout)
    assert out["answered"] is True
    assert out["passages"][0]["citation"]["paragraphs"] == [7, 7]
    assert "until 2028" in out["answer"]


def test_ask_on_a_missing_configured_index_says_how_to_build_it(cli):
    db = cli.config.parent / "data" / "index.sqlite3"
    done = cli.run("ask", "How long will the ISS keep operating?", "--json", "--config", str(cli.config))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"no index at {db}" in line and "citebot index --db" in line, line
    assert done.stdout == "" and not db.exists()


def test_ask_with_a_mistyped_db_builds_nothing(cli):
    db = cli.root / "conf" / "data" / "indx.sqlite3"
    env = dict(cli.env, CITEBOT_CONFIG=str(cli.config))
    done = cli.run("ask", "What is JAXA?", "--json", "--db", str(db), env=env)
    assert done.returncode == 2, done.stderr
    assert "citebot index --db" in done.stderr and str(db) in done.stderr
    assert not db.exists() and sorted(p.name for p in db.parent.iterdir()) == []


def test_ask_plain_text_output(cli, built_db):
    db = existing_db(cli, built_db)
    done = cli.run("ask", "How long will the ISS keep operating?", "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Answer: ")
    assert "Sources:" in done.stdout and "¶7" in done.stdout


def test_ask_says_what_it_searched_for_a_misspelt_word(cli, built_db):
    db = existing_db(cli, built_db)
    done = cli.run("ask", "Who is the head of Roscomsos?", "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    assert first == "(searched for: Who is the head of Roscosmos?)"
    assert second.startswith("Answer: ") and "Bakanov" in second
    done = cli.run("ask", "Who is the head of Roscomsos?", "--json", "--db", str(db), "--config", str(cli.config))
    out = one_json(done.stdout)
    assert out["searched_for"] == "Who is the head of Roscosmos?"
    assert out["corrections"] == [{"typed": "Roscomsos", "searched": "Roscosmos"}]


@pytest.mark.parametrize("value", ["26"])
def test_ask_rejects_top_k_out_of_range(cli, built_db, value):
    db = existing_db(cli, built_db)
    done = cli.run("ask", "What is JAXA?", "--top-k", value, "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 2
    assert "--top-k must be between 1 and 25" in done.stderr


def test_ask_on_a_damaged_index_is_a_clear_error(cli):
    db = cli.root / "bad.sqlite3"
    db.write_bytes(b"not an index at all\n" * 200)
    done = cli.run("ask", "What is JAXA?", "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 2
    assert "citebot index" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------
# Invalid settings


UNNAMED_KEY = "BUG: the range check's message names an internal name instead of the config key"

INVALID = [
    pytest.param('[index]\nk1 = "x"\n', "index.k1", id="k1-string"),
    pytest.param("[index]\nfoo = 1\n", "index.foo", id="unknown-key"),
    pytest.param('[discord]\ntoken = "abc.def"\n', "discord.token", id="discord-token"),
    pytest.param("[answer]\ntop_k = 1.5\n", "answer.top_k", id="top_k-float"),
    pytest.param("[index]\ncontext_weight = 11\n", "index.context_weight", id="context_weight-range"),
    pytest.param('[log]\nlevel = "LOUD"\n', "log.level", id="log-level"),
    pytest.param("[index\n", "not valid TOML", id="bad-toml"),
    pytest.param("[index]\nk1 = -1\n", "index.k1", id="k1-negative"),
    pytest.param("[index]\nb = 2\n", "index.b", id="b-range"),
    pytest.param("[index]\nmax_words = 5\n", "index.max_words", id="max_words-range"),
    pytest.param("[index]\njoin_below = 500\n", "index.join_below", id="join_below-range"),
    pytest.param("[corpus]\nmax_file_mb = -1\n", "corpus.max_file_mb", id="max_file_mb-negative"),
    pytest.param('[answer]\ncorrect_typos = "yes"\n', "answer.correct_typos", id="correct_typos-string"),
    pytest.param("[answer]\nenglish_prior = -1\n", "answer.english_prior", id="english_prior-negative"),
    pytest.param('[corpus]\nexclude = "drafts/**"\n', "corpus.exclude", id="exclude-not-a-list"),
    pytest.param('[corpus]\nexclude = ["[ab"]\n', "corpus.exclude", id="exclude-bad-pattern"),
    pytest.param('[[corpus.weights]]\npattern = "changelog*"\n', "corpus.weights entry 1", id="weights-no-weight"),
    pytest.param(
        '[[corpus.weights]]\npattern = "changelog*"\nweight = 0\n', "corpus.weights entry 1", id="weights-zero"
    ),
]


@pytest.fixture(scope="module")
def invalid_config_runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """`citebot index` under each invalid config, all started at once (they are independent)."""
    folder = tmp_path_factory.mktemp("invalid-configs")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(HOME=str(folder / "home"), XDG_DATA_HOME=str(folder / "xdg"))
    started = {}
    for i, param in enumerate(INVALID):
        text = param.values[0]
        config = folder / f"bad{i}.toml"
        config.write_text(text, encoding="utf-8")
        db = folder / f"x{i}.sqlite3"
        args = citebot_command() + ["index", str(corpus), "--db", str(db), "--config", str(config)]
        proc = subprocess.Popen(args, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started[text] = (proc, args, db)
    runs = {}
    for text, (proc, args, db) in started.items():
        out, err = proc.communicate(timeout=120)
        runs[text] = (subprocess.CompletedProcess(args, proc.returncode, out, err), db)
    return runs


@pytest.mark.parametrize(("text", "named"), INVALID)
def test_invalid_config_exits_2_naming_the_key(invalid_config_runs, text, named):
    done, db = invalid_config_runs[text]
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("citebot: error:")
    assert named in done.stderr
    assert not db.exists()


def test_invalid_config_from_citebot_config_is_reported_too(cli):
    bad = cli.write_config("bad.toml", '[index]\nk1 = "x"\n')
    done = cli.run("ask", "What is JAXA?", env=dict(cli.env, CITEBOT_CONFIG=str(bad)))
    assert done.returncode == 2 and "index.k1" in done.stderr


def test_missing_config_files_are_errors(cli):
    done = cli.run("ask", "What is JAXA?", "--config", str(cli.root / "nope.toml"))
    assert done.returncode == 2 and "config file not found" in done.stderr
    done = cli.run("ask", "What is JAXA?", env=dict(cli.env, CITEBOT_CONFIG=str(cli.root / "nope.toml")))
    assert done.returncode == 2 and "CITEBOT_CONFIG" in done.stderr


def test_token_in_config_points_to_the_environment_variable(cli):
    bad = cli.write_config("bad.toml", '[discord]\ntoken = "abc.def"\n')
    done = cli.run("ask", "What is JAXA?", "--config", str(bad))
    assert done.returncode == 2
    assert "DISCORD_TOKEN" in done.stderr


# ---------------------------------------------------------------------------------------------
# citebot eval and citebot run


def test_eval_seed_dev_prints_hit_at_k(cli):
    seed = EVAL / "seed-dev.jsonl"
    if not seed.is_file():
        pytest.skip(f"{seed} is absent: the shared eval folder is not beside this checkout")
    n_questions = sum(1 for line in seed.read_text(encoding="utf-8").splitlines() if line.strip())
    done = cli.run("eval", str(seed), "--json", "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert re.match(r"^corpus: 1 documents, \d+ passages$", lines[0])
    report = json.loads(lines[-1])
    assert report["set"] == "seed-dev.jsonl" and report["questions"] == n_questions
    for key in (
        "hit@1",
        "hit@3",
        "hit@5",
        "mrr@10",
        "answer_hit@1",
        "answer_hit@3",
        "answer_hit@5",
        "declined",
        "sentence_hit",
        "sentence_hit_top_right",
    ):
        assert 0.0 <= report[key] <= 1.0, key
    assert report["hit@1"] <= report["hit@3"] <= report["hit@5"]
    assert report["hit@1"] <= report["mrr@10"] <= report["hit@5"] + 1e-9
    # A floor, not the current figure: on this one-article set nearly every gold paragraph is in the top 5.
    assert report["hit@5"] >= 0.9 and report["hit@1"] >= 0.5


def test_eval_unanswerable_set_is_all_declined(cli):
    seed = EVAL / "seed-dev-unanswerable.jsonl"
    if not seed.is_file():
        pytest.skip(f"{seed} is absent: the shared eval folder is not beside this checkout")
    done = cli.run("eval", str(seed), "--json", "--corpus", str(cli.corpus), "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "set": "seed-dev-unanswerable.jsonl",
        "questions": 3,
        "unanswerable": 3,
        "unanswerable_declined": 1.0,
        "seconds": report["seconds"],
    }


def _write_set(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_counts_a_hit_only_in_the_named_document(cli):
    """Two copies of one article in different folders: a gold paragraph number matches both,
    and `doc` says which one answers (matched on whole path components)."""
    (cli.corpus / "old").mkdir()
    (cli.corpus / "old" / ARTICLE.name).write_text(
        ARTICLE.read_text(encoding="utf-8") + "\nArchived copy.\n", encoding="utf-8"
    )
    question = {"q": "How long will the ISS keep operating?", "answers": ["2028"], "gold": [7]}
    figures = {}
    for name, doc in (
        ("any", None),
        ("right", f"old/{ARTICLE.name}"),
        ("partial-name", f"d/{ARTICLE.name}"),
        ("missing", "nowhere.txt"),
    ):
        row = dict(question, **({"doc": doc} if doc else {}))
        qset = _write_set(cli.root / f"{name}.jsonl", [row])
        done = cli.run("eval", str(qset), "--json", "--corpus", str(cli.corpus), "--config", str(cli.config))
        assert done.returncode == 0, done.stderr
        figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["any"]["hit@5"] == 1.0 and figures["right"]["hit@5"] == 1.0
    assert figures["missing"]["hit@5"] == 0.0 and figures["partial-name"]["hit@5"] == 0.0  # "d/" is not "old/"


def test_eval_reports_answerable_and_unanswerable_apart(cli):
    rows = [
        {"q": "How long will the ISS keep operating?", "answers": ["2028"], "gold": [7]},
        {"q": "Who is the head of Roscosmos?", "answers": ["Bakanov"], "gold": [5]},
        {"q": "What is the recipe for sourdough bread?"},
    ]
    qset = _write_set(cli.root / "mixed.jsonl", rows)
    done = cli.run("eval", str(qset), "--json", "--corpus", str(cli.corpus), "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["questions"] == 3 and report["answerable"] == 2 and report["unanswerable"] == 1
    assert report["declined"] == 0.0 and report["unanswerable_declined"] == 1.0  # the decline is not a miss
    assert report["hit@5"] == 1.0


def test_eval_misses_say_where_each_question_went_wrong(cli):
    rows = [
        {"q": "Who is the head of Roscosmos?", "answers": ["Bakanov"], "gold": [5]},  # right first: no miss
        {"q": "Who is the head of Roscosmos?", "answers": ["Bakanov"], "gold": [1]},  # gold is the title line
        {"q": "What is the recipe for sourdough bread?"},  # declined, as it should be: no miss
        {"q": "Who heads Roscosmos?"},
    ]  # marked unanswerable, but the article answers it
    qset = _write_set(cli.root / "misses.jsonl", rows)
    done = cli.run("eval", str(qset), "--misses", "10", "--corpus", str(cli.corpus), "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    misses = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("miss:")]
    assert len(misses) == 2
    assert misses[0].startswith("miss: Who is the head of Roscosmos?  [") and misses[0].endswith("]")
    assert "rank 1" not in misses[0]  # its rank, or that it is not in the top 10
    assert misses[1] == "miss: Who heads Roscosmos?  [unanswerable, answered]"


def test_eval_with_db_reuses_the_index(cli, built_db):
    db = existing_db(cli, built_db)
    before = read_info(db).generation
    qset = _write_set(cli.root / "one.jsonl", [{"q": "What is JAXA?", "answers": ["Japan"], "gold": [9]}])
    done = cli.run("eval", str(qset), "--json", "--db", str(db), "--config", str(cli.config))
    assert done.returncode == 0, done.stderr
    assert "using the index at" in done.stderr and read_info(db).generation == before
    rebuilt = cli.run("eval", str(qset), "--json", "--db", str(db), "--rebuild", "--config", str(cli.config))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert read_info(db).generation == before + 1


def test_eval_of_a_missing_set_says_what_a_set_is(cli):
    done = cli.run("eval", str(cli.root / "shared" / "eval" / "seed-dev.jsonl"), "--config", str(cli.config))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "shared/eval" in line and '"q"' in line and "README" in line


@pytest.mark.parametrize("token", [None], ids=["unset"])
def test_run_without_discord_token_names_the_variable(cli, token):
    env = dict(cli.env)
    if token is not None:
        env["DISCORD_TOKEN"] = token
    done = cli.run("run", "--config", str(cli.config), env=env, timeout=60)
    assert done.returncode != 0
    assert done.returncode == 2
    assert "DISCORD_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


def test_settings_paths_are_absolute_with_a_relative_config(cli, monkeypatch):
    from citebot.bot.settings import load_settings

    monkeypatch.chdir(cli.cwd)
    settings = load_settings(os.path.relpath(cli.config, cli.cwd))
    assert settings.db_path.is_absolute()
    assert settings.db_path.resolve() == (cli.config.parent / "data" / "index.sqlite3").resolve()
    assert all(p.is_absolute() for p in settings.corpus_paths)
