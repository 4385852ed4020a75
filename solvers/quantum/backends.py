"""Where the final QAOA circuit is sampled: one interface, local simulators and IBM devices.

Every backend submits a measured circuit and hands back a job id, so a caller can treat a
simulator run (finished at once) and a queued hardware job the same way: ``submit`` then
``poll``/``result``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from solvers.quantum.errors import BackendUnavailable
from solvers.quantum.qaoa import Device, aer_simulator

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

JobState = Literal["queued", "running", "done", "error", "cancelled"]


@dataclass(frozen=True)
class TranspileReport:
    """The circuit as a device runs it."""

    depth: int
    two_qubit_gates: int
    estimated_fidelity: float | None
    """Product of ``1 - error`` over the gates and readouts, from the device's calibration."""
    device: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "depth": self.depth,
            "two_qubit_gates": self.two_qubit_gates,
            "estimated_fidelity": self.estimated_fidelity,
            "device": self.device,
        }


@dataclass(frozen=True)
class Submission:
    """A submitted sampling job."""

    job_id: str
    backend_name: str
    transpiled: TranspileReport | None


class SamplingBackend(Protocol):
    """Samples measured circuits; results are Qiskit counts (qubit 0 is the rightmost bit)."""

    @property
    def name(self) -> str:
        """Name recorded as the job's backend."""
        ...

    @property
    def is_remote(self) -> bool:
        """Whether jobs run elsewhere and carry a provider job id worth recording."""
        ...

    def submit(self, circuit: QuantumCircuit, *, shots: int, seed: int) -> Submission:
        """Start sampling ``circuit``."""
        ...

    def poll(self, job_id: str) -> JobState:
        """State of a submitted job."""
        ...

    def result(self, job_id: str) -> dict[str, int]:
        """Counts of a finished job (blocks until it finishes)."""
        ...


def transpile_report(isa: QuantumCircuit, target: Any, device: str) -> TranspileReport:
    """Depth, two-qubit gate count and estimated fidelity of a circuit in a device's ISA."""
    fidelity = 1.0
    known = False
    two_qubit = 0
    for instruction in isa.data:
        operation = instruction.operation
        if operation.name == "barrier":
            continue
        qargs = tuple(isa.find_bit(q).index for q in instruction.qubits)
        if len(qargs) == 2:
            two_qubit += 1
        properties = None
        if target is not None and operation.name in target.operation_names:
            properties = target[operation.name].get(qargs)
        if properties is not None and properties.error is not None:
            fidelity *= 1.0 - float(properties.error)
            known = True
    return TranspileReport(
        depth=int(isa.depth()),
        two_qubit_gates=two_qubit,
        estimated_fidelity=fidelity if known else None,
        device=device,
    )


class _LocalJobs:
    """Results of backends that finish at submission, kept by job id."""

    def __init__(self) -> None:
        self._results: dict[str, dict[str, int]] = {}

    def store(self, counts: dict[str, int]) -> str:
        job_id = f"local-{uuid.uuid4()}"
        self._results[job_id] = counts
        return job_id

    def poll(self, job_id: str) -> JobState:
        if job_id not in self._results:
            raise KeyError(f"unknown job {job_id}")
        return "done"

    def result(self, job_id: str) -> dict[str, int]:
        return dict(self._results[job_id])


class AerStatevectorBackend:
    """Noise-free sampling on Aer's statevector simulator (the default)."""

    def __init__(self, device: Device = "CPU") -> None:
        self.device = device
        self._jobs = _LocalJobs()

    @property
    def name(self) -> str:
        """``aer_simulator`` (or ``aer_simulator_gpu``)."""
        return "aer_simulator" if self.device == "CPU" else "aer_simulator_gpu"

    @property
    def is_remote(self) -> bool:
        """Runs in process."""
        return False

    def submit(self, circuit: QuantumCircuit, *, shots: int, seed: int) -> Submission:
        """Sample at once; QAOA ansatz gates are native to Aer, so no transpilation."""
        simulator: Any = aer_simulator(self.device, seed)
        counts = simulator.run(circuit, shots=shots).result().get_counts()
        return Submission(self._jobs.store(dict(counts)), self.name, None)

    def poll(self, job_id: str) -> JobState:
        """Always ``done``."""
        return self._jobs.poll(job_id)

    def result(self, job_id: str) -> dict[str, int]:
        """Counts of the run."""
        return self._jobs.result(job_id)


def fake_backend(name: str) -> Any:
    """A fake IBM device with real calibration data, e.g. ``FakeManilaV2`` or ``fake_manila``."""
    from qiskit_ibm_runtime import fake_provider

    # "fake_manila" -> "FakeManilaV2" avoids instantiating every fake device to find one.
    guess = "Fake" + name.removeprefix("fake_").title().replace("_", "") + "V2"
    for class_name in (name, guess):
        if hasattr(fake_provider, class_name):
            return getattr(fake_provider, class_name)()
    for backend in fake_provider.FakeProviderForBackendV2().backends():
        if backend.name == name:
            return backend
    raise BackendUnavailable(f"no fake device named {name}")


class AerNoiseModelBackend:
    """Aer with the noise model and coupling map of a (fake) IBM device."""

    def __init__(self, device: str | Any = "FakeGuadalupeV2", optimization_level: int = 1) -> None:
        self._device = fake_backend(device) if isinstance(device, str) else device
        self.optimization_level = optimization_level
        self._jobs = _LocalJobs()

    @property
    def name(self) -> str:
        """``aer_noise:<device>``."""
        return f"aer_noise:{self._device.name}"

    @property
    def is_remote(self) -> bool:
        """Runs in process."""
        return False

    def submit(self, circuit: QuantumCircuit, *, shots: int, seed: int) -> Submission:
        """Transpile to the device's ISA and sample with its noise."""
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_aer import AerSimulator

        if circuit.num_qubits > self._device.num_qubits:
            raise BackendUnavailable(
                f"{self._device.name} has {self._device.num_qubits} qubits, "
                f"{circuit.num_qubits} needed"
            )
        manager = generate_preset_pass_manager(
            optimization_level=self.optimization_level,
            backend=self._device,
            seed_transpiler=seed,
        )
        isa = manager.run(circuit)
        simulator = AerSimulator.from_backend(
            self._device, max_parallel_threads=1, seed_simulator=seed
        )
        counts = simulator.run(isa, shots=shots).result().get_counts()
        report = transpile_report(isa, self._device.target, self._device.name)
        return Submission(self._jobs.store(dict(counts)), self.name, report)

    def poll(self, job_id: str) -> JobState:
        """Always ``done``."""
        return self._jobs.poll(job_id)

    def result(self, job_id: str) -> dict[str, int]:
        """Counts of the run."""
        return self._jobs.result(job_id)
