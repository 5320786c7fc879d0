"""index.bm25: exact BM25 (Lucene IDF) against rank_bm25 as the reference.

The reference ranking is ``LuceneBM25.get_scores`` with the project's tie rule:
documents with score > 0, by score descending, equal scores by smaller index.
BM25Index claims *bit-identical* float64 scores, so scores are compared with
``==`` (which implies the required 1e-6 relative agreement).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import rank_bm25
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import citebot.index.ranking.bm25 as bm25_module
from citebot.index.ranking.bm25 import BM25Index, BM25Params, Hit, lucene_idf
from citebot.index.ranking.reference import LuceneBM25
from tests.support.helpers import bm25_index


@pytest.fixture(autouse=True, params=["numpy", "maxscore"])
def top_k_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: with the numpy approximate pass and with the compiled MaxScore
    one that large corpora use (BM25Index picks it by corpus size)."""
    monkeypatch.setattr(bm25_module, "KERNEL_ABOVE_DOCS", 10**12 if request.param == "numpy" else 0)
    return request.param


def reference_top(ref: LuceneBM25, query: list[str], k: int) -> list[tuple[int, float]]:
    scores = ref.get_scores(query)
    matched = [i for i in range(len(scores)) if scores[i] > 0]
    matched.sort(key=lambda i: (-scores[i], i))
    return [(i, float(scores[i])) for i in matched[: max(k, 0)]]


def as_pairs(hits: list[Hit]) -> list[tuple[int, float]]:
    return [(h.index, h.score) for h in hits]


# --------------------------------------------------------------------------- golden values

# N = 4 documents, lengths 3, 3, 2, 0 -> avgdl = 8 / 4 = 2.0.
TINY = [["cat", "sat", "mat"], ["cat", "cat", "dog"], ["dog", "bark"], []]
K1, B = 1.2, 0.75


def hand_norm(dl: int) -> float:
    return K1 * (1 - B + B * dl / 2.0)


# df(cat) = 2: idf = log(1 + (4 - 2 + 0.5) / (2 + 0.5)) = log(2)
IDF_CAT = math.log(1 + (4 - 2 + 0.5) / (2 + 0.5))
# df(sat) = 1: idf = log(1 + 3.5 / 1.5) = log(10 / 3)
IDF_SAT = math.log(1 + (4 - 1 + 0.5) / (1 + 0.5))
IDF_DOG = IDF_CAT  # df(dog) = 2 too

# norm(dl=3) = 1.2 * (0.25 + 0.75 * 1.5) = 1.65; norm(dl=2) = 1.2 * (0.25 + 0.75) = 1.2
GOLDEN = {
    # "cat" in doc 1: tf 2 -> log 2 * 2 * 2.2 / (2 + 1.65)
    ("cat", 1): math.log(2) * (2 * 2.2) / (2 + 1.65),
    # "cat" in doc 0: tf 1 -> log 2 * 2.2 / (1 + 1.65)
    ("cat", 0): math.log(2) * 2.2 / (1 + 1.65),
    # "sat" in doc 0: tf 1 -> log(10/3) * 2.2 / 2.65
    ("sat", 0): math.log(10 / 3) * 2.2 / (1 + 1.65),
    # "dog" in doc 2: tf 1, dl 2 -> log 2 * 2.2 / (1 + 1.2) = log 2 exactly
    ("dog", 2): math.log(2) * 2.2 / (1 + 1.2),
}


def test_hand_arithmetic_matches_formula() -> None:
    assert IDF_CAT == pytest.approx(math.log(2), rel=1e-15)
    assert IDF_SAT == pytest.approx(math.log(10 / 3), rel=1e-15)
    assert hand_norm(3) == pytest.approx(1.65, rel=1e-15)
    assert hand_norm(2) == pytest.approx(1.2, rel=1e-15)
    assert GOLDEN[("dog", 2)] == pytest.approx(math.log(2), rel=1e-15)


