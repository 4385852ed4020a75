"""PyVRP (iterated local search) backend: the default engine.

Vehicles with identical attributes form one PyVRP vehicle type; each of our vehicle types
gets its own routing profile (its duration matrix, and its distance matrix with stops
reserved for other types made unreachable).

Determinism: for a given seed PyVRP follows the same search path, so the result only
depends on how many iterations fit in ``time_limit``. Set ``max_iterations`` for results
that are identical across machines and load.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from solvers.backends.base import Deadline, distance_unit_costs, split_servable
from solvers.problem import MAX_TIME, UNLIMITED, Problem
from solvers.schedule import assemble
from solvers.solution import ProgressCallback, Solution

if TYPE_CHECKING:
    import pyvrp
    from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks

# Distance of an arc into a stop the vehicle type may not serve: dearer than any prize.
_FORBIDDEN = 1 << 40
_NO_LIMIT = int(np.iinfo(np.int64).max)


@dataclass(frozen=True)
class PyVRPParams:
    """Knobs of the PyVRP backend."""

    max_iterations: int | None = None
    """Stop after this many iterations even within the time limit (reproducible runs)."""
    no_improvement: int | None = None
    """Stop after this many iterations without a better solution."""
    infeasible_share: float = 0.3
    """If nothing feasible is found within this share of the budget (or of
    ``max_iterations``), some stops cannot all be served: switch to dropping stops."""


@dataclass
class _Model:
    data: pyvrp.ProblemData
    stops: list[int]  # our stop index of each PyVRP client
    fleet: list[list[int]]  # our vehicle indices of each PyVRP vehicle type
    to_cost: float  # PyVRP distance cost to our cost


class _Stop:
    """Stopping criterion: time, iteration caps, and the early switch when infeasible."""

    def __init__(
        self,
        deadline: Deadline,
        limit: float,
        params: PyVRPParams,
        watch_feasibility: bool,
    ) -> None:
        self.deadline, self.limit, self.params = deadline, limit, params
        self.watch = watch_feasibility
        self.iterations = 0
        self.since_best = 0
        self.best = math.inf
        self.gave_up = False

    def __call__(self, best_cost: float) -> bool:
        self.iterations += 1
        if best_cost < self.best:
            self.best, self.since_best = best_cost, 0
        else:
            self.since_best += 1
        p = self.params
        if self.watch and not math.isfinite(self.best):
            if p.max_iterations is not None:
                late = self.iterations > p.infeasible_share * p.max_iterations
            else:
                late = self.deadline.elapsed > p.infeasible_share * self.limit
            if late:
                self.gave_up = True
                return True
        if p.max_iterations is not None and self.iterations >= p.max_iterations:
            return True
        if p.no_improvement is not None and self.since_best >= p.no_improvement:
            return True
        return self.deadline.elapsed >= self.limit


class PyVRPBackend:
    """Capacitated, time-windowed, multi-depot, heterogeneous-fleet routing with PyVRP."""

    name = "pyvrp"

    def __init__(self, params: PyVRPParams | None = None) -> None:
        self.params = params or PyVRPParams()

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int,
        progress: ProgressCallback | None = None,
        initial: Mapping[int, Sequence[int]] | None = None,
    ) -> Solution:
        """Solve within ``time_limit`` seconds; ``initial`` warm-starts from given routes."""
        deadline = Deadline(time_limit)
        servable, hopeless = split_servable(problem)
        if not servable:
            return assemble(
                problem, {}, solver=self.name, elapsed_s=deadline.elapsed, unassigned=hopeless
            )
        # When the fleet cannot carry everything, go straight to choosing what to leave out.
        gave_up = _overloaded(problem, servable)
        if not gave_up:
            model = _build(problem, servable, optional=False)
            routes, gave_up = self._run(model, deadline, time_limit, seed, progress, initial, True)
        if gave_up:
            model = _build(problem, servable, optional=True)
            routes, _ = self._run(model, deadline, time_limit, seed, progress, None, False)
        routes = _drop_forbidden(problem, routes)
        return assemble(
            problem, routes, solver=self.name, elapsed_s=deadline.elapsed, unassigned=hopeless
        )

    def _run(
        self,
        model: _Model,
        deadline: Deadline,
        limit: float,
        seed: int,
        progress: ProgressCallback | None,
        initial: Mapping[int, Sequence[int]] | None,
        watch: bool,
    ) -> tuple[dict[int, list[int]], bool]:
        import pyvrp
        from pyvrp.exceptions import PenaltyBoundWarning
        from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams

        stop = _Stop(deadline, limit, self.params, watch)
        params = pyvrp.SolveParams(
            ils=IteratedLocalSearchParams(
                callbacks=cast("IteratedLocalSearchCallbacks", _Progress(model, deadline, progress))
            )
        )
        warm = _warm_start(model, initial) if initial else None
        with warnings.catch_warnings():
            # Raised when no feasible solution is in sight: handled by the switch above.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            result = pyvrp.solve(
                model.data,
                stop,
                seed=seed,
                collect_stats=False,
                params=params,
                initial_solution=warm,
            )
        if stop.gave_up or not result.best.is_feasible():
            return {}, True
        return _routes(model, result.best), False


class _Progress:
    """Reports each new feasible best to the caller, in the problem's cost units."""

    def __init__(self, model: _Model, deadline: Deadline, cb: ProgressCallback | None) -> None:
        self.model, self.deadline, self.cb = model, deadline, cb

    def on_start(self, ils: Any) -> None:
        pass

    def on_end(self, result: Any) -> None:
        pass

    def on_iteration(self, current: Any, candidate: Any, best: Any, cost_evaluator: Any) -> None:
        pass

    def on_restart(self, best: Any) -> None:
        pass

    def on_best(self, best: Any) -> None:
        if self.cb is not None and best.is_feasible():
            self.cb(best.distance_cost() * self.model.to_cost, self.deadline.elapsed)


