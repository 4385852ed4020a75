"""Hybrid and pure quantum routing: QAOA on sub-problems that fit the qubit caps.

A whole route does not fit a QUBO beyond four stops (a depot-anchored tour of ``m`` stops
needs ``m**2`` qubits), so the hybrid mode starts from the classical plan and asks QAOA to
improve pieces of it:

- re-sequencing a window of consecutive stops of one route, between the fixed node before
  it and the fixed node after it. The two ends are merged into one anchor node whose
  outgoing distances are the predecessor's and incoming ones the successor's, so the
  depot-anchored tour QUBO of :mod:`solvers.quantum.tsp` encodes exactly that open path;
- re-partitioning the stops of two neighbouring routes (the partition QUBO, one qubit per
  stop, capacity left by the stops that stay put); moved stops are inserted where they add
  least distance.

A proposal is accepted only when :func:`solvers.validator.validate` passes and the plan's
cost goes down, so the result is never worse than the classical baseline. The pure quantum
mode solves a whole single-vehicle route as one tour QUBO when it fits the cap, and keeps
the classical plan when that one is better. Everything here is synchronous and seeded.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from solvers.problem import Problem
from solvers.quantum.encoding import PARTITION_QUBIT_CAP, TSP_QUBIT_CAP
from solvers.quantum.errors import QuantumError
from solvers.quantum.qaoa import QaoaParams
from solvers.schedule import assemble
from solvers.solution import OptimizationMode, Solution
from solvers.validator import validate

if TYPE_CHECKING:
    from solvers.quantum.backends import SamplingBackend
    from solvers.quantum.result import QuantumRunResult

SubproblemKind = Literal["tour", "resequence", "repartition"]
RunStatus = Literal["completed", "timeout", "failed"]
StopReason = Literal["done", "budget", "max_subproblems", "proven_optimal", "nothing_fits"]


class QuantumCapError(QuantumError):
    """Pure quantum mode was asked for a problem larger than one QUBO within the cap."""

    def __init__(self, *, stops: int, qubits: int, cap: int) -> None:
        self.stops, self.qubits, self.cap = stops, qubits, cap
        largest = int(cap**0.5)
        super().__init__(
            f"quantum mode encodes the whole route as one tour QUBO of stops² qubits: "
            f"{stops} stops need {qubits} qubits and the cap is {cap} (at most {largest} "
            f"stops); use mode 'hybrid' or allow hybrid"
        )


@dataclass(frozen=True)
class HybridParams:
    """Budgets and sizes of the quantum part of a job (defaults from the calibration)."""

    budget_s: float = 120.0
    """Quantum wall time per job, all sub-problems together."""
    max_subproblems: int = 10
    subproblem_time_s: float = 15.0
    """Optimiser budget of a sub-problem of at most 16 qubits."""
    large_subproblem_time_s: float = 60.0
    """Optimiser budget of a sub-problem of 17-20 qubits."""
    window: int = 4
    """Stops per re-sequencing window (window² qubits)."""
    partition_stops: int = 12
    """Stops re-partitioned between two routes at once (one qubit each)."""
    tsp_cap: int = TSP_QUBIT_CAP
    partition_cap: int = PARTITION_QUBIT_CAP
    qaoa: QaoaParams = field(default_factory=QaoaParams)
    """Layers, optimiser, iterations, shots and seed base of every circuit."""
    allow_hybrid: bool = False
    """Quantum mode over the cap runs the hybrid mode instead of raising."""
    min_run_s: float = 0.5
    """A sub-problem is not started with less budget than this left."""

    def __post_init__(self) -> None:
        if self.budget_s <= 0 or self.max_subproblems < 0:
            raise ValueError("budget_s must be positive and max_subproblems non-negative")
        if not self.window >= 2 or self.window**2 > self.tsp_cap:
            raise ValueError(f"window must be 2 to {int(self.tsp_cap**0.5)} stops")
        if not 2 <= self.partition_stops <= self.partition_cap:
            raise ValueError(f"partition_stops must be 2 to {self.partition_cap}")


@dataclass(frozen=True)
class SubproblemRun:
    """One QAOA circuit run on a piece of the plan, and what became of its proposal."""

    kind: SubproblemKind
    vehicles: tuple[str, ...]
    stops: tuple[str, ...]
    qubits: int
    status: RunStatus
    accepted: bool
    cost_before: float
    cost_after: float
    """Cost of the whole plan after this step (equal to ``cost_before`` when rejected)."""
    proposal_cost: float | None
    """Cost of the whole plan the proposal would have given (``None``: no valid proposal)."""
    outcome: str
    result: QuantumRunResult | None = None
    error: str | None = None

    @property
    def improvement(self) -> float:
        return self.cost_before - self.cost_after

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (without the circuit result itself)."""
        return {
            "kind": self.kind,
            "vehicles": list(self.vehicles),
            "stops": list(self.stops),
            "qubits": self.qubits,
            "status": self.status,
            "accepted": self.accepted,
            "cost_before": self.cost_before,
            "cost_after": self.cost_after,
            "proposal_cost": self.proposal_cost,
            "improvement": self.improvement,
            "outcome": self.outcome,
            "error": self.error,
        }


