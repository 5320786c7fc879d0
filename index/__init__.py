"""citebot.index: the library. Documents in, an index file built, questions answered with citations.

No discord import and nothing configured at import: the adapters (`citebot.bot`) pass settings in.
The subpackages, in the order a document travels (docs/architecture.md draws it):

- `ingest`: files, pages and sites into documents and passages;
- `analysis`: text into terms, sentences and acronyms;
- `build`: documents into the index file (full, incremental, refresh);
- `indexfile`: the file itself, its only owner (schema, writer, reader, lock, atomic swap);
- `ranking`: BM25, the re-rank, source weights, the optional semantic re-rank;
- `answering`: the Answerer, from a question to a cited answer or a decline;

and `evaluation` (`citebot eval`), `gaps` (questions the sources did not answer), `source_list`
(what is indexed), `errors` (what a user can act on).
"""
