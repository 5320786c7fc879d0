"""index.ranking.vocabulary: the C term table finds every stored term and nothing else, and
refuses stored terms that are not a dictionary (duplicates, bytes that are not UTF-8 there)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citebot.index.ranking.vocabulary import Vocabulary, encode_terms


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=12), unique=True, max_size=300), st.lists(st.text(max_size=12)))
def test_every_term_is_found_at_its_id_and_no_other_string_is(terms: list[str], others: list[str]) -> None:
    vocab = Vocabulary.of(terms)
    assert len(vocab) == len(terms)
    assert [vocab.get(t) for t in terms] == list(range(len(terms)))
    for other in others:
        assert vocab.get(other) == (terms.index(other) if other in terms else None)
    assert vocab.terms() == terms


def test_a_million_terms_each_found() -> None:
    terms = [f"t{i:x}é" for i in range(1_000_000)]
    vocab = Vocabulary.of(terms)
    assert all(vocab.get(terms[i]) == i for i in range(0, 1_000_000, 997))
    assert vocab.get("t0") is None and vocab.get("\ud800") is None  # (a lone surrogate)


def test_stored_terms_that_are_not_a_dictionary_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate terms"):
        Vocabulary.of(["cat", "dog", "cat"])
    arrays = encode_terms(["é", "x"])  # b"\xc3\xa9x": a term starting at byte 1 splits "é"
    with pytest.raises(ValueError, match="not valid UTF-8"):
        Vocabulary(arrays["terms_utf8"], np.array([0, 1, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="not valid UTF-8"):
        Vocabulary(np.frombuffer(b"\xffab", dtype=np.uint8), np.array([0, 1, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="inconsistent"):
        Vocabulary(arrays["terms_utf8"], np.array([0, 1, 9], dtype=np.int64))
