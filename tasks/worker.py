"""The worker entry point: `dramatiq tasks.worker` loads the broker and every actor."""

from tasks import broker, maintenance, quantum, routing

__all__ = ["broker", "maintenance", "quantum", "routing"]
