"""Domain logic as async functions with a keyword-only `session`, shared by every surface."""
