from __future__ import annotations

from collections.abc import Callable

from solvers.decompose import DecompositionParams, solve_decomposed, sweep_clusters
from solvers.problem import Problem
from solvers.validator import validate

MakeProblem = Callable[..., Problem]


def test_clusters_partition_the_stops(problem_factory: MakeProblem) -> None:
    problem = problem_factory(70, vehicles=10, capacity_kg=200)
    clusters = sweep_clusters(problem, 25)
    assert len(clusters) == 3
    assert sorted(s for c in clusters for s in c) == list(range(70))


def test_decomposed_solve_is_complete_and_valid(problem_factory: MakeProblem) -> None:
    problem = problem_factory(70, vehicles=10, capacity_kg=200, windows=True, service=60)
    solution = solve_decomposed(
        problem, time_limit=3.0, seed=0, params=DecompositionParams(cluster_size=30)
    )
    assert validate(problem, solution) == []
    assert not solution.unassigned
    assert solution.solver == "pyvrp+decomposition"