def _build(problem: Problem, stops: list[int], *, optional: bool) -> _Model:
    """PyVRP data for the given stops; ``optional`` lets PyVRP drop stops at a prize."""
    import pyvrp

    dims = list(problem.load_dimensions)
    locs = list(range(len(problem.depots))) + [problem.stop_location(s) for s in stops]
    base = problem.matrix.distance[np.ix_(locs, locs)]
    units, to_cost = distance_unit_costs(problem)
    # Serving a stop must always beat leaving it out when it fits somewhere.
    prize = int(2 * int(base.max(initial=0)) * max(units) + 1)

    vtypes = sorted({v.vehicle_type for v in problem.vehicles})
    distances: list[Any] = []
    durations: list[Any] = []
    for vtype in vtypes:
        dist = base.copy()
        for j, s in enumerate(stops):
            required = problem.stops[s].vehicle_type
            if required is not None and required != vtype:
                col = len(problem.depots) + j
                dist[:, col] = _FORBIDDEN
                dist[col, col] = 0
        distances.append(dist)
        durations.append(problem.matrix.duration(vtype)[np.ix_(locs, locs)])

    # Loads in their coarsest common unit (e.g. whole kg), which is how PyVRP's penalties
    # are tuned; grams would only inflate the numbers.
    unit = [_common_unit(problem, stops, d) for d in dims]
    clients = []
    for j, s in enumerate(stops):
        stop = problem.stops[s]
        clients.append(
            pyvrp.Client(
                location=len(problem.depots) + j,
                delivery=[int(problem.demands[s, d]) // u for d, u in zip(dims, unit, strict=True)],
                service_duration=stop.service_time,
                tw_early=stop.time_window.start,
                tw_late=_late(stop.time_window.end),
                required=not optional,
                prize=prize if optional else 0,
                name=stop.id,
            )
        )
    depots = [
        pyvrp.Depot(
            location=i, tw_early=d.time_window.start, tw_late=_late(d.time_window.end), name=d.id
        )
        for i, d in enumerate(problem.depots)
    ]

    vehicle_types = []
    for members in problem.vehicle_kinds:
        v = members[0]
        reach = problem.max_distance(v)
        extra: dict[str, Any] = {} if reach is None else {"max_distance": reach}
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(members),
                capacity=[
                    int(problem.capacities[v, d]) // u for d, u in zip(dims, unit, strict=True)
                ],
                start_depot=problem.start_location(v),
                end_depot=problem.end_location(v),
                tw_early=problem.earliest_departure(v),
                tw_late=_late(problem.latest_return(v)),
                unit_distance_cost=units[v],
                profile=vtypes.index(problem.vehicles[v].vehicle_type),
                **extra,
            )
        )
    locations = [pyvrp.Location(x=p.lon, y=p.lat) for p in _points(problem, locs)]
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=distances,
        duration_matrices=durations,
    )
    return _Model(
        data=data, stops=stops, fleet=[list(k) for k in problem.vehicle_kinds], to_cost=to_cost
    )


def _late(end: int) -> int:
    """PyVRP's own "no limit" for open-ended windows: it skips time bookkeeping for them,
    which makes the search about 10 % faster on problems without windows."""
    return end if end < MAX_TIME else _NO_LIMIT


def _overloaded(problem: Problem, stops: list[int]) -> bool:
    """Whether the stops' total demand exceeds the whole fleet's capacity in a dimension."""
    need = problem.demands[stops].sum(axis=0)
    return bool((need > problem.capacities.sum(axis=0)).any())


def _common_unit(problem: Problem, stops: list[int], dim: int) -> int:
    """Greatest common divisor of the demands and the (limited) capacities in a dimension."""
    values = [int(problem.demands[s, dim]) for s in stops]
    values += [int(c) for c in problem.capacities[:, dim] if c < UNLIMITED]
    return math.gcd(*values) or 1


def _points(problem: Problem, locs: list[int]) -> list[Any]:
    points = [d.point for d in problem.depots] + [s.point for s in problem.stops]
    return [points[i] for i in locs]


def _routes(model: _Model, solution: Any) -> dict[int, list[int]]:
    """Our vehicle index to our stop sequence."""
    free = [list(members) for members in model.fleet]
    out: dict[int, list[int]] = {}
    for route in solution.routes():
        vehicle = free[route.vehicle_type()].pop(0)
        out[vehicle] = [model.stops[a.idx] for a in route if a.is_client()]
    return out


def _warm_start(model: _Model, initial: Mapping[int, Sequence[int]]) -> Any:
    import pyvrp

    client_of = {s: i for i, s in enumerate(model.stops)}
    type_of = {v: t for t, members in enumerate(model.fleet) for v in members}
    routes = [
        pyvrp.Route(model.data, [client_of[s] for s in seq if s in client_of], type_of[v])
        for v, seq in initial.items()
        if any(s in client_of for s in seq)
    ]
    return pyvrp.Solution(model.data, routes)


def _drop_forbidden(problem: Problem, routes: dict[int, list[int]]) -> dict[int, list[int]]:
    """Vehicle types are enforced through arc costs only: take out any stop that slipped."""
    return {v: [s for s in seq if problem.can_serve(v, s)] for v, seq in routes.items()}
