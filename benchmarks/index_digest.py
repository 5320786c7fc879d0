"""Build a corpus the way `citebot index` (or `citebot eval`) does and print the index's content digest.

Why: a change of the build code must leave the index it writes unchanged; run this before and
after and compare (`index.indexfile.digest.content_digest`: one sha256 per part of the file).

    python benchmarks/index_digest.py corpus/                     # as `citebot index corpus/`
    python benchmarks/index_digest.py --eval ../shared/eval/squad  # as `citebot eval` indexes SQuAD

It goes through the CLI's own build functions (`bot.cli.reindex`, `bot.cli._build_eval_index`),
so whatever path those take is what is measured. To measure an older checkout, run this file
with PYTHONPATH pointing there and CITEBOT_DIGEST_MODULE at this checkout's
index/indexfile/digest.py (the older code has no such module).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path


def _digest_function():
    path = os.environ.get("CITEBOT_DIGEST_MODULE")
    if not path:
        from citebot.index.indexfile.digest import content_digest

        return content_digest
    spec = importlib.util.spec_from_file_location("_citebot_digest", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"CITEBOT_DIGEST_MODULE={path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.content_digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="files and folders to index (as `citebot index PATH ...`)")
    parser.add_argument("--eval", metavar="FILE", help="index this eval set's own documents, as `citebot eval` does")
    parser.add_argument("--config", default=None, help="a config.toml (default: as citebot finds it)")
    args = parser.parse_args(argv)
    if bool(args.paths) == bool(args.eval):
        parser.error("give corpus paths or --eval FILE")

    from citebot.bot.cli.main import _build_eval_index, reindex
    from citebot.bot.settings import load_settings
    from citebot.index.evaluation import load_eval_set

    content_digest = _digest_function()
    settings = load_settings(args.config)
    with tempfile.TemporaryDirectory(prefix="citebot-digest-") as tmp:
        db = Path(tmp) / "index.sqlite3"
        settings = replace(settings, db_path=db, default_db=False)
        if args.eval:
            eval_set = load_eval_set(Path(args.eval))
            ns = argparse.Namespace(corpus=None, allow_private_addresses=False, verbose=False)
            asyncio.run(_build_eval_index(ns, settings, eval_set, db))
        else:
            reindex(settings, [Path(p).resolve() for p in args.paths], quiet=True)
        print(json.dumps(content_digest(db), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
