"""Questions: a mention, a message in an answer channel, a DM, or `/ask`; and `/source`.

Each path turns a Discord event into one call into the index (through `LiveIndex`) and one
reply; what counts as a question is in `bot/questions.py`, how replies look in
`bot/render.py`.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

import discord
from discord import app_commands
from discord.ext import commands

from citebot.index.answering.answerer import Answer

from ...questions import Refusal, check_question, looks_like_question, strip_mention, valid_text
from ...state.questionlog import QuestionRecord
from ..conversations import Conversations, question_of_title, thread_name
from ..render import Reply, notice, render_answer, render_source, safe
from .collection_option import channel_and_parent, chosen_collection, collection_choices, collection_here
from .feedback import feedback_view

if TYPE_CHECKING:
    from ..client import CitebotBot

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")


@dataclass(frozen=True)
class Answered:
    """A reply ready to send, and the log row to link to the sent message."""

    reply: Reply
    row_id: int | None
    with_feedback: bool
    collection: str | None = None  # the collection answered from (its name is in the vote buttons)


def readable(message: discord.Message, text: str) -> str:
    """Mentions other than the bot's turned into names, so they read (and search) as words."""
    users = {m.id: m.display_name for m in message.mentions}
    roles = {r.id: r.name for r in message.role_mentions}
    text = _USER_MENTION.sub(lambda m: "@" + users.get(int(m[1]), "user"), text)
    text = _ROLE_MENTION.sub(lambda m: "@" + roles.get(int(m[1]), "role"), text)
    return _CHANNEL_MENTION.sub("#channel", text)


