"""Building the index file: a full build, an incremental one, and keeping it fresh.

- `reindex.rebuild_sync` / `rebuild`: what `citebot index`, `/reindex`, `citebot eval` and the
  tests call: lock, plan (`incremental.plan_update`), else a full build (`full.build_index_file`),
  then swap the new file in (`indexfile.replacing`).
- `full`: read, parse and analyse in worker processes, stream rows into the new file, build the
  BM25 arrays (`csr`, compiled, for large builds); `term_ids` and `acronym_ids` number terms
  across processes and inject acronyms by id.
- `incremental`: patch a copy of the previous file with only the changed documents.
- `doc_analysis`: what one document contributes (passages, sentence spans, terms), and the rule
  for a passage's BM25 terms (`passage_terms`), written once.
- `sources`: corpus sources (files, folders, URLs, sites, in-memory documents) and the rules for
  skipping one; `params.IndexParams`: everything that shapes an index.
- `refresh`, `source_checks`, `source_times`: checking sources cheaply and rebuilding what changed.
- `reference.build_reference`: the plain sequential definition the real build must equal.
"""

from .params import IndexParams
from .reindex import ReindexResult, rebuild, rebuild_sync
from .sources import CorpusSource, load_corpus

__all__ = ["CorpusSource", "IndexParams", "ReindexResult", "load_corpus", "rebuild", "rebuild_sync"]
