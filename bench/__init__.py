"""Benchmarks: `make bench` runs them all; each prints its figures and a ratio to a baseline."""
