"""Which shard answers a guild, and what `citebot run --shard-count/--shard-ids` change.

Why here, apart from the client: the rule `(guild_id >> 22) % shard_count` is Discord's (it
sends a guild's events to that shard only, and direct messages to shard 0); /stats counts the
shared question log by it, and the flags must be checked as strictly as config.toml's keys.
Nothing here imports discord.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from citebot.index.errors import ConfigError

from ..settings import Settings, check_shards
from ..settings_table import AUTO_SHARDS, setting

COUNT_FLAG, IDS_FLAG = "--shard-count", "--shard-ids"


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord sends a guild's events to; direct messages (no guild) go to shard 0."""
    if guild_id is None or shard_count <= 1:
        return 0
    return (int(guild_id) >> 22) % shard_count


def is_sharded(count: int | str) -> bool:
    """True when the bot runs discord.py's AutoShardedBot (a count, or "auto"); 0 is unsharded."""
    return count == AUTO_SHARDS or (isinstance(count, int) and count > 0)


def with_shard_flags(settings: Settings, count: str | None, ids: str | None) -> Settings:
    """`settings` with `--shard-count` and `--shard-ids` (as typed) in place of discord.shard_count
    and discord.shard_ids; each flag is read by its setting's row, so it allows what config.toml
    does and an error names the flag."""
    discord_settings = settings.discord
    if count is not None:
        value: object = count.strip()
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        discord_settings = replace(discord_settings, shard_count=_read_flag("discord.shard_count", COUNT_FLAG, value))
    if ids is not None:
        try:
            listed = [int(part) for part in ids.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"{IDS_FLAG} must be shard numbers separated by commas, e.g. 0,1; got {ids!r}") from None
        discord_settings = replace(discord_settings, shard_ids=_read_flag("discord.shard_ids", IDS_FLAG, listed))
    if discord_settings is settings.discord:
        return settings
    flags = (
        COUNT_FLAG if count is not None else "discord.shard_count",
        IDS_FLAG if ids is not None else "discord.shard_ids",
    )
    check_shards(discord_settings.shard_count, discord_settings.shard_ids, names=flags)
    return replace(settings, discord=discord_settings)


def _read_flag(name: str, flag: str, value: object) -> Any:
    row = setting(name)
    try:
        return row.read({row.key: value})
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(name, flag, 1)) from None
