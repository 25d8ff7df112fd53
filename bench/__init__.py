"""Benchmarks, reported in docs/benchmarks.md."""
