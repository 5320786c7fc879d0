"""What the sharding tests share: guilds spread over shards, and which process sent a request.

Why guild ids are chosen: the loopback server numbers guilds by time, so which shard a guild
lands on would be chance; `guilds_over_shards` picks real-looking snowflakes whose shard,
`(id >> 22) % count`, is known. Why `pid_of_port`: two bot processes share one token and one
server, and the server only sees a REST request's client port; /proc says whose socket it is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.support.discord_server import GuildSpec

DISCORD_EPOCH_MS = 1420070400000


def guilds_over_shards(
    shard_count: int, per_shard: int, channels: tuple[str, ...] = ("general", "answers")
) -> list[GuildSpec]:
    """`per_shard` guilds on each of `shard_count` shards, named "shard S guild N"; ids are
    snowflakes of about now (so discord.py's dates make sense), one millisecond apart."""
    base = int(time.time() * 1000) - DISCORD_EPOCH_MS
    base -= base % shard_count  # shard of (base + k) is k % shard_count
    specs = []
    for n in range(per_shard):
        for shard in range(shard_count):
            k = n * shard_count + shard
            specs.append(GuildSpec(name=f"shard {shard} guild {n}", channels=channels, id=((base + k) << 22) | 1))
    return specs


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule, written out again here so the tests do not just reuse the product's."""
    return (guild_id >> 22) % shard_count


def pid_of_port(port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the TCP socket whose local port is `port` (None: none of them)."""
    inodes = _socket_inodes_of_port(port)
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            links = {os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)}
        except OSError:  # gone, or not ours to read
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return pid
    return None


def _socket_inodes_of_port(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[9] != "0":
                inodes.add(fields[9])
    return inodes
