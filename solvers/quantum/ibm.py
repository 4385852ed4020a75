"""IBM Quantum devices through Qiskit Runtime, with an offline mode on fake devices.

Importing ``qiskit_ibm_runtime`` takes seconds, so it happens on first use, never at import.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from solvers.quantum.backends import JobState, Submission, fake_backend, transpile_report
from solvers.quantum.errors import BackendUnavailable

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

DEFAULT_CHANNEL = "ibm_quantum_platform"
DEFAULT_LOCAL_DEVICE = "fake_manila"


class HardwareTimeout(TimeoutError):
    """A hardware job took longer than allowed and was cancelled."""


_STATES: dict[str, JobState] = {
    "INITIALIZING": "queued",
    "QUEUED": "queued",
    "VALIDATING": "queued",
    "RUNNING": "running",
    "DONE": "done",
    "ERROR": "error",
    "CANCELLED": "cancelled",
}


@dataclass(frozen=True)
class IbmRuntimeConfig:
    """How to reach IBM Quantum. ``local=True`` runs the same path on a fake device offline."""

    token: str | None = field(default=None, repr=False)
    instance: str | None = None
    channel: str = DEFAULT_CHANNEL
    device: str | None = None
    """A named device; otherwise the least busy operational one with enough qubits."""
    local: bool = False
    optimization_level: int = 1
    max_wait_s: float = 30 * 60
    """A hardware job not finished by then is cancelled (the classical answer stands)."""
    poll_interval_s: float = 5.0

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> IbmRuntimeConfig | None:
        """Build from ``QISKIT_IBM_TOKEN``/``_INSTANCE``/``_CHANNEL``; ``None`` when not set."""
        token, instance = env.get("QISKIT_IBM_TOKEN"), env.get("QISKIT_IBM_INSTANCE")
        if not token or not instance:
            return None
        return cls(
            token=token,
            instance=instance,
            channel=env.get("QISKIT_IBM_CHANNEL") or DEFAULT_CHANNEL,
        )


def _run_sampler(device: Any, isa: QuantumCircuit, *, shots: int, seed: int, local: bool) -> Any:
    """The one place that talks to a Runtime sampler.

    Prefers the client-side sampler; the server-side ``SamplerV2`` is deprecated since 0.50 and
    only used where the client-side one is missing.
    """
    try:
        from qiskit_ibm_runtime.executor_sampler import Sampler
    except ImportError:  # pragma: no cover - older qiskit-ibm-runtime
        from qiskit_ibm_runtime import SamplerV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            legacy = SamplerV2(mode=device)
        if local:
            legacy.options.simulator.seed_simulator = seed
        return legacy.run([isa], shots=shots)
    sampler = Sampler(mode=device)
    if local:
        sampler.options.simulator.seed_simulator = seed
    return sampler.run([isa], shots=shots)


class IbmRuntimeBackend:
    """Samples on an IBM device (or a fake one locally) through Qiskit Runtime."""

    def __init__(self, config: IbmRuntimeConfig) -> None:
        if not config.local and not (config.token and config.instance):
            raise BackendUnavailable("IBM Runtime needs a token and an instance")
        self.config = config
        self._service: Any = None
        self._jobs: dict[str, Any] = {}
        self._device_name: str | None = None

    @property
    def name(self) -> str:
        """``ibm:<device>`` once a device is chosen, else ``ibm``."""
        return f"ibm:{self._device_name}" if self._device_name else "ibm"

    @property
    def is_remote(self) -> bool:
        """Jobs run on IBM's side (or a local stand-in of it) and have provider ids."""
        return True

    def _connect(self) -> Any:
        if self._service is None:
            from qiskit_ibm_runtime import QiskitRuntimeService

            self._service = QiskitRuntimeService(
                channel=self.config.channel,
                token=self.config.token,
                instance=self.config.instance,
            )
        return self._service

    def choose_device(self, num_qubits: int) -> Any:
        """The named device, or the least busy operational device with enough qubits."""
        if self.config.local:
            # Straight to the fake device: the local service would load every fake first.
            device = fake_backend(self.config.device or DEFAULT_LOCAL_DEVICE)
        elif self.config.device:
            device = self._connect().backend(self.config.device)
        else:
            service = self._connect()
            device = service.least_busy(
                min_num_qubits=num_qubits, operational=True, simulator=False
            )
        if device.num_qubits < num_qubits:
            raise BackendUnavailable(
                f"{device.name} has {device.num_qubits} qubits, {num_qubits} needed"
            )
        return device

    def to_isa(self, circuit: QuantumCircuit, *, seed: int) -> tuple[Any, QuantumCircuit]:
        """Choose the device and transpile ``circuit`` to its instruction set."""
        from qiskit.transpiler import generate_preset_pass_manager

        device = self.choose_device(circuit.num_qubits)
        manager = generate_preset_pass_manager(
            optimization_level=self.config.optimization_level,
            backend=device,
            seed_transpiler=seed,
        )
        return device, manager.run(circuit)

    def submit(self, circuit: QuantumCircuit, *, shots: int, seed: int) -> Submission:
        """Transpile to the device's ISA and submit; returns the provider's job id."""
        device, isa = self.to_isa(circuit, seed=seed)
        self._device_name = device.name
        job = _run_sampler(device, isa, shots=shots, seed=seed, local=self.config.local)
        job_id = str(job.job_id())
        self._jobs[job_id] = job
        return Submission(job_id, self.name, transpile_report(isa, device.target, device.name))

    def _job(self, job_id: str) -> Any:
        if job_id in self._jobs:
            return self._jobs[job_id]
        if self.config.local:
            raise KeyError(f"unknown local job {job_id}")
        return self._connect().job(job_id)

    def poll(self, job_id: str) -> JobState:
        """State of the job as the provider reports it."""
        status = self._job(job_id).status()
        key = str(getattr(status, "name", status)).upper()
        return _STATES.get(key, "running")

    def result(self, job_id: str) -> dict[str, int]:
        """Counts of the job's only circuit, polling until it finishes; a job still queued
        or running after ``config.max_wait_s`` is cancelled and ``HardwareTimeout`` raised."""
        job = self._job(job_id)
        deadline = time.monotonic() + self.config.max_wait_s
        while (state := self.poll(job_id)) in ("queued", "running"):
            if time.monotonic() >= deadline:
                job.cancel()
                raise HardwareTimeout(
                    f"IBM job {job_id} still {state} after {self.config.max_wait_s:g} s: cancelled"
                )
            time.sleep(min(self.config.poll_interval_s, max(0.0, deadline - time.monotonic())))
        if state != "done":
            raise RuntimeError(f"IBM job {job_id} ended {state}")
        pub = job.result()[0]
        register = next(iter(pub.data.keys()))
        return dict(getattr(pub.data, register).get_counts())
