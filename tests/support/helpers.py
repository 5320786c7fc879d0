"""Helpers the tests share (not fixtures: those are in tests/conftest.py, built on these).

Paths (`ROOT`, the repository; `TESTS`, tests/; `BUNDLED_ARTICLE`), the Discord test token,
builds through the real build (`build_index_file_for`, `built_passages`, `stored_passages`,
`bm25_index`), the comparison with the reference build (`assert_matches_reference`), and the
product's bot running in-process against the loopback Discord server (`running_bot`,
tests/support/discord_server/). Nothing of ours is mocked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]  # tests/


ROOT = TESTS.parent


BUNDLED_ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"


TOKEN = "citebot-test-token"


def build_index_file_for(sources: Any, folder: Path, params: Any = None, name: str = "index.sqlite3") -> Path:
    """Build the index of `sources` (paths, URLs, sites, in-memory `Document`s) into
    `folder/name` through the real build (`rebuild_sync`, what `citebot index` runs); the path."""
    from citebot.index.build.params import IndexParams
    from citebot.index.build.reindex import rebuild_sync

    db = Path(folder) / name
    rebuild_sync(list(sources), db, params or IndexParams())
    return db


def stored_passages(db: Path) -> list[Any]:
    """Every passage of the index at `db`, in BM25 position order (`StoredPassage`s)."""
    import asyncio

    from citebot.index.indexfile import IndexReader

    async def read() -> list[Any]:
        reader = await IndexReader.open(db)
        try:
            return await reader.passages(list(range(reader.info.passages)))
        finally:
            await reader.close()

    return asyncio.run(read())


def bm25_index(docs: Any, params: Any = None) -> Any:
    """A `BM25Index` of token lists (document i is the i-th), through the build's CSR
    builder: what the BM25 tests score against `LuceneBM25`."""
    import itertools
    from collections import defaultdict

    import numpy as np

    from citebot.index.build.postings import csr_from_id_chunks_twice
    from citebot.index.ranking.bm25 import BM25Index, BM25Params
    from citebot.index.ranking.postings import ArrayPostings
    from citebot.index.ranking.vocabulary import Vocabulary

    docs = [list(d) for d in docs]
    vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    ids = np.fromiter((vocab[t] for d in docs for t in d), dtype=np.int64)
    lens = np.array([len(d) for d in docs], dtype=np.int64)
    arrays = csr_from_id_chunks_twice(lambda: iter([(ids, lens)]), vocab)
    postings = ArrayPostings(arrays.pop("doc_ids"), arrays.pop("tfs"))
    return BM25Index(params=params or BM25Params(), vocab=Vocabulary.of(list(vocab)), postings=postings, **arrays)


@dataclass
class BotEnv:
    """Everything a bot test touches."""

    server: Any
    bot: Any
    settings: Any
    live: Any
    qlog: Any
    task: Any
    answer_channel: int
    corpus: Path


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path, built_index: Path, *, guilds: Any = None, prepare: Any = None, **discord_overrides: Any
) -> AsyncIterator[BotEnv]:
    """Start the loopback server (with `guilds`, GuildSpecs, when given) and the product's bot
    wired to a copy of the index. `prepare(server)`, when given, runs before the bot connects
    (to add forum channels, say) and returns more discord settings."""
    from citebot.bot.discord.client import build_bot
    from citebot.bot.live_index import LiveIndex
    from citebot.bot.settings import DiscordSettings, LogSettings, Settings
    from citebot.bot.state.questionlog import QuestionLog
    from citebot.index.indexfile import IndexReader
    from tests.support.discord_server import discord_test_environment, running_client

    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    shutil.copy(BUNDLED_ARTICLE, corpus / BUNDLED_ARTICLE.name)
    db = tmp_path / "index.sqlite3"
    shutil.copy(built_index, db)
    log_overrides = {k[4:]: discord_overrides.pop(k) for k in list(discord_overrides) if k.startswith("log_")}
    refresh_minutes = discord_overrides.pop("refresh_minutes", 0.0)  # corpus.refresh_minutes (bot/discord/refresh.py)
    async with discord_test_environment(token=TOKEN, heartbeat_interval_ms=500, guilds=guilds) as server:
        answer_channel = server.guilds[server.guild_id].channel_ids[1]
        options: dict[str, Any] = dict(
            api_base=server.base_url,
            gateway_url=server.gateway_url,
            answer_channels=(answer_channel,),
            dev_guild=server.guild_id,
            cooldown_seconds=10.0,
            cooldown_questions=3,
            reload_check_seconds=0.2,
        )
        options.update(discord_overrides)
        if prepare is not None:
            options.update(prepare(server))
        settings = Settings(
            corpus_paths=(corpus,),
            db_path=db,
            state_db_path=tmp_path / "state" / "state.sqlite3",
            discord=DiscordSettings(**options),
            log=replace(LogSettings(), **log_overrides),
            refresh_minutes=refresh_minutes,
        )
        reader = await IndexReader.open(db)
        live = LiveIndex(reader, settings.answer)
        qlog = await QuestionLog.open(
            settings.state_db_path, enabled=settings.log.questions, retention_days=settings.log.retention_days
        )
        try:
            bot = build_bot(settings, live, qlog, guild_ready_timeout=0.05)
            async with running_client(bot, TOKEN) as task:
                yield BotEnv(server, bot, settings, live, qlog, task, answer_channel, corpus)
            assert_no_server_paths(server.requests, (corpus, built_index.parent, tmp_path))
        finally:
            await qlog.close()
            await live.close()


def assert_no_server_paths(requests: Any, folders: tuple[Path, ...]) -> None:
    """Nothing the bot sent to Discord names a folder of the machine it runs on: citations
    name files relative to their corpus folder (checked after every bot test)."""
    import json

    for request in requests:
        if request.json is None:
            continue
        sent = json.dumps(request.json, ensure_ascii=False)
        for folder in folders:
            assert str(folder) not in sent, f"{request.method} {request.route} shows {folder}: {sent[:300]}"


def assert_matches_reference(db: Path, sources: Any, params: Any = None) -> Any:
    """The index at `db` holds what the reference build (`build.reference.build_reference`,
    plain sequential code scored by rank_bm25 with Lucene's IDF) gives for the documents
    `load_corpus` reads from `sources`: the same passages in the same order, sentence spans,
    acronyms, document lengths and BM25 scores (bit for bit, for a query from every
    passage), and average sentence length. Returns the reference."""
    import asyncio
    import dataclasses

    import numpy as np

    from citebot.index.build.params import IndexParams
    from citebot.index.build.reference import build_reference
    from citebot.index.build.sources import load_corpus
    from citebot.index.indexfile import IndexReader

    params = params or IndexParams()
    documents, _ = load_corpus(list(sources), params.max_file_bytes, rules=params.sources)
    ref = build_reference(documents, params)

    async def check() -> None:
        reader = await IndexReader.open(db)
        try:
            stored = await reader.passages(list(range(reader.bm25.n_docs)))
            unnamed = [
                dataclasses.replace(s.passage, citation=dataclasses.replace(s.passage.citation, name=None))
                for s in stored
            ]
            assert unnamed == ref.passages
            assert [list(s.sentences) for s in stored] == [[tuple(x) for x in spans] for spans in ref.sentences]
            assert reader.acronyms.pairs == ref.acronyms.pairs
            assert reader.bm25.to_arrays()["doc_len"].tolist() == [len(t) for t in ref.terms]
            assert float(reader.info.meta["avg_sentence_terms"]) == ref.avg_sentence_terms
            everything = list(range(reader.bm25.n_docs))
            for terms in ref.terms:
                query = terms[:3] + terms[-2:]
                assert reader.bm25.scores(query, everything) == ref.bm25.get_scores(query).tolist()
            assert np.all(np.diff(reader.bm25.to_arrays()["term_offsets"]) > 0)
        finally:
            await reader.close()

    asyncio.run(check())
    return ref


def built_passages(sources: Any, params: Any = None) -> list[Any]:
    """The stored passages (`StoredPassage`: passage and sentence spans) of an index of
    `sources` built through the real build into a temporary folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="citebot-test-") as folder:
        return stored_passages(build_index_file_for(sources, Path(folder), params))


def citebot_command() -> list[str]:
    """The installed `citebot` script of this interpreter's environment, else the module."""
    script = Path(sys.executable).with_name("citebot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "citebot.bot.cli.main"]


def citebot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `citebot` command in `cwd`, with no config or token from the
    environment and HOME/XDG_DATA_HOME inside `cwd`."""
    command = citebot_command()
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(HOME=str(cwd / "home"), XDG_DATA_HOME=str(cwd / "xdg"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(command + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
