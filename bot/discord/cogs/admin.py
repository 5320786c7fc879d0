"""`/reindex` and `/stats`.

`/reindex` rebuilds from the configured corpus paths only (never a path typed in Discord), in
a worker thread, while the bot keeps answering from the old index; the new one is swapped in
when it is complete. It is for members with Manage Server and for `discord.owner_ids`.

With `[[collections]]`, both are about one collection: the one named by their `collection`
option, else the one serving the channel they are used in; each collection reindexes on its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from citebot.index.build.reindex import rebuild
from citebot.index.build.vectors import vector_step
from citebot.index.corpus_warnings import CorpusWarning, count_skipped, summarise
from citebot.index.errors import CitebotError, EmptyCorpusError, IndexLockedError
from citebot.index.source_list import list_sources

from ..render import human_age, notice, render_stats, shards_field, sources_field
from .collection_option import chosen_collection, collection_choices, owners_or_managers

if TYPE_CHECKING:
    from ..client import CitebotBot

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()


async def may_reindex(interaction: discord.Interaction) -> bool:
    return await owners_or_managers(interaction, "reindex")


def log_warnings(warnings: list[CorpusWarning]) -> None:
    """The reindex's warnings in the log, summarised per kind as the CLI prints them (every one
    when the log shows DEBUG). Paths stay in the log: no Discord reply names one."""
    for line in summarise(warnings, verbose=log.isEnabledFor(logging.DEBUG), more='log.level = "DEBUG" lists them'):
        log.warning("reindex: %s", line)


class AdminCog(commands.Cog):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        # Each collection's lock is shared with its scheduled refresh (bot/refresh.py).

    @app_commands.command(name="reindex", description="Rebuild the index from the configured articles")
    @app_commands.describe(collection="Which collection to rebuild (default: this channel's)")
    @app_commands.autocomplete(collection=collection_choices)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(may_reindex)
    async def reindex(
        self, interaction: discord.Interaction, collection: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        name = await chosen_collection(interaction, collection)
        if name is None:
            return
        lock = self.bot.reindex_lock_for(name)
        if lock.locked():
            await interaction.response.send_message(
                "A reindex (or a scheduled refresh) is already running.", ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.response.defer(thinking=True)
        collections = self.bot.collections
        settings = collections.settings_for(name)
        async with lock:
            log.info("reindex of collection %s requested by user %d", name, interaction.user.id)
            try:
                finish = vector_step(settings.answer.semantic, settings.answer.semantic_max_passages)
                result = await rebuild(
                    settings.corpus_paths, settings.db_path, settings.index, wait_for_lock=False, finish=finish
                )
            except IndexLockedError:
                text = "Another reindex (perhaps `citebot index`) is running; try again when it has finished."
            except EmptyCorpusError as exc:
                text = (
                    f"Nothing could be indexed ({count_skipped(exc.warnings)} files or pages skipped, see the "
                    "bot's log); the old index stays in use."
                )
                log.warning("reindex found nothing to index: %s", exc)
                log_warnings(exc.warnings)
            except CitebotError as exc:
                log.warning("reindex failed: %s", exc)
                text = "The reindex failed; the old index stays in use. The details are in the bot's log."
            else:
                await collections.live(name).reload()
                info = result.info
                of = f" of collection {name}" if collections.several else ""
                text = (
                    f"Reindexed {info.documents:,} documents{of} into {info.passages:,} passages "
                    f"({info.terms:,} terms) in {result.seconds:.2f} s; now answering from generation "
                    f"{info.generation}."
                )
                skipped = count_skipped(result.warnings)
                if skipped:
                    text += f" {skipped} files or pages were skipped (see the bot's log)."
                log_warnings(result.warnings)
        await interaction.followup.send(notice(text), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="stats", description="Index size and age, questions answered, feedback")
    @app_commands.describe(collection="Which collection (default: this channel's)")
    @app_commands.autocomplete(collection=collection_choices)
    async def stats(
        self, interaction: discord.Interaction, collection: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        name = await chosen_collection(interaction, collection)
        if name is None:
            return
        collections = self.bot.collections
        info = collections.live(name).reader.info
        # With one collection, the figures of everything logged (as before collections).
        figures = await self.bot.qlog.stats(name if collections.several else None)
        reply = render_stats(
            documents=info.documents,
            passages=info.passages,
            generation=info.generation,
            age_seconds=time.time() - info.built_at,
            questions=figures.questions,
            answered=figures.answered,
            median_ms=figures.median_ms,
            thumbs_up=figures.thumbs_up,
            thumbs_down=figures.thumbs_down,
            persisted=figures.persisted,
            collection=name if collections.several else None,
            sources=await self._sources_summary(name),
            shards=await self._shards_summary(name if collections.several else None),
        )
        await interaction.response.send_message(embeds=reply.embeds, allowed_mentions=NO_MENTIONS)

    async def _shards_summary(self, collection: str | None) -> str | None:
        """The Shards field of /stats (None when unsharded): questions per shard, from the log."""
        ids, count = self.bot.shards_run()
        if not count:
            return None
        by_shard = await self.bot.qlog.questions_by_shard(count, collection)
        return shards_field(ids, count, by_shard, self.bot.qlog.shared)

    async def _sources_summary(self, collection: str) -> str | None:
        """The Sources field of /stats for a collection (None when its index cannot be listed; logged)."""
        try:
            # In a thread: one row per document, read from the index file.
            sources = await asyncio.to_thread(list_sources, self.bot.collections.live(collection).path)
        except CitebotError as exc:
            log.warning("/stats cannot list the sources: %s", exc)
            return None
        now = time.time()
        refresher = self.bot.refreshers.get(collection)
        if refresher is None:
            refresh = "refresh off (corpus.refresh_minutes = 0)"
        else:
            refresh = f"refreshed every {human_age(refresher.every_seconds)}"
            if refresher.last is not None:
                refresh += f"; last {human_age(now - refresher.last.finished_at)} ago: {refresher.last.outcome}"
        return sources_field(sources, refresh, now)


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(AdminCog(bot))
