"""Cross-cutting infrastructure: settings, database sessions, errors, events, security."""
