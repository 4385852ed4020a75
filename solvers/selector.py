"""Choose a backend by problem size and optimization mode, and check what comes back.

Size classes follow the optimization flow: small (< 15 stops), medium (15-60), large
(> 60). Classically: small problems go to the exact search when it applies (and proves
optimality), everything else to PyVRP; OR-Tools takes over if PyVRP fails. The hybrid and
quantum modes run a quantum backend when one is supplied and the size fits it; otherwise
they fall back to the classical path and say so in ``fallback_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from solvers.backends.base import Backend, Deadline, NotApplicableError
from solvers.backends.exact import ExactBackend, ExactParams
from solvers.backends.ortools_backend import OrToolsBackend, OrToolsParams
from solvers.backends.pyvrp_backend import PyVRPBackend, PyVRPParams
from solvers.decompose import DecompositionParams, solve_decomposed
from solvers.hybrid import QuantumCapError, QuantumImprover
from solvers.problem import Problem
from solvers.schedule import assemble
from solvers.solution import OptimizationMode, ProgressCallback, Solution
from solvers.validator import InvalidSolutionError, validate

SizeClass = Literal["small", "medium", "large"]
Engine = Literal["auto", "exact", "pyvrp", "ortools"]


@dataclass(frozen=True)
class SelectorParams:
    """Routing policy; the defaults are the production configuration."""

    engine: Engine = "auto"
    """Force one engine, or let size decide."""
    small_below: int = 15
    large_above: int = 60
    decompose_above: int | None = None
    """Stop count above which large problems are decomposed; off by default because the
    direct PyVRP solve was better on every benchmark instance (bench/solver_quality.py)."""
    exact: ExactParams = field(default_factory=ExactParams)
    pyvrp: PyVRPParams = field(default_factory=PyVRPParams)
    ortools: OrToolsParams = field(default_factory=OrToolsParams)
    decomposition: DecompositionParams = field(default_factory=DecompositionParams)
    quantum: Backend | QuantumImprover | None = None
    """Backend used for 'hybrid' and 'quantum' modes on medium problems, when available. A
    ``QuantumImprover`` (``solvers.hybrid.HybridSolver``) instead improves the classical plan
    at every size, and may raise ``QuantumCapError`` for a 'quantum' request over the cap."""


def size_class(num_stops: int, params: SelectorParams | None = None) -> SizeClass:
    """Size class of a problem with ``num_stops`` stops."""
    p = params or SelectorParams()
    if num_stops < p.small_below:
        return "small"
    return "medium" if num_stops <= p.large_above else "large"


def solve_problem(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    mode: OptimizationMode = "classical",
    params: SelectorParams | None = None,
    progress: ProgressCallback | None = None,
) -> Solution:
    """Solve ``problem`` with the backend the policy picks; the result is always validated.

    Raises ``InvalidSolutionError`` only if every engine tried returned an invalid plan.
    """
    p = params or SelectorParams()
    deadline = Deadline(time_limit)
    fallback: str | None = None
    if mode != "classical" and isinstance(p.quantum, QuantumImprover):
        return _improve(problem, p.quantum, p, deadline, seed, mode, progress)
    if mode != "classical":
        solution, fallback = _try_quantum(problem, p, deadline, seed, progress)
        if solution is not None:
            return replace(solution, requested_mode=mode, elapsed_s=deadline.elapsed)
    solution = _classical(problem, p, deadline, seed, progress)
    return replace(
        solution,
        requested_mode=mode,
        fallback_reason=fallback,
        elapsed_s=deadline.elapsed,
        backend="classical",
    )


def _improve(
    problem: Problem,
    improver: QuantumImprover,
    p: SelectorParams,
    deadline: Deadline,
    seed: int,
    mode: OptimizationMode,
    progress: ProgressCallback | None,
) -> Solution:
    """The classical plan first, then the quantum improver on top of it (never worse)."""
    baseline = _classical(problem, p, deadline, seed, progress)
    try:
        solution = improver.improve(problem, baseline, mode=mode, seed=seed)
    except QuantumCapError:
        raise
    except Exception as exc:  # any other failure of the quantum path: keep the classical plan
        solution = replace(
            baseline, fallback_reason=f"quantum path failed: {type(exc).__name__}: {exc}"
        )
    violations = validate(problem, solution)
    if violations:
        solution = replace(
            baseline,
            fallback_reason=f"quantum path returned an invalid plan ({violations[0].detail})",
        )
    return replace(solution, requested_mode=mode, elapsed_s=deadline.elapsed)


def _try_quantum(
    problem: Problem,
    p: SelectorParams,
    deadline: Deadline,
    seed: int,
    progress: ProgressCallback | None,
) -> tuple[Solution | None, str]:
    if p.quantum is None:
        return None, "no quantum backend available; solved classically"
    if size_class(problem.num_stops, p) != "medium":
        return None, f"{problem.num_stops} stops is outside the quantum backend's range"
    try:
        solution = p.quantum.solve(
            problem, time_limit=deadline.remaining, seed=seed, progress=progress
        )
    except Exception as exc:  # any failure of the quantum path means: go classical
        return None, f"quantum backend failed: {type(exc).__name__}: {exc}"
    if deadline.expired():
        return None, "quantum backend exceeded the time limit"
    violations = validate(problem, solution)
    if violations:
        return None, f"quantum backend returned an invalid plan ({violations[0].detail})"
    return replace(solution, backend="quantum"), ""


def _classical(
    problem: Problem,
    p: SelectorParams,
    deadline: Deadline,
    seed: int,
    progress: ProgressCallback | None,
) -> Solution:
    if problem.num_stops == 0:
        return assemble(problem, {}, solver="trivial", elapsed_s=deadline.elapsed)
    size = size_class(problem.num_stops, p)
    plan: list[str]
    if p.engine != "auto":
        plan = [p.engine, "ortools"] if p.engine != "ortools" else ["ortools"]
    elif size == "small" or problem.num_stops <= p.exact.max_tsp_stops:
        # The exact search declines quickly when it cannot prove optimality.
        plan = ["exact", "pyvrp", "ortools"]
    elif (
        size == "large" and p.decompose_above is not None and problem.num_stops > p.decompose_above
    ):
        plan = ["decompose", "pyvrp", "ortools"]
    else:
        plan = ["pyvrp", "ortools"]

    failures: list[str] = []
    invalid: InvalidSolutionError | None = None
    for engine in plan:
        try:
            solution = _run(engine, problem, p, deadline, seed, progress)
        except NotApplicableError as exc:
            failures.append(f"{engine}: {exc}")
            continue
        violations = validate(problem, solution)
        if not violations:
            return solution
        invalid = InvalidSolutionError(violations)
        failures.append(f"{engine}: invalid plan")
    if invalid is not None:
        raise invalid
    raise NotApplicableError("; ".join(failures))


def _run(
    engine: str,
    problem: Problem,
    p: SelectorParams,
    deadline: Deadline,
    seed: int,
    progress: ProgressCallback | None,
) -> Solution:
    # A fallback engine still gets a second or so when the first used up the budget.
    budget = max(deadline.remaining, 1.0)
    if engine == "exact":
        # Keep most of the budget for the heuristic should the exact search give up.
        return ExactBackend(p.exact).solve(
            problem, time_limit=budget / 2, seed=seed, progress=progress
        )
    if engine == "pyvrp":
        return PyVRPBackend(p.pyvrp).solve(problem, time_limit=budget, seed=seed, progress=progress)
    if engine == "ortools":
        return OrToolsBackend(p.ortools).solve(
            problem, time_limit=budget, seed=seed, progress=progress
        )
    if engine == "decompose":
        return solve_decomposed(
            problem,
            time_limit=budget,
            seed=seed,
            params=p.decomposition,
            pyvrp=p.pyvrp,
            progress=progress,
        )
    raise ValueError(f"unknown engine {engine!r}")
