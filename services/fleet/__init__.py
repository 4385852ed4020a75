"""Fleet: vehicles, drivers and locations."""
