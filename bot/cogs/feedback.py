"""👍/👎 buttons under each answer, recorded in the question log.

Why dynamic items and not a stored View: the buttons' custom_id says everything the click
needs ("citebot:vote:up"), and the answer message's id names the answer, so a click is handled
by pattern after a restart and nothing accumulates in discord.py's view store per message.
One vote per person per answer: the other thumb changes the vote, the same thumb again is
acknowledged and changes nothing.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from ..discord_render import APOLOGY

if TYPE_CHECKING:
    from ..client import CitebotBot

log = logging.getLogger(__name__)

UP, DOWN = "\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}"
_REPLIES = {
    ("new", 1): f"Thanks! Your {UP} is recorded.",
    ("new", -1): f"Thanks! Your {DOWN} is recorded.",
    ("changed", 1): f"Changed your vote to {UP}.",
    ("changed", -1): f"Changed your vote to {DOWN}.",
    ("same", 1): f"You already gave this answer a {UP}.",
    ("same", -1): f"You already gave this answer a {DOWN}.",
}


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=r"citebot:vote:(?P<vote>up|down)"):
    """One thumb; the vote direction lives in the custom_id."""

    def __init__(self, vote: int) -> None:
        up = vote > 0
        super().__init__(discord.ui.Button(
            emoji=UP if up else DOWN,
            style=discord.ButtonStyle.secondary,
            custom_id=f"citebot:vote:{'up' if up else 'down'}",
        ))
        self.vote = 1 if up else -1

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> "VoteButton":
        return cls(1 if match["vote"] == "up" else -1)

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: CitebotBot = interaction.client  # type: ignore[assignment]
        try:
            if interaction.message is None:
                return
            outcome = await bot.qlog.vote(interaction.message.id, interaction.user.id, self.vote)
            text = _REPLIES[(outcome, self.vote)]
        except Exception:
            log.exception("recording a vote failed")
            text = APOLOGY
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


def feedback_view() -> discord.ui.View:
    """The two buttons to send under an answer. The view is stopped at once so discord.py does
    not keep it per message: clicks are dispatched to VoteButton by custom_id instead."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(1))
    view.add_item(VoteButton(-1))
    view.stop()
    return view


class FeedbackCog(commands.Cog):
    """Registers the vote buttons so clicks on any answer, however old, reach VoteButton."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(VoteButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(VoteButton)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(FeedbackCog(bot))
