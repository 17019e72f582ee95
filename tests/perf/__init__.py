"""Benchmark (`make bench`) and soak test (`python -m tests.perf.soak`); not collected by pytest."""
