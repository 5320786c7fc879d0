"""The compiled part of Citebot; everything else is declared in pyproject.toml.

`citebot.index.analysis._termscan` tokenises passages and maps them to terms in C while an index is built
(see index/analysis/_termscan.c); `citebot.index.ranking._maxscore` runs the MaxScore top-k and the exact
rescoring of BM25 in C (see index/ranking/_maxscore.c), and `citebot.index.ranking._vocab` its term
dictionary (index/ranking/_vocab.c). They need a C compiler and the Python headers at
install time.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("citebot.index.analysis._termscan", ["index/analysis/_termscan.c"], extra_compile_args=["-O2"]),
        # -ffp-contract=off: no fused multiply-add, so the exact scores keep rank_bm25's roundings bit for bit.
        Extension(
            "citebot.index.ranking._maxscore",
            ["index/ranking/_maxscore.c"],
            extra_compile_args=["-O2", "-ffp-contract=off"],
        ),
        Extension("citebot.index.ranking._vocab", ["index/ranking/_vocab.c"], extra_compile_args=["-O2"]),
    ]
)
