"""Notification context: the live channel and webhooks, fed by consumer groups."""