@pytest.mark.parametrize("impl", ["reference", "index"])
def test_golden_scores(impl: str) -> None:
    if impl == "reference":
        ref = LuceneBM25(TINY, k1=K1, b=B)

        def score(q: list[str], d: int) -> float:
            return float(ref.get_scores(q)[d])
    else:
        index = bm25_index(TINY, BM25Params(K1, B))

        def score(q: list[str], d: int) -> float:
            return index.scores(q, [d])[0]

    for (term, doc), want in GOLDEN.items():
        assert score([term], doc) == pytest.approx(want, rel=1e-12)
    # sums over query tokens, repeated tokens count twice, unknown tokens add 0
    assert score(["cat", "sat"], 0) == pytest.approx(GOLDEN[("cat", 0)] + GOLDEN[("sat", 0)], rel=1e-12)
    assert score(["cat", "cat", "nope"], 1) == pytest.approx(2 * GOLDEN[("cat", 1)], rel=1e-12)
    assert score(["cat", "dog"], 3) == 0.0  # the empty document


def test_golden_ranking() -> None:
    index = bm25_index(TINY, BM25Params(K1, B))
    hits = index.top_k(["cat", "dog"], 10)
    # doc 1: cat tf 2 + dog tf 1 (dl 3); doc 2: log 2; doc 0: cat only
    want_1 = GOLDEN[("cat", 1)] + IDF_DOG * 2.2 / (1 + 1.65)
    assert [h.index for h in hits] == [1, 2, 0]
    assert hits[0].score == pytest.approx(want_1, rel=1e-12)
    assert hits[1].score == pytest.approx(math.log(2), rel=1e-12)
    assert hits[2].score == pytest.approx(GOLDEN[("cat", 0)], rel=1e-12)
    assert index.n_docs == 4 and index.avgdl == 2.0 and index.vocabulary_size == 5
    assert index.df("cat") == 2 and index.df("nope") == 0
    assert index.idf("sat") == pytest.approx(IDF_SAT, rel=1e-15)
    assert index.idf("nope") == 0.0


def test_kept_largest_impacts_stay_bounded_and_rankings_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bm25_module, "_MAX_IMPACTS_KEPT", 2)
    docs = [[f"w{(i * 7 + j) % 13}" for j in range(5)] for i in range(40)]
    index, ref = bm25_index(docs), LuceneBM25(docs)
    for a in range(13):
        query = [f"w{a}", f"w{(a + 5) % 13}", f"w{(a + 9) % 13}"]
        assert as_pairs(index.top_k(query, 5)) == reference_top(ref, query, 5)
        assert len(index._max_impacts) <= 2


# --------------------------------------------------------------------------- IDF


def test_lucene_idf_stays_positive_where_okapi_does_not() -> None:
    corpus = [["the", "cat"], ["the", "dog"], ["the"]]
    # "the" is in every document: Robertson/Okapi idf log((N - df + .5)/(df + .5)) < 0
    raw_okapi = math.log(3 - 3 + 0.5) - math.log(3 + 0.5)
    assert raw_okapi < 0
    assert lucene_idf(3, 3) == math.log(1 + 0.5 / 3.5) > 0
    okapi = rank_bm25.BM25Okapi(corpus, k1=1.2, b=0.75)
    lucene = LuceneBM25(corpus, k1=1.2, b=0.75)
    # Okapi replaced the negative idf by its epsilon floor; Lucene's idf is used as is.
    assert okapi.idf["the"] == pytest.approx(okapi.epsilon * okapi.average_idf)
    assert lucene.idf["the"] == lucene_idf(3, 3)
    assert lucene.idf["cat"] == lucene_idf(3, 1)

    # A corpus where every term is in every document: Okapi's floor is itself
    # negative, so matching documents score < 0; Lucene scores them > 0.
    same = [["the"], ["the"]]
    assert np.all(rank_bm25.BM25Okapi(same).get_scores(["the"]) < 0)
    assert np.all(LuceneBM25(same).get_scores(["the"]) > 0)
    index = bm25_index(same)
    hits = index.top_k(["the"], 5)
    assert [h.index for h in hits] == [0, 1]  # a tie: smaller index first
    assert hits[0].score == hits[1].score > 0
    assert index.idf("the") == lucene_idf(2, 2) > 0


