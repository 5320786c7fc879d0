"""Shared fixtures: a real index of the bundled article, an Answerer over it, a loopback web
server, and the product's bot running in-process against the loopback Discord server.

Only fixtures live here; the helpers they are built on (and that tests import) are in
tests/support/helpers.py. Nothing of ours is mocked: the index is built by the real build, the
bot is bot.discord.client's, and what it sends is read back from the server's recordings.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import pg_server
from tests.support.helpers import BUNDLED_ARTICLE, BotEnv, running_bot


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled article, built once per session; tests copy it."""
    from citebot.bot.settings import Settings
    from citebot.index.build.reindex import rebuild_sync

    folder = tmp_path_factory.mktemp("built")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(BUNDLED_ARTICLE, corpus / BUNDLED_ARTICLE.name)
    db = folder / "index.sqlite3"
    rebuild_sync([corpus], db, Settings(corpus_paths=(corpus,), db_path=db, state_db_path=folder / "s").index)
    return db


@pytest.fixture
async def answerer(built_index: Path) -> AsyncIterator[Any]:
    """An Answerer (default settings) over the session's index of the bundled article."""
    from citebot.index.answering.answerer import Answerer
    from citebot.index.indexfile import IndexReader

    reader = await IndexReader.open(built_index)
    try:
        yield Answerer(reader)
    finally:
        await reader.close()


@pytest.fixture
def server() -> Any:
    """A loopback web server (tests/support/web_server.py) for the fetch, crawl and refresh
    tests; tests/support/test_discord_server.py's own `server` fixture is the Discord one."""
    from tests.support.web_server import PageServer

    with PageServer() as s:
        yield s


@pytest.fixture
async def env(tmp_path: Path, built_index: Path) -> AsyncIterator[BotEnv]:
    """The bot with default test settings (answer channel = the guild's second channel)."""
    async with running_bot(tmp_path, built_index) as bot_env:
        yield bot_env


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """One PostgreSQL server for the session, on a private port and data folder; each test that
    uses it makes a database of its own (`postgres.new_database()`)."""
    try:
        server = pg_server.start_server()
    except FileNotFoundError as exc:
        # .ci/run installs the server and sets CITEBOT_REQUIRE_POSTGRES: there a missing server
        # is a failure, not a skip that would hide the backend's tests.
        if os.environ.get("CITEBOT_REQUIRE_POSTGRES"):
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
