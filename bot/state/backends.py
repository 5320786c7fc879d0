"""One door to the bot's state: `open_state(settings)` picks the backend from `log.state_url`.

Why one factory: the runner, `citebot gaps` and the tests open the state the same way, so the
choice (a private SQLite file, or PostgreSQL shared by replicas) is made in one place and the
PostgreSQL driver is imported only when it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .store import StateStore

if TYPE_CHECKING:
    from ..settings import Settings


async def open_state(settings: Settings) -> StateStore:
    """The question log of `settings`: PostgreSQL at log.state_url (CITEBOT_STATE_URL overrides it,
    already applied by load_settings), else the SQLite file at log.state_db."""
    log_settings = settings.log
    if log_settings.state_url:
        from .postgres import PostgresQuestionLog

        return await PostgresQuestionLog.open(
            log_settings.state_url, enabled=log_settings.questions, retention_days=log_settings.retention_days
        )
    from .questionlog import SqliteQuestionLog

    return await SqliteQuestionLog.open(
        settings.state_db_path, enabled=log_settings.questions, retention_days=log_settings.retention_days
    )
