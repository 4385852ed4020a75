"""The worker entry point: `dramatiq tasks.worker` loads the broker and every actor."""

from core import heap
from core.settings import get_settings
from tasks import broker, maintenance, operations, quantum, routing
from tasks.handback import HandBackOnShutdown

broker.broker.add_middleware(HandBackOnShutdown())

# Everything a worker process keeps is imported by now.
heap.settle(get_settings().gc_gen0_threshold)

__all__ = ["broker", "maintenance", "operations", "quantum", "routing"]
