"""Road networks: importing OpenStreetMap extracts and serving travel along the streets."""
