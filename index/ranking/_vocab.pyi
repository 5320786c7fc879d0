"""Types of the C extension compiled from _vocab.c (mypy cannot read a compiled module);
`vocabulary.Vocabulary` wraps it and says what each function does."""

import numpy as np

def build(terms_utf8: np.ndarray, terms_offsets: np.ndarray, /) -> bytes: ...
def lookup(table: bytes, terms_utf8: np.ndarray, terms_offsets: np.ndarray, term: str, /) -> int: ...
