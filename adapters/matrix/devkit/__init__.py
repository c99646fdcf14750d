"""Development kit for the Matrix side: a throwaway Synapse homeserver on
loopback and a scripted Element-like client.

Used by the tests, ``make demo`` and the benchmarks; the service never imports
it. Synapse itself is only needed where these run (``matrix-synapse`` is in the
``test`` extras): it is started as a subprocess, never imported.
"""
