"""Routing: routes, their optimization jobs, results, and the status machine."""
