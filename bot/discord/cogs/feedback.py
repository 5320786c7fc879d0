"""👍/👎 buttons under each answer, recorded in the question log.

Why dynamic items and not a stored View: the buttons' custom_id says everything the click
needs ("citebot:vote:up"), and the answer message's id names the answer, so a click is handled
by pattern after a restart and nothing accumulates in discord.py's view store per message.
One vote per person per answer: the other thumb changes the vote, the same thumb again is
acknowledged and changes nothing. An answer from a collection other than the default carries
the collection's name in its custom_ids ("citebot:vote:down:garden"), so votes count per
collection in `/stats` even with question logging off.

A 👎 is recorded at the click, then a modal asks for an optional one-line reason (the vote stands
if it is dismissed). Reasons are text people wrote, so the modal is shown only while question
logging is on, and they are forgotten with the questions (`bot/state/questionlog.py`).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from ...collections_config import DEFAULT_COLLECTION
from ...state.questionlog import REASON_MAX_CHARS
from ..render import APOLOGY

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


REASON_SECONDS = 900.0  # how long an open reason modal waits for its submit
REASON_LABEL = "What was wrong or missing? (optional)"
REASON_THANKS = f"Thanks, your reason is recorded with your {DOWN}."


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"citebot:vote:(?P<vote>up|down)(?::(?P<collection>[a-z0-9][a-z0-9_-]{0,31}))?",
):
    """One thumb; the vote direction (and the collection, unless the default) live in the custom_id."""

    def __init__(self, vote: int, collection: str | None = None) -> None:
        up = vote > 0
        named = collection if collection and collection != DEFAULT_COLLECTION else None
        super().__init__(
            discord.ui.Button(
                emoji=UP if up else DOWN,
                style=discord.ButtonStyle.secondary,
                custom_id=f"citebot:vote:{'up' if up else 'down'}" + (f":{named}" if named else ""),
            )
        )
        self.vote = 1 if up else -1
        self.collection = named

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(1 if match["vote"] == "up" else -1, match["collection"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: CitebotBot = interaction.client  # type: ignore[assignment]  # discord.py types a bare Interaction's client as Client; ours is a CitebotBot
        try:
            if interaction.message is None:
                return
            outcome = await bot.qlog.vote(interaction.message.id, interaction.user.id, self.vote, self.collection)
            text = _REPLIES[(outcome, self.vote)]
        except Exception:
            log.exception("recording a vote failed")
            text = APOLOGY
        else:
            if self.vote < 0 and bot.qlog.enabled:
                await interaction.response.send_modal(ReasonModal(interaction.message.id, text))
                return
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


class ReasonModal(discord.ui.Modal):
    """The optional one-line reason for a 👎 already recorded; its title says the vote counted.

    The custom_id is discord.py's random one: two people can have a modal open on the same
    answer, and each submit must reach its own."""

    def __init__(self, message_id: int, title: str) -> None:
        super().__init__(title=title, timeout=REASON_SECONDS)
        self.message_id = message_id
        self.reason: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(
            style=discord.TextStyle.short,
            required=False,
            max_length=REASON_MAX_CHARS,
            placeholder="e.g. it answers another question; the article is out of date",
        )
        self.add_item(discord.ui.Label(text=REASON_LABEL, component=self.reason))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot: CitebotBot = interaction.client  # type: ignore[assignment]  # discord.py types a bare Interaction's client as Client; ours is a CitebotBot
        stored = await bot.qlog.set_reason(self.message_id, interaction.user.id, self.reason.value or "")
        text = REASON_THANKS if stored else _REPLIES[("new", -1)]
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]  # discord.py's Modal.on_error drops BaseView.on_error's item argument; mypy checks against BaseView
        log.error("recording a reason for a vote failed", exc_info=error)
        if not interaction.response.is_done():
            await interaction.response.send_message(
                APOLOGY, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )


def feedback_view(collection: str | None = None) -> discord.ui.View:
    """The two buttons to send under an answer from `collection`. The view is stopped at once so
    discord.py does not keep it per message: clicks are dispatched to VoteButton by custom_id."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(1, collection))
    view.add_item(VoteButton(-1, collection))
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
