"""Dramatiq actors. Import `tasks.broker` before any actor module."""
