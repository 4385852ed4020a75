"""Is the quantum stack usable here: Aer, GPU, caps, IBM Quantum configured and reachable."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from core.settings import Settings
from solvers.hybrid import HybridParams

IBM_CHECK_TTL_S = 600.0
IBM_CHECK_TIMEOUT_S = 10.0
_ibm_check: dict[str, Any] = {}


def _ibm_reachable(settings: Settings) -> tuple[bool, str | None]:
    from qiskit_ibm_runtime import QiskitRuntimeService

    token = settings.qiskit_ibm_token
    try:
        service = QiskitRuntimeService(
            channel=settings.qiskit_ibm_channel,
            token=token.get_secret_value() if token else None,
            instance=settings.qiskit_ibm_instance,
        )
        service.backends(operational=True)
    except Exception as exc:  # whatever the client raises means "not reachable now"
        return False, type(exc).__name__
    return True, None


async def _cached_ibm_check(settings: Settings) -> dict[str, Any]:
    now = time.monotonic()
    if _ibm_check and now - _ibm_check["at"] < IBM_CHECK_TTL_S:
        return dict(_ibm_check["value"])
    try:
        ok, error = await asyncio.wait_for(
            asyncio.to_thread(_ibm_reachable, settings), IBM_CHECK_TIMEOUT_S
        )
    except TimeoutError:
        ok, error = False, "timeout"
    value = {"reachable": ok, "error": error, "checked_at_monotonic_s": round(now, 1)}
    _ibm_check.update({"at": now, "value": value})
    return value


async def quantum_health(settings: Settings) -> dict[str, Any]:
    """Versions, Aer and GPU availability, the qubit caps and the IBM configuration."""
    from solvers.quantum import health

    stack = await asyncio.to_thread(health)
    params = HybridParams()
    configured = bool(settings.qiskit_ibm_token and settings.qiskit_ibm_instance)
    ibm: dict[str, Any] = {
        "configured": configured,
        "channel": settings.qiskit_ibm_channel,
        "runtime_version": stack["ibm_runtime"],
        "reachable": None,
    }
    if configured:
        ibm.update(await _cached_ibm_check(settings))
    return {
        "qiskit": stack["qiskit"],
        "aer": stack["aer"],
        "gpu": stack["gpu"],
        "devices": stack["devices"],
        "caps": {
            "tsp_qubits": params.tsp_cap,
            "partition_qubits": params.partition_cap,
            "quantum_mode_max_stops": int(params.tsp_cap**0.5),
            "subproblems_per_job": params.max_subproblems,
            "quantum_seconds_per_job": params.budget_s,
            "seconds_per_subproblem": params.subproblem_time_s,
        },
        "ibm": ibm,
    }
