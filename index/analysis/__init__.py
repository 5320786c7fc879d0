"""Text analysis: what Citebot reads in a text, independent of any index.

The pieces every build and every question go through:

- `analyzer`: text to index terms (tokenisation, case folding, stopwords, Snowball stems) and
  the encoding of a passage's sentence terms as the index stores them;
- `sentences` and `punkt`: sentence spans (Punkt with the shipped abbreviations, per run of
  prose lines);
- `acronyms`: acronym definitions ("Long Form (LF)") and their expansion in term lists;
- `_termscan` (compiled from `_termscan.c` when Citebot is installed): a clean passage
  tokenised and mapped to terms in one pass, word counts, term numbering;
- `word_families` and `answer_types`: the looser word and sentence shapes the answering rules
  ask about (Lancaster families, what kind of answer a question wants);
- `data/`: the English stopword list.

`reference` holds the same rules spelled out with nltk and plain loops, for the tests that
compare them with these; production never imports it. Spelling correction and a question's
search terms (`answering.spelling`, `answering.question_terms`) stay outside: they analyse a question
against one index's vocabulary and frequencies.
"""

from ._termscan import TermTable, count_words, number_terms, scan_passage
from .acronyms import AcronymExpander, AcronymMap, append_short_forms, find_definitions
from .analyzer import (
    ANALYZER_VERSION,
    DOTTED,
    EXTRA_STOPWORDS,
    QUESTION_MEASURES,
    SHOUT,
    TOKENIZER,
    WORD_PATTERN,
    WORD_RE,
    Analyzer,
    chars_agree,
    content_terms,
    decode_sentence_terms,
    drop_measure_words,
    encode_sentence_terms,
    english_stopwords,
    fold_token,
    is_mixed,
    original_tokens,
    raw_tokens,
    text_terms_are_sentence_terms,
    undot,
)
from .answer_types import AnswerType, answer_type, holds_answer, question_words
from .punkt import ABBREVIATIONS, line_spans, punkt_tokenizer
from .sentences import WRAPPED_LINE_CHARS, line_runs, sentence_spans, split_sentences
from .word_families import MIN_FAMILY_STEM, family, same_family

__all__ = [
    # analyzer
    "ANALYZER_VERSION",
    "Analyzer",
    "DOTTED",
    "EXTRA_STOPWORDS",
    "QUESTION_MEASURES",
    "SHOUT",
    "TOKENIZER",
    "WORD_PATTERN",
    "WORD_RE",
    "chars_agree",
    "content_terms",
    "decode_sentence_terms",
    "drop_measure_words",
    "encode_sentence_terms",
    "english_stopwords",
    "fold_token",
    "is_mixed",
    "original_tokens",
    "raw_tokens",
    "text_terms_are_sentence_terms",
    "undot",
    # sentences, punkt
    "ABBREVIATIONS",
    "WRAPPED_LINE_CHARS",
    "line_runs",
    "line_spans",
    "punkt_tokenizer",
    "sentence_spans",
    "split_sentences",
    # acronyms
    "AcronymExpander",
    "AcronymMap",
    "append_short_forms",
    "find_definitions",
    # _termscan
    "TermTable",
    "count_words",
    "number_terms",
    "scan_passage",
    # word_families, answer_types
    "MIN_FAMILY_STEM",
    "family",
    "same_family",
    "AnswerType",
    "answer_type",
    "holds_answer",
    "question_words",
]
