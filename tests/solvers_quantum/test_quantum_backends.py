import subprocess
import sys

import pytest

from solvers.quantum import (
    AerNoiseModelBackend,
    BackendUnavailable,
    IbmRuntimeBackend,
    IbmRuntimeConfig,
    QaoaParams,
    complete,
    health,
    maxcut_qubo,
    prepare,
    submit,
    tsp_qubo,
)
from solvers.quantum.backends import transpile_report
from solvers.quantum.qubo import FloatArray

FAST = QaoaParams(reps=1, max_iterations=20, shots=1024, seed=3)


@pytest.mark.slow
def test_ibm_path_on_a_fake_device_records_job_and_transpilation(city: FloatArray) -> None:
    encoding = tsp_qubo(city[:3, :3])  # 4 qubits fit the 5-qubit fake Manila
    backend = IbmRuntimeBackend(IbmRuntimeConfig(local=True, device="fake_manila"))
    run = prepare(encoding, FAST)

    device, isa = backend.to_isa(run.optimized.measured_circuit(), seed=3)
    for instruction in isa.data:
        if instruction.operation.name == "barrier":
            continue
        qargs = tuple(isa.find_bit(q).index for q in instruction.qubits)
        assert device.target.instruction_supported(instruction.operation.name, qargs)

    submission = submit(run, backend)
    assert backend.poll(submission.job_id) in {"queued", "running", "done"}
    result = complete(run, backend, submission)
    assert backend.poll(submission.job_id) == "done"
    assert result.backend == "ibm:fake_manila"
    assert result.ibm_job_id == submission.job_id
    transpiled = result.raw_result["transpiled"]
    assert transpiled["device"] == "fake_manila"
    assert result.transpiled_depth == transpiled["depth"] >= result.circuit_depth
    assert transpiled["two_qubit_gates"] > 0
    assert 0 < transpiled["estimated_fidelity"] < 1
    assert sum(s["count"] for s in result.raw_result["top_states"]) <= 1024
    assert result.cost is not None
    assert result.cost >= encoding.exact().cost


def test_deeper_circuits_have_lower_estimated_fidelity() -> None:
    from qiskit.transpiler import generate_preset_pass_manager

    from solvers.quantum.backends import fake_backend

    device = fake_backend("FakeManilaV2")
    encoding = maxcut_qubo([[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]])
    manager = generate_preset_pass_manager(optimization_level=1, backend=device, seed_transpiler=0)
    fidelities = []
    for reps in (1, 3):
        circuit = prepare(encoding, QaoaParams(reps=reps, max_iterations=5)).optimized
        isa = manager.run(circuit.measured_circuit())
        fidelities.append(transpile_report(isa, device.target, device.name).estimated_fidelity)
    assert fidelities[0] is not None
    assert fidelities[1] is not None
    assert 0 < fidelities[1] < fidelities[0] < 1


def test_noisy_simulation_reports_the_device_circuit(city: FloatArray) -> None:
    run = prepare(tsp_qubo(city[:3, :3]), FAST)
    backend = AerNoiseModelBackend("FakeManilaV2")
    result = complete(run, backend, submit(run, backend))
    assert result.backend == "aer_noise:fake_manila"
    assert result.ibm_job_id is None
    assert result.transpiled_depth is not None
    assert result.transpiled_depth >= result.circuit_depth
    assert result.raw_result["transpiled"]["two_qubit_gates"] > 0


def test_device_too_small_is_refused(city: FloatArray) -> None:
    run = prepare(tsp_qubo(city[:4, :4]), QaoaParams(reps=1, max_iterations=5))
    with pytest.raises(BackendUnavailable, match="9 needed"):
        submit(run, AerNoiseModelBackend("FakeManilaV2"))


def test_ibm_config_comes_from_the_callers_environment() -> None:
    assert IbmRuntimeConfig.from_mapping({"QISKIT_IBM_TOKEN": "t"}) is None
    config = IbmRuntimeConfig.from_mapping(
        {"QISKIT_IBM_TOKEN": "secret-token", "QISKIT_IBM_INSTANCE": "crn:1"}
    )
    assert config is not None
    assert config.channel == "ibm_quantum_platform"
    assert "secret-token" not in repr(config)
    with pytest.raises(BackendUnavailable, match="token"):
        IbmRuntimeBackend(IbmRuntimeConfig(instance="crn:1"))


def test_health_reports_the_stack() -> None:
    import qiskit
    import qiskit_aer

    report = health()
    assert report["qiskit"] == qiskit.__version__
    assert report["aer"] == {"available": True, "version": qiskit_aer.__version__, "error": None}
    assert report["gpu"] is ("GPU" in report["devices"])


def test_importing_the_package_loads_no_qiskit() -> None:
    code = (
        "import sys, solvers.quantum\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('qiskit', 'qiskit_aer', 'qiskit_ibm_runtime', 'scipy')]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
