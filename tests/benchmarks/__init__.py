"""Tests of the benchmark tools in benchmarks/ (loaded by path: benchmarks/ is no package)."""
