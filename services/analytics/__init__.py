"""Analytics context: read models fed by the `analytics` consumer group."""