def test_lucene_idf_rejects_impossible_df() -> None:
    with pytest.raises(ValueError):
        lucene_idf(3, 4)
    with pytest.raises(ValueError):
        lucene_idf(3, -1)


def test_reference_is_rank_bm25_expression() -> None:
    """LuceneBM25.get_scores only differs from BM25Okapi.get_scores (run with
    the Lucene idf table) where the latter is NaN (0/0)."""
    corpus = [["a", "b", "a"], ["b", "c"], ["a"], ["c", "c", "c", "d"]]
    for k1, b in [(1.2, 0.75), (0.5, 0.0), (2.0, 1.0)]:
        ref = LuceneBM25(corpus, k1=k1, b=b)
        for q in (["a"], ["a", "b", "a"], ["d", "zz", "c"]):
            parent = rank_bm25.BM25Okapi.get_scores(ref, q)
            assert np.all(np.isfinite(parent))
            assert ref.get_scores(q).tolist() == parent.tolist()
    # k1 = 0: rank_bm25 computes 0/0 for documents without the term
    ref = LuceneBM25(corpus, k1=0.0, b=0.75)
    with np.errstate(all="ignore"):
        parent = rank_bm25.BM25Okapi.get_scores(ref, ["d"])
    assert np.isnan(parent[0])
    assert ref.get_scores(["d"]).tolist() == [0.0, 0.0, 0.0, lucene_idf(4, 1)]


# --------------------------------------------------------------------------- randomized exactness

VOCAB = ["a", "b", "c", "d", "e", "f", "g", "été", "x y", "new\nline"]
QUERY_VOCAB = VOCAB + ["absent", "zz"]


@st.composite
def corpora(draw: st.DrawFn) -> list[list[str]]:
    vocab = draw(st.lists(st.sampled_from(VOCAB), min_size=1, max_size=len(VOCAB), unique=True))
    docs = draw(st.lists(st.lists(st.sampled_from(vocab), max_size=8), min_size=1, max_size=12))
    # identical documents make exact score ties
    for i in draw(st.lists(st.integers(0, 100), max_size=6)):
        docs.insert(draw(st.integers(0, len(docs))), list(docs[i % len(docs)]))
    return docs


params_strategy = st.builds(
    BM25Params,
    k1=st.one_of(st.sampled_from([0.0, 0.5, 1.2, 2.0]), st.floats(0.0, 5.0)),
    b=st.one_of(st.sampled_from([0.0, 0.75, 1.0]), st.floats(0.0, 1.0)),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=corpora(),
    params=params_strategy,
    queries=st.lists(st.lists(st.sampled_from(QUERY_VOCAB), max_size=6), min_size=1, max_size=4),
    ks=st.lists(st.integers(-1, 15), min_size=1, max_size=3),
)
def test_top_k_matches_reference(
    docs: list[list[str]], params: BM25Params, queries: list[list[str]], ks: list[int]
) -> None:
    ref = LuceneBM25(docs, k1=params.k1, b=params.b)
    index = bm25_index(docs, params)
    assert index.n_docs == len(docs)
    assert index.avgdl == ref.avgdl
    for q in queries:
        scores = ref.get_scores(q)
        assert index.scores(q, list(range(len(docs)))) == scores.tolist()
        for k in ks:
            want = reference_top(ref, q, k)
            got = as_pairs(index.top_k(q, k))
            assert got == want
            for (_, g), (_, w) in zip(got, want):
                assert g == pytest.approx(w, rel=1e-6)


