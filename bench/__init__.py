"""Benchmarks: ``python -m bench.<name>`` prints figures against a baseline."""
