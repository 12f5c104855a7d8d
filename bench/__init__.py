"""Benchmarks: `python -m bench.NAME [--quick]`; results in bench/results/NAME.json."""
