import json

import numpy as np
import pytest

from solvers.quantum import (
    AerStatevectorBackend,
    BackendUnavailable,
    QaoaParams,
    default_reps,
    maxcut_qubo,
    optimize_qaoa,
    partition_qubo,
    prepare,
    solve,
    tsp_qubo,
)
from solvers.quantum.qaoa import _probability_engine, build_ansatz, interpolate
from solvers.quantum.qubo import FloatArray, bitstring_to_index
from solvers.quantum.stats import counts_to_indices, sample_statistics


def test_four_stop_tour_is_found_and_the_record_matches_the_circuit(city: FloatArray) -> None:
    from qiskit.circuit.library import qaoa_ansatz

    encoding = tsp_qubo(city[:4, :4])
    result = solve(encoding, QaoaParams(reps=2, max_iterations=60, shots=2048, seed=11))
    raw = result.raw_result
    exact = encoding.exact()

    assert raw["p_optimal"] > 0
    assert result.cost == pytest.approx(exact.cost)
    assert raw["gap"] == 0.0
    assert raw["approximation_ratio"] == 1.0
    # QAOA concentrates probability on the optimum well beyond uniform sampling.
    assert raw["p_optimal"] > 5 * raw["uniform_random"]["p_optimal"]
    assert raw["p_feasible"] > 5 * raw["uniform_random"]["p_feasible"]

    operator, _ = encoding.qubo.to_ising()
    circuit = qaoa_ansatz(operator, reps=result.qaoa_layers)
    assert result.qubits_used == circuit.num_qubits == 9
    assert result.circuit_depth == circuit.depth()
    assert result.qaoa_layers == 2
    assert result.backend == "aer_simulator"
    assert result.ibm_job_id is None
    assert result.result_bitstring is not None
    assert encoding.decode(bitstring_to_index(result.result_bitstring)).solution == result.solution
    assert result.result_energy == pytest.approx(encoding.qubo.energy(result.result_bitstring))
    record = result.to_record()
    assert set(record) >= {"qubits_used", "circuit_depth", "qaoa_layers", "raw_result"}
    json.dumps(record)


def test_runs_are_reproducible_with_a_seed(city: FloatArray) -> None:
    encoding = maxcut_qubo(city[:5, :5])
    params = QaoaParams(reps=1, max_iterations=20, shots=256, seed=5, time_limit_s=None)
    first, second = solve(encoding, params), solve(encoding, params)
    assert first.raw_result["top_states"] == second.raw_result["top_states"]
    assert first.raw_result["optimizer"]["gammas"] == second.raw_result["optimizer"]["gammas"]


def test_partition_split_respects_capacities(city: FloatArray) -> None:
    encoding = partition_qubo(city, [4, 1, 3, 2, 5, 1], (8, 9))
    result = solve(encoding, QaoaParams(reps=1, max_iterations=30, shots=512, seed=2))
    assert encoding.is_within_capacity(result.solution)
    assert result.raw_result["gap"] >= 0
    assert 0 < result.raw_result["approximation_ratio"] <= 1


def test_time_limit_stops_the_optimiser_and_keeps_the_best_angles(city: FloatArray) -> None:
    encoding = tsp_qubo(city[:4, :4])
    optimized = optimize_qaoa(encoding.qubo, QaoaParams(reps=3, time_limit_s=0.05, seed=1))
    assert optimized.stopped == "time_limit"
    assert optimized.evaluations >= 1
    assert len(optimized.gammas) == len(optimized.betas) == optimized.reps
    assert optimized.expected_energy < encoding.qubo.energies().mean()


def test_evaluation_budget_is_respected_by_each_optimizer(city: FloatArray) -> None:
    qubo = maxcut_qubo(city[:4, :4]).qubo
    for name in ("COBYLA", "NELDER_MEAD", "POWELL"):
        params = QaoaParams(reps=2, optimizer=name, max_iterations=15, grid_size=2, seed=0)
        optimized = optimize_qaoa(qubo, params)
        # grid (4) + at most 15 per layer count, Powell may finish its last line search
        assert optimized.evaluations <= 4 + 2 * 15 + 10
        assert optimized.expected_energy < qubo.energies().mean()


def test_aer_and_statevector_engines_agree(city: FloatArray) -> None:
    qubo = tsp_qubo(city[:3, :3]).qubo
    ansatz, _ = build_ansatz(qubo, 2, qubo.energies())
    angles = [[0.3, -0.2, 0.7, 0.1]]
    aer = _probability_engine(ansatz, "aer", "CPU")(angles)[0]
    exact = _probability_engine(ansatz, "statevector", "CPU")(angles)[0]
    np.testing.assert_allclose(aer, exact, atol=1e-10)


def test_interpolation_warm_start() -> None:
    assert interpolate([0.4]) == [0.4, 0.4]
    assert interpolate([0.2, 0.6]) == pytest.approx([0.2, 0.4, 0.6])


def test_default_layers_follow_circuit_size() -> None:
    assert [default_reps(n) for n in (4, 9, 10, 16, 17, 20)] == [3, 3, 2, 2, 1, 1]


def test_unknown_optimizer_is_refused() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        QaoaParams(optimizer="ADAM")  # type: ignore[arg-type]


def test_gpu_is_refused_when_aer_has_none() -> None:
    from qiskit_aer import AerSimulator

    if "GPU" in AerSimulator().available_devices():
        pytest.skip("this machine has a GPU build of Aer")
    with pytest.raises(BackendUnavailable, match="GPU"):
        AerStatevectorBackend("GPU").submit(
            prepare(maxcut_qubo(np.ones((2, 2))), QaoaParams(reps=1)).optimized.measured_circuit(),
            shots=8,
            seed=0,
        )


def test_statistics_report_infeasible_samples_and_repair(city: FloatArray) -> None:
    encoding = tsp_qubo(city[:4, :4])
    exact = encoding.exact()
    energies = encoding.qubo.energies()
    # Qiskit keys put qubit 0 last: all-zero is infeasible, the optimum is feasible.
    optimum = int(exact.optimal_indices[0])
    counts = counts_to_indices({"0" * 9: 30, format(optimum, "09b"): 10})
    stats = sample_statistics(encoding, counts, exact, energies, seed=0)
    assert stats.shots == 40
    assert stats.p_feasible == pytest.approx(0.25)
    assert stats.p_optimal == pytest.approx(0.25)
    assert stats.best_sampled_cost == pytest.approx(exact.cost)
    assert stats.top_states[0]["count"] == 30
    assert not stats.top_states[0]["feasible"]

    only_bad = sample_statistics(encoding, {0: 5}, exact, energies, seed=0)
    assert only_bad.best_sampled_cost is None
    assert only_bad.p_feasible == 0.0
    assert only_bad.gap >= 0  # the repaired tour is still a tour
    assert only_bad.uniform["p_feasible"] == pytest.approx(6 / 512)
    assert only_bad.uniform["p_optimal"] == pytest.approx(exact.optimal_indices.size / 512)
