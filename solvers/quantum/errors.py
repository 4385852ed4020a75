"""Errors raised by the quantum solvers."""


class QuantumError(Exception):
    """Base class for errors of the quantum solvers."""


class QubitCapExceeded(QuantumError):
    """A problem needs more qubits than the configured cap allows."""

    def __init__(self, *, requested: int, cap: int, shape: str) -> None:
        self.requested = requested
        self.cap = cap
        self.shape = shape
        super().__init__(f"{shape} problem needs {requested} qubits; the cap is {cap}")


class BackendUnavailable(QuantumError):
    """The requested backend, device or simulator feature is not available."""
