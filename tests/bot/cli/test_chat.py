"""`citebot chat` on a real terminal (a pty): line editing and history through readline, the
`/help`, `/source ID` and `/quit` commands; and `citebot show`, `--version`, bare `citebot`."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

CITEBOT = Path(sys.executable).with_name("citebot")
DEORBIT = "When will the ISS be deorbited?"
PASSAGE_ID = re.compile(rb"id ([0-9a-f]{16}-\d+)")
NEXT_PROMPT = b"\n? "  # the prompt on a line of its own, after what the last line printed


class Terminal:
    """`citebot chat` as a child on a pseudo-terminal, read and typed into like a person would."""

    def __init__(self, db: Path, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
        env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), TERM="xterm")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become `citebot chat` on the pty
            os.chdir(home)
            os.execve(str(CITEBOT), [str(CITEBOT), "chat", "--db", str(db)], env)
        self.output = b""

    def read_until(self, marker: bytes, seconds: float = 30, start: int = 0) -> bytes:
        deadline = time.monotonic() + seconds
        while marker not in self.output[start:] and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    break
        assert marker in self.output[start:], (marker, self.output[-2000:])
        return self.output[start:]

    def type(self, keys: bytes, until: bytes) -> bytes:
        start = len(self.output)
        os.write(self.fd, keys)
        return self.read_until(until, start=start)

    def wait(self, seconds: float = 20) -> int:
        deadline = time.monotonic() + seconds
        while (done := os.waitpid(self.pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            try:
                self.read_until(b"\0", 0.05)
            except AssertionError:
                pass
        if done[0] != self.pid:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
            raise AssertionError("citebot chat did not exit")
        return os.waitstatus_to_exitcode(done[1])

    def close(self) -> None:
        os.close(self.fd)


def test_chat_edits_lines_recalls_history_and_knows_its_commands(tmp_path: Path, built_index: Path) -> None:
    db = tmp_path / "index.sqlite3"
    db.write_bytes(built_index.read_bytes())
    term = Terminal(db, tmp_path)
    try:
        term.read_until(b"? ")
        first = term.type(f"{DEORBIT}\r".encode(), NEXT_PROMPT)
        assert b"Answer: " in first and b"Sources:" in first
        # Up arrow recalls the question (no "^[[A" typed into it).
        again = term.type(b"\x1b[A\r", NEXT_PROMPT)
        assert b"^[[A" not in again and b"Answer: " in again
        passage = PASSAGE_ID.search(again).group(1)  # type: ignore[union-attr]
        helped = term.type(b"/help\r", NEXT_PROMPT)
        assert b"/source ID" in helped and b"My sources" not in helped
        shown = term.type(b"/source " + passage + b"\r", NEXT_PROMPT)
        assert b"Passage " + passage in shown and b"Answer: " not in shown
        missing = term.type(b"/source nope-1\r", NEXT_PROMPT)
        assert b"No passage has the id 'nope-1'" in missing
        # Left arrows move the cursor back into the line, and a word is typed in place.
        edited = term.type(b"What is JAXA\x1b[D\x1b[D\x1b[D\x1b[Dthe \r", NEXT_PROMPT)
        assert b"Answer: " in edited
        os.write(term.fd, b"/quit\r")
        assert term.wait() == 0
    finally:
        term.close()
    history = (tmp_path / "data" / "citebot" / "chat-history").read_text(encoding="utf-8")
    assert DEORBIT in history and "What is the JAXA" in history
    assert (tmp_path / "data" / "citebot" / "chat-history").stat().st_mode & 0o777 == 0o600


def test_chat_commands_from_a_pipe(tmp_path: Path, built_index: Path) -> None:
    db = tmp_path / "index.sqlite3"
    db.write_bytes(built_index.read_bytes())
    done = subprocess.run(
        [str(CITEBOT), "chat", "--db", str(db)],
        input="help\n/frobnicate\n/quit\nWho?\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "/source ID" in done.stdout and "unknown command '/frobnicate'" in done.stdout
    assert "My sources" not in done.stdout  # none of these was taken as a question


def test_show_prints_a_passage_with_its_citation_and_neighbours(tmp_path: Path, built_index: Path) -> None:
    db = tmp_path / "index.sqlite3"
    db.write_bytes(built_index.read_bytes())
    asked = subprocess.run(
        [str(CITEBOT), "ask", DEORBIT, "--db", str(db)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    passage = PASSAGE_ID.search(asked.stdout.encode()).group(1).decode()  # type: ignore[union-attr]
    shown = subprocess.run(
        [str(CITEBOT), "show", passage, "--db", str(db)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"Passage {passage}\n") and "¶" in shown.stdout
    assert "Before: id " in shown.stdout and "After: id " in shown.stdout
    missing = subprocess.run(
        [str(CITEBOT), "show", "0000-1", "--db", str(db)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert missing.returncode == 2 and "no passage has the id '0000-1'" in missing.stderr


def test_version_and_the_bare_command(tmp_path: Path) -> None:
    version = subprocess.run([str(CITEBOT), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and re.fullmatch(r"citebot \d+\.\d+\.\d+\S*\n", version.stdout)
    bare = subprocess.run([str(CITEBOT)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert bare.returncode == 0
    for command in ("index", "ask", "eval", "chat", "show", "run"):
        assert re.search(rf"^  {command} +\S", bare.stdout, re.M), command
