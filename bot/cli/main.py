"""The `citebot` command: index, sources, ask, eval, chat and run.

`main()` owns the resources: it loads the settings, opens (or first builds) the index, and
hands both to whatever the subcommand needs. Errors the user can fix are printed as one line
(exit code 2); anything unexpected prints a traceback (exit code 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from citebot.index.answering.answerer import MAX_TOP_K, Answerer
from citebot.index.build.reindex import rebuild_sync
from citebot.index.build.vectors import describe as describe_vectors
from citebot.index.build.vectors import vector_step
from citebot.index.errors import CitebotError, EmptyCorpusError
from citebot.index.evaluation import EvalSet, evaluate, has_follow_ups, load_eval_set
from citebot.index.indexfile import IndexReader
from citebot.index.source_list import list_sources

from ..building import ProgressBar, open_index, print_warnings, reindex
from ..collection_routing import collection_names, settings_for_collection
from ..collections_config import DEFAULT_COLLECTION
from ..settings import Settings, corpus_sources, default_data_dir, load_settings
from .text_render import render_answer, render_source

log = logging.getLogger("citebot")


# ---------------------------------------------------------------------------------------------
# Shared helpers


def settings_for(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if getattr(args, "collection", None):
        settings = settings_for_collection(settings, args.collection)
    if getattr(args, "db", None):
        settings = replace(settings, db_path=Path(args.db).expanduser().resolve(), default_db=False)
    return settings


# ---------------------------------------------------------------------------------------------
# Subcommands


def cmd_index(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if args.every is not None and not args.watch:
        raise CitebotError("--every goes with --watch (citebot index --watch --every SECONDS)")
    if args.crawl and not any(isinstance(p, str) and "://" in p for p in args.paths):
        raise CitebotError(
            "--crawl needs the URL of a site to crawl, e.g. citebot index https://docs.example.org/ --crawl"
        )
    if args.paths or args.db or args.collection or not settings.collections:
        return _index_one(args, settings)
    if args.watch:
        raise CitebotError(
            "--watch watches one corpus; with [[collections]], name it: citebot index --watch --collection NAME"
        )
    # No paths, no --db, no --collection: every collection, the default first, each on its own.
    for name in collection_names(settings):
        print(f"Collection {name}:")
        _index_one(args, settings_for_collection(settings, name))
    return 0


def _index_one(args: argparse.Namespace, settings: Settings) -> int:
    sources = corpus_sources(settings, args.paths or None, args.allow_private_addresses, crawl=args.crawl)
    result = reindex(settings, sources, verbose=args.verbose)
    info = result.info
    if result.incremental:
        print(
            f"Updated: {result.analysed} new or changed documents analysed, {result.reused} unchanged kept, "
            f"{result.removed} removed."
        )
    print(
        f"Indexed {info.documents} documents into {info.passages} passages, {info.terms} terms, "
        f"in {result.seconds:.2f} s (generation {info.generation}) -> {info.path}"
    )
    vectors = describe_vectors(info.meta) if settings.answer.semantic else None
    if vectors:
        print(vectors)
    if args.watch:
        from .watch import watch

        return watch(settings, sources, args.every if args.every is not None else 2.0, verbose=args.verbose)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from .sources_render import render_sources_json, render_sources_text

    settings = settings_for(args)
    sources = list_sources(settings.db_path)
    print(render_sources_json(settings.db_path, sources) if args.json else render_sources_text(sources))
    return 0


async def _ask(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    reader = await open_index(settings)
    try:
        answerer = Answerer(reader, settings.answer)
        color = sys.stdout.isatty()
        if args.question == "-":
            for line in sys.stdin:
                if not line.strip():
                    continue
                answer = await answerer.ask(line.rstrip("\n"), args.top_k, args.context)
                if args.json:
                    print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
                else:
                    print(render_answer(answer, color) + "\n", flush=True)
            return 0
        answer = await answerer.ask(args.question, args.top_k, args.context)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            print(render_answer(answer, color))
        return 0
    finally:
        await reader.close()


async def _eval(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    ks = tuple(sorted({int(k) for k in args.k.split(",") if k.strip()}))
    if not ks or min(ks) < 1 or max(ks) > 10:
        raise CitebotError("--k takes whole numbers from 1 to 10, e.g. --k 1,3,5")
    eval_set = load_eval_set(Path(args.file).expanduser())
    semantic = settings.answer.semantic if args.semantic is None else args.semantic
    settings = replace(settings, answer=replace(settings.answer, semantic=semantic))
    with tempfile.TemporaryDirectory(prefix="citebot-eval-") as tmp:
        db = settings.db_path if args.db else Path(tmp) / "eval.sqlite3"
        if args.db and not (args.rebuild or args.corpus) and db.exists():
            print(f"using the index at {db} (--rebuild to build it again)", file=sys.stderr)
        else:
            await _build_eval_index(args, settings, eval_set, db)
        reader = await IndexReader.open(db)
        try:
            info = reader.info
            # With the semantic re-rank on, both paths are measured on the same index.
            paths = [("lexical", False), ("semantic", True)] if semantic else [("", False)]
            # A set of follow-ups is also asked without their earlier questions, and with them
            # pasted in front: what the context brings, measured on the same index.
            modes = [("", "context")]
            if has_follow_ups(eval_set):
                modes = [("with context", "context"), ("without context", "alone"), ("pasted in front", "pasted")]
            reports = []
            for label, on in paths:
                answerer = Answerer(reader, replace(settings.answer, semantic=on))
                if on and answerer.semantic is None:
                    raise CitebotError(
                        f"the index at {db} has no passage vectors for the semantic re-rank; "
                        f"build it again with --rebuild (or without --db)"
                    )
                for mode_label, mode in modes:
                    both = ", ".join(x for x in (label, mode_label) if x)
                    reports.append(
                        (both, await evaluate(eval_set, answerer.ask, ks, keep_misses=args.misses, context_mode=mode))
                    )
        finally:
            await reader.close()
    print(f"corpus: {info.documents} documents, {info.passages} passages")
    if args.json:
        out = {label: r.as_dict() for label, r in reports} if len(reports) > 1 else reports[0][1].as_dict()
        print(json.dumps(out))
    for label, report in reports:
        if not args.json:
            print((f"[{label}] " if label else "") + report.render())
        for miss in report.misses:
            print(f"  miss{f' ({label})' if label else ''}: {miss}")
    return 0


async def _build_eval_index(args: argparse.Namespace, settings: Settings, eval_set: EvalSet, db: Path) -> None:
    """Index the set's own documents (SQuAD) or the corpus (--corpus, else the configured one)
    into `db`, through the build `citebot index` runs (`rebuild_sync`)."""
    finish = vector_step(settings.answer.semantic, settings.answer.semantic_max_passages, ProgressBar())
    if eval_set.documents is not None:
        sources: list = list(eval_set.documents)
    else:
        sources = corpus_sources(settings, args.corpus or None, args.allow_private_addresses)
    try:
        result = await asyncio.to_thread(rebuild_sync, sources, db, settings.index, None, True, finish)
    except EmptyCorpusError as exc:
        print_warnings(exc.warnings, args.verbose)  # why files or URLs were skipped, before the error
        raise
    if eval_set.documents is None:
        print_warnings(result.warnings, args.verbose)


async def _chat(args: argparse.Namespace) -> int:
    from .chat import chat_loop

    settings = settings_for(args)
    reader = await open_index(settings)
    try:
        return await chat_loop(reader, settings, history=default_data_dir() / "chat-history")
    finally:
        await reader.close()


async def _show(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    reader = await open_index(settings)
    try:
        found = await reader.source(args.id.strip())
    finally:
        await reader.close()
    if found is None:
        raise CitebotError(
            f"no passage has the id {args.id.strip()!r} in {settings.db_path}; "
            f"ids are shown under each answer ('· id …')"
        )
    print(render_source(*found))
    return 0


async def _gaps(args: argparse.Namespace) -> int:
    """The knowledge-gaps report from the state database (what `/gaps` shows, of every server)."""
    from citebot.index.gaps import gap_report

    from ..collection_routing import find_collection
    from ..state.backends import open_state
    from ..state.questionlog import QuestionLog
    from ..state.store import StateStore
    from .text_render import render_gaps

    settings = load_settings(args.config)
    if not 1 <= args.days <= 3650:
        raise CitebotError("--days must be a whole number from 1 to 3650")
    if args.collection:
        find_collection(settings, args.collection)  # a one-line error for an unknown name
    # Opened as the bot opens it, so log.retention_days and log.questions apply here too;
    # --state-db reads that SQLite file even when log.state_url names PostgreSQL.
    qlog: StateStore
    if args.state_db or not settings.log.state_url:
        state = Path(args.state_db).expanduser() if args.state_db else settings.state_db_path
        if not state.is_file():
            raise CitebotError(
                f"no state database at {state}; the bot writes it when it runs (log.state_db), or pass --state-db PATH"
            )
        qlog = await QuestionLog.open(state, enabled=settings.log.questions, retention_days=settings.log.retention_days)
    else:
        qlog = await open_state(settings)
    try:
        since = time.time() - args.days * 86400
        questions = await qlog.gap_questions(since, collection=args.collection)
    finally:
        await qlog.close()
    report = gap_report(questions, args.days, since)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        if not settings.log.questions:
            print("note: question logging is off (log.questions), so no questions are kept to report", file=sys.stderr)
        print(render_gaps(report))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: only `citebot run` needs discord.py (~0.3 s to import),
    # and `citebot ask` should start fast.
    from ..discord.runner import run_bot
    from ..discord.sharding import with_shard_flags

    settings = with_shard_flags(settings_for(args), args.shard_count, args.shard_ids)
    return run_bot(settings, sync_global=args.sync_global)


# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citebot",
        description="Answer questions from your articles with cited passages (BM25, offline).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH", help="config.toml to use (else $CITEBOT_CONFIG, ./config.toml, defaults)"
    )
    common.add_argument("--db", metavar="PATH", help="index file to use instead of the configured one")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="(re)build the index from files, folders and URLs")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=".txt/.md/.html files, folders, or http(s) URLs (default: corpus.paths and corpus.urls)",
    )
    p.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="let URLs reach loopback, private and link-local addresses (refused by default)",
    )
    p.add_argument("--verbose", action="store_true", help="list every skipped file, not a count per kind")
    p.add_argument(
        "--crawl",
        action="store_true",
        help="index each URL given as a whole site: its sitemaps, else its links (corpus.crawl_max_pages, "
        "corpus.crawl_depth)",
    )
    p.add_argument(
        "--collection",
        metavar="NAME",
        help="index this collection only (default: all of them; with PATH or --db: the default)",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="after building, keep polling the files (size and mtime) and reindex what changed; Ctrl-C stops",
    )
    p.add_argument(
        "--every", type=float, default=None, metavar="SECONDS", help="with --watch: seconds between polls (default 2)"
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser(
        "sources", parents=[common], help="list the indexed documents, when each last changed and was checked"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("ask", parents=[common], help="answer one question ('-' reads one per line from stdin)")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--top-k", type=int, default=None, metavar="N", help=f"passages to show (1-{MAX_TOP_K})")
    p.add_argument("--json", action="store_true", help="print one JSON object per question")
    p.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="EARLIER",
        help="an earlier question the question follows up (repeat for more, oldest first)",
    )
    p.add_argument("--collection", metavar="NAME", help=f"answer from this collection (default: {DEFAULT_COLLECTION})")
    p.set_defaults(func=lambda a: asyncio.run(_ask(a)))

    p = sub.add_parser("eval", parents=[common], help="measure hit@k and MRR@10 on a question set")
    p.add_argument("file", metavar="FILE", help="a seed .jsonl set, or the SQuAD folder")
    p.add_argument("--k", default="1,3,5", help="cut-offs for hit@k (default 1,3,5)")
    p.add_argument(
        "--corpus",
        nargs="+",
        metavar="PATH",
        help="files, folders or URLs to index for seed sets (default: corpus.paths and corpus.urls)",
    )
    p.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="let --corpus URLs reach loopback, private and link-local addresses (refused by default)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument(
        "--misses",
        type=int,
        default=0,
        metavar="N",
        help="list up to N questions not answered right first (with their rank), declined, or wrongly answered",
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="with --db: build the index again even when one is there (default: reuse it)",
    )
    p.add_argument("--verbose", action="store_true", help="list every file --corpus skipped, not a count per kind")
    p.add_argument(
        "--semantic",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure the semantic re-rank too, beside the lexical path (default: answer.semantic; "
        "needs citebot[semantic])",
    )
    p.set_defaults(func=lambda a: asyncio.run(_eval(a)))

    p = sub.add_parser("chat", parents=[common], help="ask questions interactively, answered as the bot would")
    p.add_argument("--collection", metavar="NAME", help=f"answer from this collection (default: {DEFAULT_COLLECTION})")
    p.set_defaults(func=lambda a: asyncio.run(_chat(a)))

    p = sub.add_parser("show", parents=[common], help="show a passage in full, with its citation and neighbours")
    p.add_argument("id", metavar="ID", help="a passage id, as shown under each answer")
    p.add_argument("--collection", metavar="NAME", help=f"the collection it is in (default: {DEFAULT_COLLECTION})")
    p.set_defaults(func=lambda a: asyncio.run(_show(a)))

    p = sub.add_parser("gaps", help="questions declined or voted down, grouped by the words they share")
    p.add_argument(
        "--config", metavar="PATH", help="config.toml to use (else $CITEBOT_CONFIG, ./config.toml, defaults)"
    )
    p.add_argument("--days", type=int, default=7, metavar="N", help="how many days back (default 7)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--collection", metavar="NAME", help="only questions answered from this collection")
    p.add_argument("--state-db", metavar="PATH", help="state database to read instead of log.state_db")
    p.set_defaults(func=lambda a: asyncio.run(_gaps(a)))

    p = sub.add_parser("config", help="print the sample config.toml (every setting, its default and help)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--sample", action="store_true", help="the commented config.toml (the default)")
    shown.add_argument("--readme", action="store_true", help="the README's settings table (Markdown)")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("run", parents=[common], help="run the Discord bot (token from DISCORD_TOKEN)")
    p.add_argument(
        "--sync-global",
        action="store_true",
        help="also publish the slash commands globally (an owner action; takes up to an hour to show)",
    )
    p.add_argument(
        "--shard-count", metavar="N", help='gateway shards in all: 0, N or "auto" (overrides discord.shard_count)'
    )
    p.add_argument(
        "--shard-ids", metavar="0,1", help="the shards this process runs, of --shard-count (discord.shard_ids)"
    )
    p.set_defaults(func=cmd_run)
    return parser


def cmd_config(args: argparse.Namespace) -> int:
    """`citebot config [--sample | --readme]`: the text generated from bot/settings_table.py."""
    from ..settings_table import readme_table, sample_config

    sys.stdout.write(readme_table() + "\n" if args.readme else sample_config())
    return 0


def version() -> str:
    """The installed distribution's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("citebot")
    except PackageNotFoundError:
        return "(not installed)"


def command_list(parser: argparse.ArgumentParser) -> str:
    """What bare `citebot` prints: each command with its one line of help."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rows = [(choice.dest, choice.help or "") for choice in sub._choices_actions]
    width = max(len(name) for name, _ in rows)
    lines = ["usage: citebot COMMAND [options]   (citebot COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        print(command_list(parser))
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "top_k", None) is not None and not 1 <= args.top_k <= MAX_TOP_K:
        print(f"citebot: error: --top-k must be between 1 and {MAX_TOP_K}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except CitebotError as exc:
        print(f"citebot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
