"""Job progress over broadcaster: Redis pub/sub between processes, memory within one."""

from __future__ import annotations

import json
from uuid import UUID

from broadcaster import Broadcast

from core.jobs import progress_channel


class BroadcastProgress:
    def __init__(self, broadcast: Broadcast) -> None:
        self._broadcast = broadcast

    async def publish(self, job_id: UUID, message: dict[str, object]) -> None:
        await self._broadcast.publish(
            progress_channel(job_id), json.dumps({"job_id": str(job_id), **message})
        )
