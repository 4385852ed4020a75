"""The worker entry point: `dramatiq tasks.worker` loads the broker and every actor."""

from tasks import broker, maintenance, routing

__all__ = ["broker", "maintenance", "routing"]
