"""Every config.toml setting, once: its name, type, default, help and what it allows.

Why one table: the defaults used to live in three places (the dataclasses, literals in the
parser, the sample config.toml) and drifted. Now `SETTINGS` is the source of each setting's
name, type, help and allowed values; `bot/settings.py` reads config.toml through it, and the
committed `config.toml` and the README's settings table are generated from it
(`sample_config()`, `readme_table()`; `citebot config --sample`), with tests that they agree.

A default that belongs to a library dataclass in index/ (IndexParams, AnswerParams,
RerankWeights, FetchOptions, CrawlLimits) is read from that dataclass here, so it is written
once; those dataclasses also keep their own validation (they are used without config.toml).
The bot's own dataclasses (DiscordSettings, LogSettings) take their defaults from this table.

Adding a setting is adding a row (and reading `row.read(section)` where it is used): the
parser's list of known keys, the sample config and the README table follow from the row.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from citebot.index.answering.answerer import RERANK_KEYS, AnswerParams
from citebot.index.build.params import IndexParams
from citebot.index.errors import ConfigError
from citebot.index.ingest.crawl import CrawlLimits
from citebot.index.ingest.fetch import FetchOptions, is_url

MB = 1024 * 1024
# Where the comment of each line of the sample config starts, and how wide it may run.
COMMENT_COLUMN = 30
LINE_WIDTH = 118

# What each type reads (TOML value -> Python value); the types that end in "raw" are passed on
# as written and checked where they are used (paths resolved against the config's folder,
# glob patterns and weights by index/ingest/source_rules.py).
TYPES = ("bool", "int", "number", "str", "ids", "urls", "path", "paths", "patterns", "weights", "shards", "shard_ids")
# discord.shard_count's one word: one process takes the count Discord recommends (/gateway/bot).
AUTO_SHARDS = "auto"


@dataclass(frozen=True)
class Setting:
    """One row: `name` is "section.key"; `default` is the value as config.toml writes it."""

    name: str
    type: str
    default: Any
    help: str
    minimum: float | None = None  # inclusive bounds of a number
    maximum: float | None = None
    above: float | None = None  # an exclusive lower bound ("more than 0")
    choices: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()  # a string must start with one of these (URL schemes)
    # What an error says is allowed, when the bounds do not say it well (of a number: for a
    # value of the wrong type too, as "a guild id (a whole number), or 0 for none").
    allowed: str = ""
    normalise: Callable[[str], str] | None = None  # applied to a string before it is checked
    more: tuple[str, ...] = ()  # further comment lines, in the sample config only

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"setting {self.name}: unknown type {self.type!r}")

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    def read(self, table: Mapping[str, Any]) -> Any:
        """This setting's value in its section's `table` (the default when absent), checked:
        a ConfigError names the key and says what is allowed."""
        value = table.get(self.key, self.default)
        if self.type == "bool":
            if not isinstance(value, bool):
                self._fail("true or false", value)
        elif self.type in ("int", "number"):
            if isinstance(value, bool) or not isinstance(value, int if self.type == "int" else (int, float)):
                self._fail(self.allowed or ("a whole number" if self.type == "int" else "a number"), value)
            value = value if self.type == "int" else float(value)
        elif self.type == "str":
            value = str(value)  # as before the table: any scalar is taken as its text
            if self.normalise is not None:
                value = self.normalise(value)
        elif self.type == "ids":
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
            ):
                raise ConfigError(f"{self.name} must be a list of ids (whole numbers)")
            return tuple(value)
        elif self.type == "shards":
            # 0 (unsharded), a positive count, or "auto": the one place that reads discord.shard_count.
            if isinstance(value, str) and value.strip().lower() == AUTO_SHARDS:
                return AUTO_SHARDS
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self._fail(self.allowed, value)
            return value
        elif self.type == "shard_ids":
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
            ):
                raise ConfigError(f"{self.name} must be {self.allowed}, got {value!r}")
            if len(set(value)) != len(value):
                raise ConfigError(f"{self.name} must not name a shard twice, got {value!r}")
            return tuple(value)
        elif self.type == "urls":
            if not isinstance(value, list) or not all(isinstance(u, str) and is_url(u) for u in value):
                raise ConfigError(f"{self.name} must be {self.allowed or 'a list of http(s) URLs'}")
            return [u.strip() for u in value]
        else:
            return value
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        """The bounds, choices and prefixes of the row (its type already checked)."""
        ok = (
            (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
            and (self.above is None or value > self.above)
            and (not self.choices or value in self.choices)
            and (not self.prefixes or str(value).startswith(self.prefixes))
        )
        if not ok:
            self._fail(self.allowed or self.allowed_text(), value)

    def allowed_text(self) -> str:
        """What the bounds allow, in words ("between 1 and 4000", "more than 0", ...)."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.minimum is not None and self.maximum is not None:
            return f"between {_num(self.minimum)} and {_num(self.maximum)}"
        if self.minimum is not None:
            return f"{_num(self.minimum)} or more"
        if self.above is not None:
            return f"more than {_num(self.above)}"
        if self.maximum is not None:
            return f"at most {_num(self.maximum)}"
        return "valid"

    def _fail(self, allowed: str, value: Any) -> None:
        got = _num(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
        raise ConfigError(f"{self.name} must be {allowed}, got {got}")


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _answer(key: str) -> Any:
    """The default of answer.KEY: AnswerParams' field, or the re-rank weight it names."""
    defaults = AnswerParams()
    return getattr(defaults.weights, RERANK_KEYS[key]) if key in RERANK_KEYS else getattr(defaults, key)


def _answer_type(key: str) -> str:
    value = _answer(key)
    return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "number"


def _answer_row(key: str, help: str) -> Setting:
    """An [answer] row: its type and default are AnswerParams' (which also checks its bounds)."""
    return Setting(f"answer.{key}", _answer_type(key), _answer(key), help)


_INDEX, _FETCH, _CRAWL = IndexParams(), FetchOptions(), CrawlLimits()

SETTINGS: tuple[Setting, ...] = (
    # [corpus]: what is indexed (IndexParams, FetchOptions and CrawlLimits hold the defaults).
    Setting(
        "corpus.paths",
        "paths",
        ["corpus"],
        "files and folders to index (.txt, .md, .html, .docx, .pdf), searched recursively; http(s) URLs too "
        "(without this key: the bundled article)",
    ),
    Setting("corpus.urls", "urls", [], 'web pages to fetch and index, e.g. ["https://example.org/article"]'),
    Setting(
        "corpus.max_file_mb",
        "number",
        _INDEX.max_file_bytes / MB,
        "files larger than this (PDFs too) are skipped with a warning",
        above=0,
    ),
    Setting(
        "corpus.max_page_mb",
        "number",
        _FETCH.max_bytes / MB,
        "web pages and fetched PDFs larger than this are not downloaded (the last good copy is kept)",
    ),
    Setting(
        "corpus.fetch_timeout_seconds", "number", _FETCH.timeout, "most time for fetching one page, redirects included"
    ),
    Setting("corpus.max_redirects", "int", _FETCH.max_redirects, "most redirects followed for one page"),
    Setting(
        "corpus.allow_private_addresses",
        "bool",
        _FETCH.allow_private_addresses,
        "let URLs reach loopback, private and link-local addresses (refused by default)",
    ),
    Setting(
        "corpus.sites",
        "urls",
        [],
        'whole sites to crawl and index, e.g. ["https://docs.example.org/"]: pages from their sitemaps '
        "(robots.txt Sitemap: lines, else /sitemap.xml), else by following links; robots.txt is obeyed, "
        "the crawl stays in the URL's folder; same as `citebot index URL --crawl`",
        allowed='a list of http(s) URLs, e.g. ["https://docs.example.org/"]',
    ),
    Setting(
        "corpus.crawl_max_pages",
        "int",
        _CRAWL.max_pages,
        "most pages requested from one site (more found: a warning says how many were left)",
    ),
    Setting(
        "corpus.crawl_depth",
        "int",
        _CRAWL.max_depth,
        "most links from the start page when a site has no sitemap (0 = the start page only)",
    ),
    Setting(
        "corpus.exclude",
        "patterns",
        [],
        "glob patterns of files to leave out, matched against the path inside each corpus folder, "
        'e.g. ["drafts/**", "*.tmp.md"]; excluded files are counted in the build\'s warnings',
    ),
    Setting(
        "corpus.weights",
        "weights",
        [],
        "how much each source counts: a list of {pattern, weight} tables, the first match wins and "
        "multiplies the scores of that file's passages (0 < weight <= 10; 1 = no change)",
        more=(
            'e.g. weights = [{ pattern = "changelog*", weight = 0.5 },',
            '                 { pattern = "release-notes.md", weight = 0.5 }]',
            "or, instead of this line, one [[corpus.weights]] table per pattern after [corpus]:",
            "  [[corpus.weights]]",
            '  pattern = "changelog*"',
            "  weight = 0.5",
        ),
    ),
    Setting(
        "corpus.refresh_minutes",
        "number",
        0.0,
        "the running bot checks its files (size, mtime) and pages (ETag/Last-Modified) this often and "
        "reindexes only what changed; 0 = never (only /reindex and `citebot index`)",
        minimum=0,
    ),
    # [index]: how passages and terms are made (IndexParams holds the defaults and checks them).
    Setting(
        "index.db",
        "path",
        "",
        'index file; "" = index.sqlite3 in your per-user data folder (~/.local/share/citebot on Linux)',
    ),
    Setting("index.k1", "number", _INDEX.bm25.k1, "BM25 term-frequency saturation (lower: repeats count less)"),
    Setting("index.b", "number", _INDEX.bm25.b, "BM25 length normalisation (0 = none, 1 = full)"),
    Setting(
        "index.max_words", "int", _INDEX.passages.max_words, "most words in one passage (passages never cut a sentence)"
    ),
    Setting(
        "index.join_below",
        "int",
        _INDEX.passages.join_below,
        "a paragraph shorter than this joins the next one in its section",
    ),
    Setting(
        "index.context_weight",
        "int",
        _INDEX.context_weight,
        "how many times the title and section heading count for each passage",
    ),
    # [answer]: how answers are chosen (AnswerParams and RerankWeights hold the defaults).
    _answer_row("top_k", "passages shown with an answer"),
    _answer_row("candidates", "BM25 candidates re-ranked by their best sentence"),
    _answer_row("sentence_weight", "re-ranking: weight of the best sentence's BM25 score"),
    _answer_row("sentence_coverage_weight", "re-ranking: weight of the question words (IDF) the best sentence covers"),
    _answer_row("passage_coverage_weight", "re-ranking: weight of the question words (IDF) the passage covers"),
    _answer_row("ordered_pairs_weight", "re-ranking: weight of question word pairs found side by side, in order"),
    _answer_row(
        "number_weight", "re-ranking: bonus for a matching sentence with a number, for when/how-many questions"
    ),
    _answer_row("name_weight", "re-ranking: bonus for a matching sentence with a name, for who-questions"),
    _answer_row(
        "answer_type_weight",
        "highlight: a sentence holding the kind of answer asked for (a date for "
        '"when", ...) wins if it scores 1/(1+this) of the best',
    ),
    _answer_row("sentence_k1", "BM25 k1 for scoring single sentences"),
    _answer_row("sentence_b", "BM25 b for scoring single sentences"),
    _answer_row("min_coverage", "answer when the top passage covers this share of the question's words (weighted)..."),
    _answer_row("weak_coverage", "...or at least this share (= min_coverage: this second way is off)"),
    _answer_row("min_margin", '...and outscores the runner-up by this factor; otherwise "not in my sources"'),
    _answer_row("english_prior", "word weights count this many passages of general English beside the corpus"),
    _answer_row("common_rank", "...in which each of the this-many most common English words is in every passage"),
    _answer_row("correct_typos", "search a misspelt question word as the corpus word one or two edits away"),
    _answer_row(
        "semantic",
        "mix a sentence-vector cosine into the re-rank (needs: pip install "
        "'citebot[semantic]'; vectors made by `citebot index`)",
    ),
    _answer_row("semantic_weight", "semantic: weight of the (min-max normalised) cosine against the lexical score"),
    _answer_row("semantic_candidates", "semantic: BM25 candidates re-ranked when it is on"),
    _answer_row(
        "semantic_max_passages",
        "semantic: a larger corpus gets no vectors and stays lexical (embedding: ~12 passages/s)",
    ),
    _answer_row("semantic_similarity", "semantic: a passage this close in meaning (cosine) answers ..."),
    _answer_row("semantic_weak_coverage", "semantic: ... when it covers this much of the question's words"),
    # [discord]: how the bot connects and where it answers (bot/settings.py DiscordSettings).
    Setting(
        "discord.api_base",
        "str",
        "https://discord.com/api/v10",
        "REST base URL (change for a self-hosted Discord-compatible server)",
        prefixes=("http://", "https://"),
        allowed="an http(s) URL",
        normalise=lambda s: s.rstrip("/"),
    ),
    Setting(
        "discord.gateway_url",
        "str",
        "wss://gateway.discord.gg",
        "gateway URL",
        prefixes=("ws://", "wss://"),
        allowed="a ws(s) URL",
        normalise=lambda s: s.rstrip("/"),
    ),
    Setting(
        "discord.answer_channels",
        "ids",
        [],
        "channel ids where every question is answered (needs the message-content intent)",
    ),
    Setting("discord.answer_dms", "bool", False, "answer direct messages"),
    Setting(
        "discord.reply_in_thread",
        "bool",
        False,
        "answer in a new thread started on the question; follow-ups there are answered with context",
    ),
    Setting(
        "discord.answer_forums",
        "ids",
        [],
        "forum channel ids whose every new post is answered in its own thread (needs the message-content intent)",
    ),
    Setting(
        "discord.dev_guild",
        "int",
        0,
        "guild id to sync slash commands to at start-up (0 = none)",
        minimum=0,
        allowed="a guild id (a whole number), or 0 for none",
    ),
    Setting("discord.owner_ids", "ids", [], "user ids allowed to run owner actions (/reindex, global command sync)"),
    Setting("discord.cooldown_seconds", "number", 10.0, "per-user window for the question limit...", minimum=0),
    Setting("discord.cooldown_questions", "int", 3, "...and how many questions a user may ask in it", minimum=1),
    Setting(
        "discord.max_question_chars", "int", 500, "longer questions are refused with a message", minimum=1, maximum=4000
    ),
    Setting(
        "discord.reload_check_seconds",
        "number",
        2.0,
        "how often the bot checks for a new index written by `citebot index`",
        above=0,
    ),
    Setting(
        "discord.shard_count",
        "shards",
        0,
        "gateway shards in all: 0 = unsharded (one connection), a number N (this process runs discord.shard_ids "
        'of them), or "auto" (one process runs as many as Discord recommends)',
        allowed='0, a whole number of shards, or "auto"',
        more=(
            "a guild is answered by shard (guild_id >> 22) % shard_count; processes that split the",
            "shards share one log.state_url (PostgreSQL), so /stats and the cooldown see them all",
        ),
    ),
    Setting(
        "discord.shard_ids",
        "shard_ids",
        [],
        "the shards this process runs, each below discord.shard_count (empty = all of them)",
        allowed="a list of shard numbers (whole numbers from 0)",
    ),
    # [log]: what the bot remembers, and how it logs (bot/settings.py LogSettings).
    Setting("log.questions", "bool", True, "remember each question (time, channel, hashed user, answer) for /stats"),
    Setting("log.retention_days", "int", 30, "forget questions older than this", minimum=0),
    Setting(
        "log.level",
        "str",
        "INFO",
        "log level: DEBUG, INFO, WARNING, ERROR",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        normalise=str.upper,
    ),
    Setting("log.state_db", "path", "", 'question log and feedback; "" = state.sqlite3 in your per-user data folder'),
    Setting(
        "log.state_url",
        "str",
        "",
        'PostgreSQL URL of state shared by several bot processes; "" = the log.state_db file',
        more=(
            "no password here: put the URL in CITEBOT_STATE_URL (it overrides this), or the password",
            "in a .pgpass file; needs pip install 'citebot[postgres]'",
        ),
    ),
)


# The keys of one [[collections]] table (bot/collections_config.py checks them), with the value
# the sample shows and what each means.
COLLECTION_ROWS: tuple[tuple[str, str, str], ...] = (
    ("name", '"garden"', '1-32 lower-case letters, digits, - or _; not "default"'),
    ("paths", '["garden-docs"]', "files and folders (and URLs), as corpus.paths"),
    ("urls", "[]", "web pages, as corpus.urls"),
    ("sites", "[]", "whole sites to crawl, as corpus.sites (corpus.crawl_max_pages, crawl_depth apply)"),
    ("exclude", "[]", "as corpus.exclude, for this collection only"),
    ("weights", "[]", "as corpus.weights, for this collection only"),
    ("channels", "[123456789012345678]", "channel ids it answers in (a channel serves one collection)"),
    ("guilds", "[]", "guild ids it answers in, where no channel's collection says otherwise"),
    ("db", '""', '"" = index-NAME.sqlite3 beside index.db; else its own index file'),
)


def setting(name: str) -> Setting:
    """The row called `name` ("answer.top_k")."""
    return next(row for row in SETTINGS if row.name == name)


def default(name: str) -> Any:
    """The default of setting `name`, as it is read (a number as float, ids as a tuple, ...)."""
    return setting(name).read({})


def sections() -> tuple[str, ...]:
    """The sections, in the order of their first row."""
    return tuple(dict.fromkeys(row.section for row in SETTINGS))


def section_rows(section: str) -> tuple[Setting, ...]:
    return tuple(row for row in SETTINGS if row.section == section)


def known_keys() -> dict[str, frozenset[str]]:
    """Every section's keys: any other key in config.toml is an error."""
    return {section: frozenset(row.key for row in section_rows(section)) for section in sections()}


def read_section(section: str, table: Mapping[str, Any], keys: Iterable[str] | None = None) -> dict[str, Any]:
    """The checked values of a section's rows (only those in `keys`, when given)."""
    wanted = None if keys is None else set(keys)
    return {row.key: row.read(table) for row in section_rows(section) if wanted is None or row.key in wanted}


def toml_value(value: Any) -> str:
    """A default as config.toml writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


HEADER = (
    "Citebot settings. Every setting is shown with its default. Relative paths are relative to",
    "this file's folder. The Discord token is never a setting: export DISCORD_TOKEN instead.",
    "Generated from bot/settings_table.py (`citebot config --sample`): change the table, not this file.",
)
COLLECTIONS_INTRO = (
    "More corpora, one per channel (none by default). The [corpus] above is the collection named",
    '"default", answering wherever no collection is mapped. Each [[collections]] table has its own',
    "index file, index-NAME.sqlite3 beside index.db (the per-user data folder by default), built by",
    "`citebot index` (all collections) or `citebot index --collection NAME`, and hot-reloaded on its own.",
    "A question is answered from the collection that lists its channel (a thread: its parent), else",
    "its guild, else the default. `/ask collection:` may choose any collection served where it is",
    "used; a collection that lists no guild and no channel is served everywhere.",
)


def _commented(assignment: str, comments: Iterable[str], indent: str = "") -> list[str]:
    """`assignment` with its comment lines beside it, from COMMENT_COLUMN on."""
    lines: list[str] = []
    first = indent + assignment
    for n, comment in enumerate(comments):
        if n == 0:
            lines.append(f"{first:<{COMMENT_COLUMN - 1}} # {comment}")
        else:
            lines.append(f"{indent:<{COMMENT_COLUMN}}# {comment}")
    return lines or [first]


def _wrapped(row: Setting) -> list[str]:
    width = LINE_WIDTH - COMMENT_COLUMN - 2
    return textwrap.wrap(row.help, width, break_on_hyphens=False) + list(row.more)


def sample_config() -> str:
    """The commented config.toml: every setting with its default, and a [[collections]] example."""
    lines = [f"# {line}" for line in HEADER]
    for section in sections():
        lines += ["", f"[{section}]"]
        for row in section_rows(section):
            lines += _commented(f"{row.key} = {toml_value(row.default)}", _wrapped(row))
    lines += [""] + [f"# {line}" for line in COLLECTIONS_INTRO] + ["#", "# [[collections]]"]
    for key, sample, help in COLLECTION_ROWS:
        lines += _commented(f"{key} = {sample}", [help], indent="# ")
    return "\n".join(lines) + "\n"


README_START = "<!-- settings-table: generated by `citebot config --readme`; edit bot/settings_table.py -->"
README_END = "<!-- /settings-table -->"


def readme_table() -> str:
    """The README's settings table (Markdown), one row per setting, between its markers."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [README_START, "", "| setting | default | meaning |", "| --- | --- | --- |"]
    for row in SETTINGS:
        lines.append(f"| `{row.name}` | `{cell(toml_value(row.default))}` | {cell(row.help)} |")
    keys = ", ".join(f"`{key}`" for key, _, _ in COLLECTION_ROWS)
    lines.append(
        f"| `[[collections]]` | none | further corpora, one per channel "
        f"([below](#collections-one-corpus-per-channel)): {keys} |"
    )
    return "\n".join(lines + ["", README_END])


def with_readme_table(readme: str) -> str:
    """`readme` with the text between the settings-table markers replaced by `readme_table()`."""
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)
    return readme[:start] + readme_table() + readme[end:]
