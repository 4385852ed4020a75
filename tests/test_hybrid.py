"""Hybrid and pure quantum modes on real Aer: never worse than the classical plan."""

from __future__ import annotations

import pytest

from solvers.hybrid import HybridParams, HybridReport, HybridSolver, QuantumCapError
from solvers.problem import Problem
from solvers.quantum import QaoaParams
from solvers.schedule import assemble
from solvers.selector import SelectorParams, solve_problem
from solvers.validator import validate
from tests.solvers.conftest import make_problem

# Small circuits and budgets: 9-qubit windows and 6-stop partitions take well under a second.
FAST = HybridParams(
    budget_s=6.0,
    max_subproblems=3,
    window=3,
    partition_stops=6,
    qaoa=QaoaParams(max_iterations=15, shots=512, reps=1),
)


def _solver(params: HybridParams = FAST) -> tuple[HybridSolver, list[HybridReport]]:
    reports: list[HybridReport] = []
    return HybridSolver(params, on_report=reports.append), reports


def _naive(problem: Problem) -> object:
    """The stops in the given order, split evenly over the vehicles: a poor baseline."""
    k = len(problem.vehicles)
    n = problem.num_stops
    chunks = {v: list(range(v * n // k, (v + 1) * n // k)) for v in range(k)}
    return assemble(problem, chunks, solver="naive", elapsed_s=0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hybrid_is_never_worse_than_the_classical_plan(seed: int) -> None:
    problem = make_problem(16, vehicles=2, seed=seed, capacity_kg=400)
    solver, reports = _solver()
    classical = solve_problem(problem, time_limit=0.3, seed=seed)
    solution = solve_problem(
        problem, time_limit=0.3, seed=seed, mode="hybrid", params=SelectorParams(quantum=solver)
    )
    assert validate(problem, solution) == []
    assert solution.cost <= classical.cost + 1e-9
    (report,) = reports
    summary = report.summary()
    assert summary["baseline_cost"] == pytest.approx(classical.cost)
    assert 1 <= summary["subproblems_run"] <= FAST.max_subproblems
    assert summary["subproblems_improved"] == sum(r["accepted"] for r in summary["subproblems"])
    assert summary["improvement"] >= 0
    assert {r["kind"] for r in summary["subproblems"]} <= {"resequence", "repartition"}
    for run in report.runs:
        assert run.cost_after <= run.cost_before
        if run.result is not None:
            assert run.result.qubits_used == run.qubits
    assert solution.requested_mode == "hybrid"


def test_hybrid_improves_a_poor_plan_and_counts_it() -> None:
    problem = make_problem(12, vehicles=2, seed=4, capacity_kg=400)
    baseline = _naive(problem)
    assert validate(problem, baseline) == []  # type: ignore[arg-type]
    solver, reports = _solver(
        HybridParams(
            budget_s=20,
            max_subproblems=4,
            window=3,
            partition_stops=8,
            qaoa=QaoaParams(max_iterations=30, shots=1024, reps=1),
        )
    )
    solution = solver.improve(problem, baseline, mode="hybrid", seed=0)  # type: ignore[arg-type]
    summary = reports[0].summary()
    assert validate(problem, solution) == []
    assert solution.cost < baseline.cost  # type: ignore[attr-defined]
    assert summary["subproblems_improved"] >= 1
    assert summary["improvement"] == pytest.approx(baseline.cost - solution.cost)  # type: ignore[attr-defined]
    assert solution.backend == "hybrid"
    assert solution.solver == "naive+qaoa"


def test_quantum_mode_solves_a_small_route_as_one_qubo() -> None:
    problem = make_problem(3, seed=2)
    solver, reports = _solver(HybridParams(qaoa=QaoaParams(max_iterations=40, shots=1024)))
    classical = solve_problem(problem, time_limit=1)
    solution = solve_problem(
        problem, time_limit=1, mode="quantum", params=SelectorParams(quantum=solver)
    )
    assert validate(problem, solution) == []
    assert solution.cost == pytest.approx(classical.cost)  # the exact optimum either way
    (run,) = reports[0].runs
    assert run.kind == "tour" and run.qubits == 9
    assert run.result is not None and run.result.raw_result["exact_optimum"]
    assert solution.backend == "quantum" and solution.solver == "qaoa"


def test_quantum_mode_over_the_cap_raises_unless_hybrid_is_allowed() -> None:
    problem = make_problem(6, seed=1)
    solver, _ = _solver()
    with pytest.raises(QuantumCapError, match="36 qubits"):
        solve_problem(
            problem, time_limit=0.5, mode="quantum", params=SelectorParams(quantum=solver)
        )
    allowed = HybridParams(**{**FAST.__dict__, "allow_hybrid": True})
    solver, reports = _solver(allowed)
    problem = make_problem(16, seed=1)
    solution = solve_problem(
        problem, time_limit=0.3, mode="quantum", params=SelectorParams(quantum=solver)
    )
    assert validate(problem, solution) == []
    assert reports[0].ran_as == "hybrid"


def test_running_out_of_budget_keeps_the_classical_plan_and_says_so() -> None:
    problem = make_problem(4, seed=3)
    solver, reports = _solver(HybridParams(budget_s=0.05, qaoa=QaoaParams(shots=256)))
    classical = solve_problem(problem, time_limit=1)
    solution = solve_problem(
        problem, time_limit=1, mode="quantum", params=SelectorParams(quantum=solver)
    )
    report = reports[0]
    assert report.timed_out
    assert report.runs[0].status == "timeout"
    assert solution.cost == pytest.approx(classical.cost)
    assert solution.backend == "classical"
    assert solution.fallback_reason and "budget" in solution.fallback_reason
