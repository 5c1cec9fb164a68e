"""Benchmarks of the API core: `python -m bench.api` (see bench/README.md)."""
