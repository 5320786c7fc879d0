"""The compiled part of Citebot; everything else is declared in pyproject.toml.

`citebot.index.analysis._termscan` tokenises passages and maps them to terms in C while an index is built
(see index/analysis/_termscan.c). It needs a C compiler and the Python headers at install time.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("citebot.index.analysis._termscan", ["index/analysis/_termscan.c"], extra_compile_args=["-O2"])
    ]
)