class QuestionsCog(commands.Cog):
    """Answers questions from the live index, with cooldowns, limits and the question log."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.conversations = Conversations()
        self._no_threads_logged: set[int] = set()  # channels where "cannot start a thread" was logged

    # ------------------------------------------------------------------ shared ---------

    async def precheck(self, text: str, user_id: int) -> str | Refusal:
        """The question to answer, or a refusal (too long, empty, or asking too fast)."""
        checked = check_question(text, self.bot.settings.discord.max_question_chars)
        if isinstance(checked, Refusal):
            return checked
        wait = await self.bot.cooldown.check(user_id)  # shared across processes with PostgreSQL state
        if wait is not None:
            return Refusal(
                f"You're asking faster than I can keep up with. Please wait {max(1, round(wait))} s and ask again."
            )
        return checked

    async def answer(
        self,
        question: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        top_k: int | None = None,
        context: tuple[str, ...] = (),
        collection: str | None = None,
    ) -> Answered:
        """Answer from `collection` (default: the one serving the channel), as a follow-up of the
        earlier questions in `context`, and log it."""
        collections = self.bot.collections
        name = collection or collections.for_channel(guild_id, [channel_id])
        started = time.perf_counter()
        async with collections.live(name).use() as answerer:
            answer: Answer = await answerer.ask(question, top_k, context)
            generation = answerer.reader.info.generation
        elapsed_ms = (time.perf_counter() - started) * 1000
        top = answer.hits[0].passage.citation.label if answer.hits else None
        top_id = answer.hits[0].passage.id if answer.hits else None
        try:
            row_id = await self.bot.qlog.record(
                QuestionRecord(
                    question=question,
                    answered=answer.answered,
                    answer_ms=elapsed_ms,
                    user_id=user_id,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    top_citation=top,
                    collection=name,
                    top_passage=top_id,
                )
            )
        except Exception:  # a full disk or damaged state file must not cost the asker the answer
            log.exception("could not log a question; answering anyway")
            row_id = None
        log.info("question answered=%s in %.0f ms from index generation %d", answer.answered, elapsed_ms, generation)
        footer = f"index generation {generation} · rate this answer with the buttons below" if answer.hits else None
        if footer and collections.several:
            footer = f"collection {name} · {footer}"
        return Answered(render_answer(answer, footer=footer), row_id, bool(answer.hits), name)

    async def _link(self, row_id: int | None, message_id: int) -> None:
        """Link the log row to the sent answer; the answer is out, so a failure here is only logged."""
        try:
            await self.bot.qlog.attach_message(row_id, message_id)
        except Exception:
            log.exception("could not link a logged question to its answer message")

    # ------------------------------------------------------------------ messages -------

    def wants(self, message: discord.Message) -> tuple[bool, str]:
        """Whether to answer this message, and the question text in it."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return False, ""
        settings = self.bot.settings.discord
        is_dm = message.guild is None
        if is_dm and not settings.answer_dms:
            return False, ""
        mentioned = any(u.id == me.id for u in message.mentions) and f"{me.id}>" in message.content
        text = readable(message, strip_mention(message.content, me.id))
        if self._forum_starter(message):
            return True, text  # a new post of an answer forum is a question, whatever its shape
        if mentioned or is_dm:
            return True, text
        if self._bot_thread(message.channel) or self._answer_replied_to(message) is not None:
            return looks_like_question(text), text  # a follow-up (or chatter, which stays unanswered)
        if message.channel.id in settings.answer_channels:
            return looks_like_question(text), text
        return False, ""

    # ------------------------------------------------------------------ conversations --

    def _bot_thread(self, channel: object) -> TypeGuard[discord.Thread]:
        """A thread the bot answers in: one it started, or a post of an answer forum."""
        me = self.bot.user
        return (
            isinstance(channel, discord.Thread)
            and me is not None
            and (channel.owner_id == me.id or channel.parent_id in self.bot.settings.discord.answer_forums)
        )

    def _forum_starter(self, message: discord.Message) -> bool:
        """The first message of a new post in an answer forum (its id is the thread's)."""
        channel = message.channel
        return (
            isinstance(channel, discord.Thread)
            and channel.parent_id in self.bot.settings.discord.answer_forums
            and message.id == channel.id
        )

    def _answer_replied_to(self, message: discord.Message) -> discord.Message | None:
        """The bot's answer this message is a Discord reply to, if it is one."""
        me = self.bot.user
        ref = message.reference
        resolved = ref.resolved if ref is not None else None
        if me is None or not isinstance(resolved, discord.Message) or resolved.author.id != me.id:
            return None
        return resolved

    def context_of(self, message: discord.Message) -> tuple[str, ...]:
        """The earlier questions `message` follows up: those of the answer it replies to, else of
        the bot's thread it is in; after a restart, what the answer's title or the thread's name says."""
        replied = self._answer_replied_to(message)
        if replied is not None:
            known = self.conversations.of_answer(replied.id)
            if known is None:
                asked = question_of_title(replied.embeds[0].title if replied.embeds else None)
                known = (asked,) if asked else ()
            return known
        channel = message.channel
        if self._bot_thread(channel) and not self._forum_starter(message):
            known = self.conversations.of_thread(channel.id)
            return known if known is not None else (channel.name,)
        return ()

    async def _start_thread(self, message: discord.Message, question: str) -> discord.Thread | None:
        """A thread on the question for its answer (discord.reply_in_thread), or None when the bot
        may not start one there: then it answers in the channel and logs why, once per channel."""
        channel = message.channel
        if not isinstance(channel, discord.TextChannel) or message.guild is None:
            return None
        perms = channel.permissions_for(message.guild.me)
        if not (perms.create_public_threads and perms.send_messages_in_threads):
            self._no_thread(
                channel,
                "the bot lacks the Create Public Threads (or Send Messages in Threads) "
                "permission there; grant it to answer in threads",
            )
            return None
        try:
            return await message.create_thread(name=thread_name(question))
        except discord.HTTPException as exc:
            self._no_thread(
                channel,
                f"Discord refused to start a thread ({exc.status}, error code {exc.code}: "
                f"{exc.text}); check the bot's thread permissions",
            )
            return None

    def _no_thread(self, channel: discord.abc.GuildChannel, why: str) -> None:
        if channel.id not in self._no_threads_logged:
            self._no_threads_logged.add(channel.id)
            log.warning("answering in #%s (%d) instead of a thread: %s", channel.name, channel.id, why)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        wanted, text = self.wants(message)
        if not wanted:
            return
        with self.bot.busy():
            await self._reply_to(message, text)

    async def _reply_to(self, message: discord.Message, text: str) -> None:
        channel = message.channel
        if isinstance(channel, discord.Thread) and self._forum_starter(
            message
        ):  # a forum post: its title and first message
            text = f"{channel.name}\n{text}".strip()
        checked = await self.precheck(text, message.author.id)
        if isinstance(checked, Refusal):
            await message.reply(notice(checked.message), allowed_mentions=NO_MENTIONS, mention_author=False)
            return
        context = self.context_of(message)
        thread: discord.Thread | None = None
        if (
            self.bot.settings.discord.reply_in_thread
            and not context
            and not isinstance(message.channel, discord.Thread)
        ):
            thread = await self._start_thread(message, checked)
        where = thread if thread is not None else message.channel
        async with where.typing():
            done = await self.answer(
                checked,
                user_id=message.author.id,
                guild_id=message.guild.id if message.guild is not None else None,
                channel_id=message.channel.id,
                context=context,
                collection=collection_here(self.bot, message.guild, message.channel),
            )
        view = feedback_view(done.collection) if done.with_feedback else discord.utils.MISSING
        if thread is not None:
            sent = await thread.send(
                content=done.reply.content or None, embeds=done.reply.embeds, view=view, allowed_mentions=NO_MENTIONS
            )
        else:
            sent = await message.reply(
                content=done.reply.content or None,
                embeds=done.reply.embeds,
                view=view,
                allowed_mentions=NO_MENTIONS,
                mention_author=False,
            )
        in_thread = (
            thread.id if thread is not None else (message.channel.id if self._bot_thread(message.channel) else None)
        )
        self.conversations.record(checked, context, sent.id, in_thread)
        await self._link(done.row_id, sent.id)

    # ------------------------------------------------------------------ slash ----------

    @app_commands.command(name="ask", description="Ask a question; the answer cites its sources")
    @app_commands.describe(
        question="Your question",
        top_k="How many passages to show (1-25)",
        collection="Which articles to answer from (default: this channel's)",
        private="Only you see the answer",
    )
    @app_commands.autocomplete(collection=collection_choices)
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 4000],
        top_k: app_commands.Range[int, 1, 25] | None = None,
        collection: app_commands.Range[str, 1, 100] | None = None,
        private: bool = False,
    ) -> None:
        with self.bot.busy():
            await self._ask(interaction, question, top_k, collection, private)

    async def _ask(
        self,
        interaction: discord.Interaction,
        question: str,
        top_k: int | None,
        collection: str | None = None,
        private: bool = False,
    ) -> None:
        name = await chosen_collection(interaction, collection)
        if name is None:
            return
        checked = await self.precheck(question, interaction.user.id)
        if isinstance(checked, Refusal):
            await interaction.response.send_message(
                notice(checked.message), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.response.defer(thinking=True, ephemeral=private)  # private: only the asker sees it
        done = await self.answer(
            checked,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            top_k=top_k,
            collection=name,
        )
        sent = await interaction.followup.send(
            content=done.reply.content,
            embeds=done.reply.embeds,
            allowed_mentions=NO_MENTIONS,
            wait=True,
            ephemeral=private,
            view=feedback_view(done.collection) if done.with_feedback else discord.utils.MISSING,  # (MISSING: none)
        )
        await self._link(done.row_id, sent.id)

    @app_commands.command(name="source", description="Show a passage in full, with its citation and neighbours")
    @app_commands.describe(
        id="The passage id shown under an answer",
        collection="The collection it is in (default: this channel's, then the others here)",
    )
    @app_commands.autocomplete(collection=collection_choices)
    async def source(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[str, 1, 100],
        collection: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        id = valid_text(id).strip()
        name = await chosen_collection(interaction, collection)
        if name is None:
            return
        # The chosen collection alone; else this channel's first, then the others served here
        # (an answer given with /ask collection: cites passages of that collection).
        collections = self.bot.collections
        names = (
            [name]
            if collection
            else collections.available(interaction.guild_id, channel_and_parent(interaction.channel))
        )
        found = None
        for candidate in names:
            async with collections.live(candidate).use() as answerer:
                found = await answerer.reader.source(id)
            if found is not None:
                break
        if found is None:
            shown = safe(id[:64]).replace("`", "'")
            await interaction.response.send_message(
                f"No passage has the id `{shown}` in the current index. Ids are shown under each answer.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        reply = render_source(*found)
        if collections.several and reply.embeds:
            reply.embeds[0].set_footer(text=f"collection {candidate}")
        await interaction.response.send_message(
            content=reply.content or None,
            embeds=reply.embeds,
            files=reply.files or discord.utils.MISSING,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(QuestionsCog(bot))
