"""`/gaps [days]`: the questions the sources did not answer, grouped by subject (ephemeral).

Why ephemeral and restricted: the report quotes what people asked. It is for members with
Manage Server (who see their own server's questions only) and for `discord.owner_ids` (in a
direct message: every server's). The grouping is `index/gaps.py`'s; this turns the command
into one call to the question log, one to the grouping (in a thread), and one reply.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from citebot.index.gaps import gap_report

from ..render import render_gaps
from .collection_option import owners_or_managers

if TYPE_CHECKING:
    from ..client import CitebotBot

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()
DEFAULT_DAYS = 7


async def may_see_gaps(interaction: discord.Interaction) -> bool:
    return await owners_or_managers(interaction, "see the knowledge gaps")


class GapsCog(commands.Cog):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    @app_commands.command(name="gaps", description="Questions the sources did not answer, grouped by subject")
    @app_commands.describe(days=f"How many days back (default {DEFAULT_DAYS})")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(may_see_gaps)
    async def gaps(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = DEFAULT_DAYS
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        qlog = self.bot.qlog
        since = time.time() - days * 86400
        # A server's managers see its own questions; an owner in a DM sees every server's.
        questions = await qlog.gap_questions(since, guild_id=interaction.guild_id)
        report = await asyncio.to_thread(gap_report, questions, days, since)
        log.info("gaps of %d days requested by user %d: %d questions", days, interaction.user.id, report.questions)
        reply = render_gaps(report, logging_on=qlog.enabled, retention_days=qlog.retention_days)
        await interaction.followup.send(embeds=reply.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(GapsCog(bot))
