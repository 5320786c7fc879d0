"""A question log with known gaps, written through any state backend (`StateStore`)."""

from __future__ import annotations

from citebot.bot.state.store import QuestionRecord, StateStore

DAY = 86400.0


async def log_with_gaps(qlog: StateStore, now: float) -> None:
    """Three declined questions (one 10 days old), one answered and voted 👎 with a reason,
    one answered and liked, in two guilds and two collections: what the gap tests of both backends
    read back."""
    rows = [
        ("Who painted the Mona Lisa?", False, 1, None, now - 60),
        ("Where is the Mona Lisa painted?", False, 2, "garden", now - 30),
        ("Mona Lisa painter?", False, 1, None, now - 10 * DAY),
        ("When will the ISS be deorbited?", True, 1, None, now - 20),
        ("How long will the ISS keep operating?", True, 1, None, now - 10),
    ]
    for n, (text, ok, guild, collection, at) in enumerate(rows):
        row = await qlog.record(
            QuestionRecord(
                question=text,
                answered=ok,
                answer_ms=5.0,
                user_id=7,
                guild_id=guild,
                channel_id=3,
                top_citation="NASA ¶7",
                top_passage="p-7",
                collection=collection,
                asked_at=at,
            )
        )
        await qlog.attach_message(row, 1000 + n)
    assert await qlog.vote(1003, 8, -1, collection="default") == "new"
    assert await qlog.set_reason(1003, 8, "  gives the plan,\n not the date ")
    assert not await qlog.set_reason(1004, 8, "no vote here")  # a reason needs a 👎
    assert await qlog.vote(1004, 8, 1) == "new"
