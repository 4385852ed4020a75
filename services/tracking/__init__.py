"""Live tracking: position ingestion, the live map feed, route deviations, retention."""
