"""Strawberry types, permissions, the request context and the schema factory."""
