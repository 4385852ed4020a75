"""Quantum and hybrid optimization: jobs, what-if simulations and the stack's health."""
