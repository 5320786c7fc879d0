"""The `collection` option of `/ask`, `/source`, `/reindex` and `/stats`: choices and checks.

Why one place: every command that names a collection must offer the same choices (the
collections served where the command is used, this channel's first) and refuse the same
names (unknown, or not served here), so one server's private collection is never reachable
from another. Not an extension: the cogs import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from ...questions import Refusal
from ..render import notice

if TYPE_CHECKING:
    from ..client import CitebotBot

MAX_CHOICES = 25  # Discord's limit for one autocomplete answer


def channel_and_parent(channel: Any) -> list[int | None]:
    """A channel's id and, for a thread, its parent's: a thread is served as its channel is."""
    if channel is None:
        return []
    return [getattr(channel, "id", None), getattr(channel, "parent_id", None)]


def collection_here(bot: CitebotBot, guild: Any, channel: Any) -> str:
    """The collection serving this channel (or its guild), else the default."""
    return bot.collections.for_channel(getattr(guild, "id", None), channel_and_parent(channel))


def _where(interaction: discord.Interaction) -> tuple[int | None, list[int | None]]:
    ids = channel_and_parent(interaction.channel) or [interaction.channel_id]
    return interaction.guild_id, ids


def resolve_collection(interaction: discord.Interaction, given: str | None) -> str | Refusal:
    """The collection a command is about: `given` when it is served here, else this channel's."""
    bot: CitebotBot = interaction.client  # type: ignore[assignment]  # discord.py types a bare Interaction's client as Client; ours is a CitebotBot
    guild_id, ids = _where(interaction)
    here = bot.collections.available(guild_id, ids)
    if given is None or not given.strip():
        return here[0]
    name = given.strip()
    if name not in here:
        shown = discord.utils.escape_markdown(discord.utils.escape_mentions(name[:64]))
        return Refusal(f"No collection named {shown} here. Collections here: {', '.join(here)}.")
    return name


async def chosen_collection(interaction: discord.Interaction, given: str | None) -> str | None:
    """`resolve_collection`, telling the user (ephemerally) when `given` is not served here:
    then None, and the command has answered."""
    name = resolve_collection(interaction, given)
    if isinstance(name, Refusal):
        await interaction.response.send_message(
            notice(name.message), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
        return None
    return name


async def owners_or_managers(interaction: discord.Interaction, action: str) -> bool:
    """The check of the commands that change or reveal what the whole server sees (/reindex,
    /gaps): the bot's owners anywhere; otherwise members with Manage Server in a guild."""
    bot: CitebotBot = interaction.client  # type: ignore[assignment]  # discord.py types a bare Interaction's client as Client; ours is a CitebotBot
    if interaction.user.id in bot.settings.discord.owner_ids:
        return True
    if interaction.guild is None:
        raise app_commands.CheckFailure(f"Only the bot's owners can {action} in a direct message.")
    if not interaction.permissions.manage_guild:
        raise app_commands.CheckFailure(f"Only members with the Manage Server permission can {action}.")
    return True


async def collection_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The collections served here whose name contains what has been typed, this channel's first."""
    bot: CitebotBot = interaction.client  # type: ignore[assignment]  # discord.py types a bare Interaction's client as Client; ours is a CitebotBot
    guild_id, ids = _where(interaction)
    typed = (current or "").strip().casefold()
    names = [n for n in bot.collections.available(guild_id, ids) if typed in n]
    return [app_commands.Choice(name=n, value=n) for n in names[:MAX_CHOICES]]