def zipf_corpus(n_docs: int, n_terms: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_terms + 1) ** 1.1
    p /= p.sum()
    docs = []
    for _ in range(n_docs):
        n = int(rng.integers(0, 40))
        docs.append([f"t{i}" for i in rng.choice(n_terms, size=n, p=p)])
    for i in rng.integers(0, n_docs, size=n_docs // 10):  # ties
        docs.append(list(docs[i]))
    return docs


@pytest.mark.parametrize("seed", [0, 1])
def test_top_k_matches_reference_on_a_larger_corpus(seed: int) -> None:
    """Exercises the candidate pruning (k much smaller than the matches)."""
    docs = zipf_corpus(1500, 300, seed)
    ref = LuceneBM25(docs, k1=1.2, b=0.75)
    index = bm25_index(docs)
    rng = np.random.default_rng(seed + 10)
    for _ in range(40):
        q = [f"t{i}" for i in rng.integers(0, 320, size=int(rng.integers(1, 9)))]
        for k in (1, 3, 10, 100):
            assert as_pairs(index.top_k(q, k)) == reference_top(ref, q, k)


def test_edge_cases() -> None:
    index = bm25_index([["a", "b"], ["b"], []])
    assert index.top_k([], 5) == []
    assert index.top_k(["zz"], 5) == []
    assert index.top_k(["a"], 0) == []
    assert index.top_k(["a"], -3) == []
    assert [h.index for h in index.top_k(["b", "a"], 100)] == [0, 1]  # fewer matches than k
    assert index.scores(["a"], []) == []
    s0 = index.scores(["a"], [0])[0]
    assert s0 > 0 and index.scores(["a"], [2, 0, 0]) == [0.0, s0, s0]  # given order, repeats
    with pytest.raises(TypeError):
        index.top_k("a b", 3)  # a string is not a token sequence
    with pytest.raises(TypeError):
        index.top_k(["a"], 2.5)
    with pytest.raises(IndexError):
        index.scores(["a"], [3])
    with pytest.raises(IndexError):
        index.scores(["a"], [-1])

    empty = bm25_index([])
    assert empty.n_docs == 0 and empty.avgdl == 0.0 and empty.vocabulary_size == 0
    assert empty.top_k(["a"], 3) == []
    all_empty = bm25_index([[], []])
    assert all_empty.avgdl == 0.0 and all_empty.top_k(["a"], 3) == []
    assert all_empty.scores(["a"], [0, 1]) == [0.0, 0.0]


def test_large_tf_and_extreme_k1_stay_exact() -> None:
    docs = [["a"] * 70_000 + ["b"], ["a", "b", "b"], ["b"], ["c"] * 3]
    index = bm25_index(docs)
    assert index.to_arrays()["tfs"].dtype == np.uint32  # tf > 65535 is never clipped
    ref = LuceneBM25(docs)
    for q in (["a"], ["b", "a"], ["c", "b"]):
        assert as_pairs(index.top_k(q, 3)) == reference_top(ref, q, 3)
    # k1 far outside float32 range: impacts fall back to float64 arithmetic
    index = bm25_index(docs, BM25Params(k1=1e25, b=0.3))
    ref = LuceneBM25(docs, k1=1e25, b=0.3)
    for q in (["a"], ["b", "a"], ["c", "b"]):
        assert as_pairs(index.top_k(q, 3)) == reference_top(ref, q, 3)


# --------------------------------------------------------------------------- serialisation


def test_arrays_round_trip() -> None:
    docs = zipf_corpus(300, 80, 3) + [["été", "x y", "new\nline", "日本"], []]
    index = bm25_index(docs, BM25Params(k1=0.9, b=0.4))
    arrays = index.to_arrays()
    assert set(arrays) == {
        "format_version",
        "params",
        "doc_len",
        "term_offsets",
        "doc_ids",
        "tfs",
        "terms_utf8",
        "terms_offsets",
    }
    assert arrays["doc_ids"].dtype == np.uint32 and arrays["tfs"].dtype == np.uint16
    assert arrays["doc_len"].dtype == np.uint32 and arrays["term_offsets"].dtype == np.int64
    # as the store does it: raw bytes + dtype string, reloaded with frombuffer (read-only)
    stored = {name: (a.dtype.str, a.tobytes()) for name, a in arrays.items()}
    reloaded = BM25Index.from_arrays(
        {name: np.frombuffer(data, dtype=np.dtype(dt)) for name, (dt, data) in stored.items()}
    )
    from_blobs = BM25Index.from_blobs({name: bytearray(blob) for name, blob in index.to_blobs().items()})
    for other in (reloaded, from_blobs):
        assert other.params == index.params
        assert other.n_docs == index.n_docs and other.avgdl == index.avgdl
        assert other.vocabulary_size == index.vocabulary_size
        for name, a in other.to_arrays().items():
            assert a.dtype == arrays[name].dtype and np.array_equal(a, arrays[name]), name
        for q in (["t0", "t5"], ["t40", "t41", "t40"], ["été", "new\nline"], ["日本"], ["zz"]):
            for k in (1, 5, 50):
                assert other.top_k(q, k) == index.top_k(q, k)
            assert other.scores(q, range(index.n_docs)) == index.scores(q, range(index.n_docs))

    empty = BM25Index.from_blobs(bm25_index([]).to_blobs())
    assert empty.n_docs == 0 and empty.top_k(["a"], 1) == []


def test_from_arrays_rejects_inconsistent_data() -> None:
    good = bm25_index([["a", "b"], ["b", "c"], ["a"]]).to_arrays()

    def broken(**changes: object) -> dict[str, object]:
        arrays: dict[str, object] = {k: np.array(v) for k, v in good.items()}
        for key, value in changes.items():
            if value is None:
                del arrays[key]
            else:
                arrays[key] = value
        return arrays

    cases = [
        broken(doc_ids=None),
        broken(format_version=np.array([99])),
        broken(params=np.array([-1.0, 0.5])),
        broken(doc_ids=good["doc_ids"][::-1].copy()),  # not ascending within terms
        broken(doc_ids=good["doc_ids"] + np.uint32(10)),  # out of range
        broken(tfs=np.zeros_like(good["tfs"])),
        broken(term_offsets=good["term_offsets"][:-1].copy()),
        broken(terms_utf8=np.frombuffer(b"aaaaaa"[: good["terms_utf8"].size], dtype=np.uint8)),
        broken(terms_offsets=np.array([0, 2, 1, 3], dtype=np.int64)),
    ]
    for arrays in cases:
        with pytest.raises(ValueError):
            BM25Index.from_arrays(arrays)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BM25Index.from_blobs({"doc_ids": b"not an npy file"})


# --------------------------------------------------------------------------- params


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k1": -0.1}, "k1"),
        ({"k1": math.inf}, "k1"),
        ({"k1": math.nan}, "k1"),
        ({"b": -0.01}, "b"),
        ({"b": 1.01}, "b"),
        ({"b": math.nan}, "b"),
    ],
)
def test_params_validation(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        BM25Params(**kwargs)


def test_params_types_and_defaults() -> None:
    assert BM25Params() == BM25Params(1.2, 0.75)
    p = BM25Params(k1=1, b=np.float32(0.5))
    assert type(p.k1) is float and type(p.b) is float and (p.k1, p.b) == (1.0, 0.5)
    assert BM25Params(k1=0, b=0) and BM25Params(b=1)
    with pytest.raises(TypeError, match="k1"):
        BM25Params(k1="1.2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="b"):
        BM25Params(b=True)
    with pytest.raises(ValueError, match="k1"):
        LuceneBM25([["a"]], k1=-1)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([np.uint32, np.int64, np.uint16]),
    st.lists(st.integers(0, 60000), max_size=40),
    st.integers(0, 65535),
)
def test_sorted_position_is_searchsorted(dtype, values, probe) -> None:
    """`sorted_position` keys numpy's search in the array's own dtype (no cast of the array);
    the position must be np.searchsorted's."""
    ids = np.array(sorted(values), dtype=dtype)
    assert bm25_module.sorted_position(ids, probe) == int(np.searchsorted(ids, probe))


def test_held_by_answers_for_documents_outside_the_index() -> None:
    index = bm25_index([["moon", "orbit"], ["orbit"]])
    assert index.held_by(0, ["moon", "orbit", "mars"]) == {"moon", "orbit"}
    assert index.held_by(1, ["moon", "orbit"]) == {"orbit"}
    assert index.held_by(2, ["orbit"]) == set() and index.held_by(-1, ["orbit"]) == set()
