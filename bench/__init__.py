"""Benchmarks (not tests): each prints its figures.  See bench/README.md."""