@dataclass
class HybridReport:
    """What the quantum part of one solve did."""

    mode: OptimizationMode
    baseline_cost: float
    baseline_solver: str
    final_cost: float = 0.0
    runs: list[SubproblemRun] = field(default_factory=list)
    stopped: StopReason = "done"
    timed_out: bool = False
    fallback_reason: str | None = None
    quantum_plan: bool = False
    """Whether the returned plan came out of a circuit (else it is the classical one)."""
    ran_as: OptimizationMode | None = None
    """The mode actually run (``hybrid`` for a quantum request over the cap, when allowed)."""
    elapsed_s: float = 0.0

    @property
    def improved(self) -> int:
        return sum(1 for r in self.runs if r.accepted)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for the job's result."""
        saved = self.baseline_cost - self.final_cost
        return {
            "mode": self.mode,
            "ran_as": self.ran_as or self.mode,
            "baseline_cost": self.baseline_cost,
            "baseline_solver": self.baseline_solver,
            "final_cost": self.final_cost,
            "improvement": saved,
            "improvement_pct": (100 * saved / self.baseline_cost) if self.baseline_cost else 0.0,
            "subproblems_run": len(self.runs),
            "subproblems_improved": self.improved,
            "stopped": self.stopped,
            "timed_out": self.timed_out,
            "quantum_plan": self.quantum_plan,
            "fallback_reason": self.fallback_reason,
            "elapsed_s": round(self.elapsed_s, 3),
            "subproblems": [r.describe() for r in self.runs],
        }


@runtime_checkable
class QuantumImprover(Protocol):
    """What the selector calls in 'hybrid' and 'quantum' modes: improve a classical plan."""

    name: str

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int,
        progress: Callable[[float, float], None] | None = None,
    ) -> Solution:
        """Solve from scratch (the classical plan, then :meth:`improve`)."""
        ...

    def improve(
        self, problem: Problem, baseline: Solution, *, mode: OptimizationMode, seed: int
    ) -> Solution:
        """A plan never worse than ``baseline``, valid for ``problem``."""
        ...


def tour_qubits(num_stops: int) -> int:
    """Qubits of a depot-anchored tour QUBO through ``num_stops`` stops."""
    return num_stops * num_stops


def quantum_fits(num_stops: int, params: HybridParams | None = None) -> bool:
    """Whether pure quantum mode can encode a route of ``num_stops`` stops."""
    p = params or HybridParams()
    return num_stops >= 2 and tour_qubits(num_stops) <= p.tsp_cap


class _Clock:
    def __init__(self, budget_s: float) -> None:
        self.started = time.perf_counter()
        self.budget_s = budget_s

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget_s - self.elapsed)


def _with_sequences(
    problem: Problem, solution: Solution, sequences: dict[int, list[int]], solver: str
) -> Solution:
    return assemble(
        problem,
        sequences,
        solver=solver,
        elapsed_s=solution.elapsed_s,
        unassigned={u.stop: u.reason for u in solution.unassigned},
    )


def _sequences(solution: Solution) -> dict[int, list[int]]:
    return {r.vehicle: list(r.stops) for r in solution.routes}


