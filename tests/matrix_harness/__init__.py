"""Pytest side of the Matrix harness: fixtures and a recording sink.

The homeserver launcher and the scripted client live in
``adapters.matrix.devkit`` so that the demo and the benchmarks use them too.
"""
