"""Availability of the quantum stack, without importing the slow IBM client."""

from __future__ import annotations

from importlib import metadata
from typing import Any


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def health() -> dict[str, Any]:
    """Qiskit and Aer versions, whether Aer runs here, and whether it has a GPU device."""
    devices: list[str] = []
    aer_ok = False
    error: str | None = None
    try:
        from qiskit_aer import AerSimulator

        devices = list(AerSimulator().available_devices())
        aer_ok = True
    except Exception as exc:  # any import or runtime failure means "not available"
        error = f"{type(exc).__name__}: {exc}"
    return {
        "qiskit": _version("qiskit"),
        "aer": {"available": aer_ok, "version": _version("qiskit-aer"), "error": error},
        "gpu": "GPU" in devices,
        "devices": devices,
        "ibm_runtime": _version("qiskit-ibm-runtime"),
    }