class HybridSolver:
    """QAOA on sub-problems of a classical plan; see the module docstring.

    ``sampler`` is where final circuits are sampled (Aer statevector when ``None``);
    ``on_report`` receives the report of every solve, with each circuit's result.
    """

    name = "qaoa"

    def __init__(
        self,
        params: HybridParams | None = None,
        *,
        sampler: SamplingBackend | None = None,
        on_report: Callable[[HybridReport], None] | None = None,
    ) -> None:
        self.params = params or HybridParams()
        self.sampler = sampler
        self.on_report = on_report

    # The selector's Backend protocol, for callers that have no baseline yet.
    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int,
        progress: Callable[[float, float], None] | None = None,
    ) -> Solution:
        from solvers.selector import solve_problem

        baseline = solve_problem(problem, time_limit=time_limit, seed=seed, progress=progress)
        return self.improve(problem, baseline, mode="hybrid", seed=seed)

    def improve(
        self, problem: Problem, baseline: Solution, *, mode: OptimizationMode, seed: int
    ) -> Solution:
        """Run the quantum part of ``mode`` on top of ``baseline``; never worse than it."""
        p = self.params
        report = HybridReport(
            mode=mode, baseline_cost=baseline.cost, baseline_solver=baseline.solver
        )
        clock = _Clock(p.budget_s)
        try:
            if mode == "quantum":
                if quantum_fits(problem.num_stops, p) and len(baseline.routes) <= 1:
                    solution = self._pure(problem, baseline, report, clock, seed)
                elif p.allow_hybrid:
                    report.ran_as = "hybrid"
                    solution = self._hybrid(problem, baseline, report, clock, seed)
                else:
                    raise QuantumCapError(
                        stops=problem.num_stops,
                        qubits=tour_qubits(problem.num_stops),
                        cap=p.tsp_cap,
                    )
            else:
                solution = self._hybrid(problem, baseline, report, clock, seed)
        finally:
            report.elapsed_s = clock.elapsed
        if validate(problem, solution) or solution.cost > baseline.cost + 1e-9:
            # Defensive: nothing below should produce this, but the promise is absolute.
            solution = baseline
            report.quantum_plan = False
            report.fallback_reason = "the quantum plan did not validate; classical plan kept"
        if report.timed_out and report.fallback_reason is None:
            report.fallback_reason = (
                f"the quantum budget of {p.budget_s:g} s ran out after {len(report.runs)} "
                f"sub-problem(s); the classical plan is kept"
                + (f" with {report.improved} accepted improvement(s)" if report.improved else "")
            )
        report.final_cost = solution.cost
        if self.on_report is not None:
            self.on_report(report)
        report.quantum_plan = report.quantum_plan or report.improved > 0
        quantum_used = report.quantum_plan
        solver = f"{baseline.solver}+qaoa" if quantum_used else baseline.solver
        if mode == "quantum" and report.ran_as is None and quantum_used:
            solver = "qaoa"
        return replace(
            solution,
            solver=solver,
            lower_bound=baseline.lower_bound,
            proven_optimal=baseline.proven_optimal and solution.cost <= baseline.cost,
            backend=(report.ran_as or mode) if quantum_used else "classical",
            requested_mode=mode,
            fallback_reason=report.fallback_reason,
        )

    # -- pure quantum ------------------------------------------------------------------

    def _pure(
        self,
        problem: Problem,
        baseline: Solution,
        report: HybridReport,
        clock: _Clock,
        seed: int,
    ) -> Solution:
        route = baseline.routes[0] if baseline.routes else None
        vehicle = route.vehicle if route is not None else 0
        stops = list(route.stops) if route is not None else list(range(problem.num_stops))
        if len(stops) < 2:
            report.stopped = "nothing_fits"
            report.fallback_reason = "fewer than two stops to order; classical plan kept"
            return baseline
        current = baseline
        run = self._resequence(problem, current, vehicle, 0, len(stops), clock, seed, "tour")
        report.runs.append(run)
        if run.status == "timeout":
            report.timed_out = True
            report.stopped = "budget"
            return baseline
        if run.proposal_cost is not None and run.proposal_cost <= baseline.cost + 1e-9:
            # As good as the classical plan (often the same tour): the circuit's answer stands.
            report.quantum_plan = True
            return self._apply_tour(problem, current, vehicle, 0, len(stops), run)
        if run.proposal_cost is not None and run.proposal_cost > baseline.cost + 1e-9:
            worse = 100 * (run.proposal_cost - baseline.cost) / baseline.cost
            report.fallback_reason = (
                f"QAOA's best tour costs {worse:.1f}% more than the classical plan; "
                "the classical plan is kept"
            )
        elif run.proposal_cost is None:
            report.fallback_reason = f"QAOA gave no valid plan ({run.outcome}); classical kept"
        return baseline

    # -- hybrid ------------------------------------------------------------------------

    def _hybrid(
        self,
        problem: Problem,
        baseline: Solution,
        report: HybridReport,
        clock: _Clock,
        seed: int,
    ) -> Solution:
        p = self.params
        if baseline.proven_optimal:
            report.stopped = "proven_optimal"
            return baseline
        current = baseline
        candidates = self._candidates(problem, baseline)
        if not candidates:
            report.stopped = "nothing_fits"
            return baseline
        for index, candidate in enumerate(candidates):
            if len(report.runs) >= p.max_subproblems:
                report.stopped = "max_subproblems"
                break
            if clock.remaining < p.min_run_s:
                report.stopped = "budget"
                report.timed_out = True
                break
            run_seed = seed + index
            if candidate[0] == "resequence":
                _, vehicle_id, start, length = candidate
                vehicle = self._vehicle_index(problem, str(vehicle_id))
                route = current.route_of(str(vehicle_id))
                if route is None or len(route.stops) < int(start) + int(length):
                    continue
                run = self._resequence(
                    problem,
                    current,
                    vehicle,
                    int(start),
                    int(length),
                    clock,
                    run_seed,
                    "resequence",
                )
                if run.accepted:
                    current = self._apply_tour(
                        problem, current, vehicle, int(start), int(length), run
                    )
            else:
                _, first, second, _unused = candidate
                run, proposal = self._repartition(
                    problem, current, str(first), str(second), clock, run_seed
                )
                if run.accepted and proposal is not None:
                    current = proposal
            report.runs.append(run)
            if run.status == "timeout":
                report.timed_out = True
                report.stopped = "budget"
                break
        return current

    def _vehicle_index(self, problem: Problem, vehicle_id: str) -> int:
        return next(i for i, v in enumerate(problem.vehicles) if v.id == vehicle_id)

    def _candidates(
        self, problem: Problem, solution: Solution
    ) -> list[tuple[str, str, int | str, int]]:
        """Sub-problems, most promising first, alternating kinds when both exist.

        Windows: non-overlapping runs of ``window`` stops, ranked by the length of their legs
        (long legs leave room to shorten). Pairs: routes whose stop centroids are nearest.
        """
        p = self.params
        dist = problem.matrix.distance
        windows: list[tuple[float, tuple[str, str, int | str, int]]] = []
        for route in solution.routes:
            stops = list(route.stops)
            if len(stops) < 3:
                continue
            size = min(p.window, len(stops))
            locs = [
                problem.start_location(route.vehicle),
                *(problem.stop_location(s) for s in stops),
                problem.end_location(route.vehicle),
            ]
            for start in range(0, len(stops) - size + 1, max(1, size - 1)):
                legs = sum(
                    int(dist[a, b]) for a, b in itertools.pairwise(locs[start : start + size + 2])
                )
                windows.append((legs, ("resequence", route.vehicle_id, start, size)))
        windows.sort(key=lambda item: -item[0])
        pairs: list[tuple[float, tuple[str, str, int | str, int]]] = []
        if len(solution.routes) >= 2:
            centroids = {
                r.vehicle_id: np.mean(
                    [[problem.stops[s].point.lat, problem.stops[s].point.lon] for s in r.stops],
                    axis=0,
                )
                for r in solution.routes
            }
            for a, b in itertools.combinations(solution.routes, 2):
                gap = float(np.linalg.norm(centroids[a.vehicle_id] - centroids[b.vehicle_id]))
                pairs.append((gap, ("repartition", a.vehicle_id, b.vehicle_id, 0)))
            pairs.sort(key=lambda item: item[0])
            pairs = pairs[: max(1, len(solution.routes) - 1)]
        ordered: list[tuple[str, str, int | str, int]] = []
        for w, q in itertools.zip_longest(windows, pairs):
            if q is not None:
                ordered.append(q[1])
            if w is not None:
                ordered.append(w[1])
        return ordered

    def _params_for(self, qubits: int, clock: _Clock, seed: int) -> tuple[QaoaParams, float]:
        p = self.params
        limit = p.subproblem_time_s if qubits <= 16 else p.large_subproblem_time_s
        # Sampling, decoding and the exact answer follow the optimiser: leave them room.
        tail = 1.0 if qubits > 12 else 0.3
        allowed = min(limit, max(0.0, clock.remaining - tail))
        return replace(p.qaoa, time_limit_s=allowed, seed=seed), allowed

    def _run_qaoa(
        self, encoding: Any, clock: _Clock, seed: int
    ) -> tuple[QuantumRunResult | None, RunStatus, str | None]:
        from solvers.quantum.runner import solve as qaoa_solve

        qubits = encoding.qubo.num_variables
        params, allowed = self._params_for(qubits, clock, seed)
        budget_bound = allowed < (
            self.params.subproblem_time_s if qubits <= 16 else self.params.large_subproblem_time_s
        )
        try:
            result = qaoa_solve(encoding, params, self.sampler)
        except Exception as exc:  # a failed circuit run is recorded, and the plan is kept
            return None, "failed", f"{type(exc).__name__}: {exc}"
        stopped = result.raw_result.get("optimizer", {}).get("stopped")
        if (stopped == "time_limit" and budget_bound) or clock.remaining <= 0:
            return result, "timeout", None
        return result, "completed", None

    def _resequence(
        self,
        problem: Problem,
        solution: Solution,
        vehicle: int,
        start: int,
        length: int,
        clock: _Clock,
        seed: int,
        kind: SubproblemKind,
    ) -> SubproblemRun:
        from solvers.quantum.tsp import tsp_qubo

        route = solution.route_of(problem.vehicles[vehicle].id)
        stops = list(route.stops) if route is not None else list(range(problem.num_stops))
        window = stops[start : start + length]
        before = (
            problem.start_location(vehicle)
            if start == 0
            else problem.stop_location(stops[start - 1])
        )
        after = (
            problem.end_location(vehicle)
            if start + length == len(stops)
            else problem.stop_location(stops[start + length])
        )
        dist = problem.matrix.distance.astype(np.float64) / 1000
        locs = [problem.stop_location(s) for s in window]
        d = np.zeros((length + 1, length + 1))
        d[0, 1:] = dist[before, locs]
        d[1:, 0] = dist[locs, after]
        d[1:, 1:] = dist[np.ix_(locs, locs)]
        encoding = tsp_qubo(d, cap=self.params.tsp_cap)
        result, status, error = self._run_qaoa(encoding, clock, seed)
        base = dict(
            kind=kind,
            vehicles=(problem.vehicles[vehicle].id,),
            stops=tuple(problem.stops[s].id for s in window),
            qubits=length * length,
            cost_before=solution.cost,
        )
        if result is None or status != "completed":
            return SubproblemRun(
                **base,  # type: ignore[arg-type]
                status=status,
                accepted=False,
                cost_after=solution.cost,
                proposal_cost=None,
                outcome="circuit failed" if status == "failed" else "time budget ran out",
                result=result,
                error=error,
            )
        order = [window[node - 1] for node in result.solution[1:]]
        sequences = _sequences(solution)
        sequences[vehicle] = stops[:start] + order + stops[start + length :]
        proposal = _with_sequences(problem, solution, sequences, solution.solver)
        violations = validate(problem, proposal)
        if violations:
            outcome = f"invalid: {violations[0].kind}: {violations[0].detail}"
            return SubproblemRun(
                **base,  # type: ignore[arg-type]
                status=status,
                accepted=False,
                cost_after=solution.cost,
                proposal_cost=None,
                outcome=outcome,
                result=result,
            )
        better = proposal.cost < solution.cost - 1e-9
        return SubproblemRun(
            **base,  # type: ignore[arg-type]
            status=status,
            accepted=better,
            cost_after=proposal.cost if better else solution.cost,
            proposal_cost=proposal.cost,
            outcome="improved" if better else "no improvement",
            result=result,
        )

    def _apply_tour(
        self,
        problem: Problem,
        solution: Solution,
        vehicle: int,
        start: int,
        length: int,
        run: SubproblemRun,
    ) -> Solution:
        assert run.result is not None
        route = solution.route_of(problem.vehicles[vehicle].id)
        stops = list(route.stops) if route is not None else list(range(problem.num_stops))
        window = stops[start : start + length]
        order = [window[node - 1] for node in run.result.solution[1:]]
        sequences = _sequences(solution)
        sequences[vehicle] = stops[:start] + order + stops[start + length :]
        return _with_sequences(problem, solution, sequences, solution.solver)

    def _repartition(
        self,
        problem: Problem,
        solution: Solution,
        first: str,
        second: str,
        clock: _Clock,
        seed: int,
    ) -> tuple[SubproblemRun, Solution | None]:
        from solvers.quantum.partition import partition_qubo

        p = self.params
        ra, rb = solution.route_of(first), solution.route_of(second)
        assert ra is not None
        assert rb is not None
        va, vb = ra.vehicle, rb.vehicle
        pts = {
            v: np.mean(
                [[problem.stops[s].point.lat, problem.stops[s].point.lon] for s in r.stops], 0
            )
            for v, r in ((va, ra), (vb, rb))
        }

        def toward(stop: int, other: int) -> float:
            here = problem.stops[stop].point
            return float(np.linalg.norm(np.array([here.lat, here.lon]) - pts[other]))

        # The stops nearest the other route are the ones worth reconsidering.
        half = p.partition_stops // 2
        free_a = sorted(ra.stops, key=lambda s: toward(s, vb))[:half]
        free_b = sorted(rb.stops, key=lambda s: toward(s, va))[: p.partition_stops - len(free_a)]
        free = [*free_a, *free_b]
        fixed_a = [s for s in ra.stops if s not in free_a]
        fixed_b = [s for s in rb.stops if s not in free_b]
        base = dict(
            kind="repartition",
            vehicles=(first, second),
            stops=tuple(problem.stops[s].id for s in free),
            qubits=len(free),
            cost_before=solution.cost,
        )
        total = sum(problem.stops[s].demand_kg for s in free)

        def room(vehicle: int, fixed: list[int]) -> float:
            cap = problem.vehicles[vehicle].capacity_kg
            used = sum(problem.stops[s].demand_kg for s in fixed)
            return total if cap is None else max(0.0, cap - used)

        dist = problem.matrix.distance.astype(np.float64) / 1000
        locs = [problem.stop_location(s) for s in free]
        try:
            encoding = partition_qubo(
                dist[np.ix_(locs, locs)],
                [problem.stops[s].demand_kg for s in free],
                (room(va, fixed_a), room(vb, fixed_b)),
                cap=p.partition_cap,
            )
        except ValueError as exc:
            return (
                SubproblemRun(
                    **base,  # type: ignore[arg-type]
                    status="failed",
                    accepted=False,
                    cost_after=solution.cost,
                    proposal_cost=None,
                    outcome="no split fits",
                    error=str(exc),
                ),
                None,
            )
        result, status, error = self._run_qaoa(encoding, clock, seed)
        if result is None or status != "completed":
            return (
                SubproblemRun(
                    **base,  # type: ignore[arg-type]
                    status=status,
                    accepted=False,
                    cost_after=solution.cost,
                    proposal_cost=None,
                    outcome="circuit failed" if status == "failed" else "time budget ran out",
                    result=result,
                    error=error,
                ),
                None,
            )
        to_a = [s for s, side in zip(free, result.solution, strict=True) if side == 0]
        to_b = [s for s, side in zip(free, result.solution, strict=True) if side == 1]
        sequences = _sequences(solution)
        sequences[va] = _insert(problem, va, [s for s in ra.stops if s not in to_b], to_a)
        sequences[vb] = _insert(problem, vb, [s for s in rb.stops if s not in to_a], to_b)
        proposal = _with_sequences(problem, solution, sequences, solution.solver)
        violations = validate(problem, proposal)
        if violations or proposal.unassigned != solution.unassigned:
            detail = violations[0].detail if violations else "coverage changed"
            return (
                SubproblemRun(
                    **base,  # type: ignore[arg-type]
                    status=status,
                    accepted=False,
                    cost_after=solution.cost,
                    proposal_cost=None,
                    outcome=f"invalid: {detail}",
                    result=result,
                ),
                None,
            )
        better = proposal.cost < solution.cost - 1e-9
        run = SubproblemRun(
            **base,  # type: ignore[arg-type]
            status=status,
            accepted=better,
            cost_after=proposal.cost if better else solution.cost,
            proposal_cost=proposal.cost,
            outcome="improved" if better else "no improvement",
            result=result,
        )
        return run, proposal if better else None


def _insert(
    problem: Problem, vehicle: int, kept: Sequence[int], incoming: Sequence[int]
) -> list[int]:
    """``kept`` in its order, plus each stop of ``incoming`` where it adds least distance."""
    dist = problem.matrix.distance
    seq = [s for s in kept if s in set(kept)]
    already = set(seq)
    for stop in incoming:
        if stop in already:
            continue
        locs = [
            problem.start_location(vehicle),
            *(problem.stop_location(s) for s in seq),
            problem.end_location(vehicle),
        ]
        here = problem.stop_location(stop)
        best = min(
            range(len(seq) + 1),
            key=lambda i: (
                int(dist[locs[i], here])
                + int(dist[here, locs[i + 1]])
                - int(dist[locs[i], locs[i + 1]])
            ),
        )
        seq.insert(best, stop)
        already.add(stop)
    return seq
