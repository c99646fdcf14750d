"""Draining the outbox to each platform, within its limits."""
