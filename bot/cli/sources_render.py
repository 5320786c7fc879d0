"""`citebot sources` on a terminal and as JSON: the indexed documents and how fresh each is."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from citebot.index.source_list import IndexedSource, iso_time, summarise

_TITLE_WIDTH = 40


def local_time(seconds: float | None) -> str:
    """Local time to the minute, for a person at this machine; "unknown" when not recorded."""
    return "unknown" if seconds is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def render_sources_text(sources: Sequence[IndexedSource]) -> str:
    """One row per document (kind, passages, last changed, last checked, title, path or URL),
    then a line of totals. Times the index does not record (built by an older citebot) say
    "unknown" and the last line says how to get them."""
    header = (
        f"{'KIND':<4}  {'PASSAGES':>8}  {'LAST CHANGED':<16}  {'LAST CHECKED':<16}  "
        f"{'TITLE':<{_TITLE_WIDTH}}  PATH OR URL"
    )
    rows = [header]
    for s in sources:
        title = s.title if len(s.title) <= _TITLE_WIDTH else s.title[: _TITLE_WIDTH - 1] + "…"
        checked = local_time(s.checked_at) + (" !" if s.check_failed else "")
        rows.append(
            f"{s.kind:<4}  {s.passages:>8}  {local_time(s.changed_at):<16}  {checked:<16}  "
            f"{title:<{_TITLE_WIDTH}}  {s.path}"
        )
    summary = summarise(list(sources))
    kinds = ", ".join(f"{kind} {n}" for kind, n in summary.by_kind)
    rows.append(
        f"{summary.documents} documents ({kinds}), {sum(s.passages for s in sources)} passages; "
        f"oldest check {local_time(summary.oldest_checked)}, latest change {local_time(summary.latest_changed)}"
    )
    failed = [s for s in sources if s.check_failed]
    for s in failed[:5]:
        rows.append(f"! {s.path}: the last check failed ({s.check_failed}); the indexed copy stays")
    if len(failed) > 5:
        rows.append(f"! … and {len(failed) - 5} more whose last check failed (--json lists them)")
    if any(s.changed_at is None for s in sources):
        rows.append("(unknown: this index was built before citebot recorded these times; 'citebot index' records them)")
    return "\n".join(rows)


def render_sources_json(db_path: Path, sources: Sequence[IndexedSource]) -> str:
    """One JSON object: the index, a summary, and every document (times in UTC, ISO 8601)."""
    summary = summarise(list(sources))
    return json.dumps(
        {
            "index": str(db_path),
            "documents": summary.documents,
            "by_kind": dict(summary.by_kind),
            "oldest_checked": iso_time(summary.oldest_checked),
            "latest_changed": iso_time(summary.latest_changed),
            "sources": [s.to_json() for s in sources],
        },
        ensure_ascii=False,
    )
