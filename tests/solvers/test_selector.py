from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from solvers.problem import Problem
from solvers.selector import SelectorParams, size_class, solve_problem
from solvers.solution import ProgressCallback, Solution
from solvers.validator import validate

MakeProblem = Callable[..., Problem]


def test_size_classes_follow_the_optimization_flow() -> None:
    assert [size_class(n) for n in (1, 14, 15, 60, 61)] == [
        "small",
        "small",
        "medium",
        "medium",
        "large",
    ]


def test_small_problem_is_solved_exactly(problem_factory: MakeProblem) -> None:
    problem = problem_factory(8, vehicles=2, capacity_kg=120)
    solution = solve_problem(problem, time_limit=5, seed=0)
    assert solution.solver == "exact"
    assert solution.proven_optimal
    assert solution.lower_bound == solution.cost
    assert solution.gap == 0
    assert validate(problem, solution) == []


def test_medium_problem_goes_to_pyvrp_and_reports_progress(problem_factory: MakeProblem) -> None:
    problem = problem_factory(30, vehicles=5, capacity_kg=250, windows=True, service=120)
    seen: list[tuple[float, float]] = []
    solution = solve_problem(
        problem, time_limit=1.0, seed=0, progress=lambda c, t: seen.append((c, t))
    )
    assert solution.solver == "pyvrp"
    assert not solution.unassigned
    assert seen, "no progress reported"
    costs = [c for c, _ in seen]
    assert costs == sorted(costs, reverse=True)
    assert costs[-1] == pytest.approx(solution.cost)
    assert all(t <= solution.elapsed_s for _, t in seen)


def test_forced_engine(problem_factory: MakeProblem) -> None:
    problem = problem_factory(8, vehicles=2, capacity_kg=120)
    solution = solve_problem(problem, time_limit=0.5, params=SelectorParams(engine="ortools"))
    assert solution.solver == "ortools"


@pytest.mark.parametrize("mode", ["hybrid", "quantum"])
def test_quantum_modes_fall_back_to_classical_and_say_so(
    mode: str, problem_factory: MakeProblem
) -> None:
    problem = problem_factory(6)
    solution = solve_problem(problem, time_limit=1.0, mode=mode)  # type: ignore[arg-type]
    assert solution.requested_mode == mode
    assert solution.backend == "classical"
    assert solution.fallback_reason is not None
    assert "classical" in solution.fallback_reason or "range" in solution.fallback_reason


class _FakeQuantum:
    name = "fake-qaoa"

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Solution:
        if self.behaviour == "fail":
            raise RuntimeError("simulator unavailable")
        classical = solve_problem(problem, time_limit=0.5, seed=seed)
        if self.behaviour == "invalid":
            return replace(classical, cost=classical.cost + 1)
        return replace(classical, solver=self.name)


def test_quantum_backend_used_for_medium_problems(problem_factory: MakeProblem) -> None:
    problem = problem_factory(16, vehicles=2, capacity_kg=250)
    params = SelectorParams(quantum=_FakeQuantum("ok"))
    solution = solve_problem(problem, time_limit=3, mode="quantum", params=params)
    assert solution.backend == "quantum"
    assert solution.solver == "fake-qaoa"
    assert solution.fallback_reason is None


@pytest.mark.parametrize(("behaviour", "phrase"), [("fail", "unavailable"), ("invalid", "invalid")])
def test_failing_quantum_backend_falls_back(
    behaviour: str, phrase: str, problem_factory: MakeProblem
) -> None:
    problem = problem_factory(16, vehicles=2, capacity_kg=250)
    params = SelectorParams(quantum=_FakeQuantum(behaviour))
    solution = solve_problem(problem, time_limit=1.5, mode="hybrid", params=params)
    assert solution.backend == "classical"
    assert solution.fallback_reason is not None
    assert phrase in solution.fallback_reason
    assert validate(problem, solution) == []


def test_empty_problem(problem_factory: MakeProblem) -> None:
    problem = problem_factory(0)
    solution = solve_problem(problem, time_limit=1)
    assert solution.routes == ()
    assert solution.cost == 0
