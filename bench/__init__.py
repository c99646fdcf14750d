"""Benchmarks: ``python -m bench.<name>``, each against a baseline measured in the same run."""
