"""Strawberry output types, one module per domain."""
