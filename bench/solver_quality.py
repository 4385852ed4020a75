"""Solution quality against best-known solutions, next to OR-Tools and plain PyVRP.

    nice -n 10 python bench/solver_quality.py --limits 1,10,30 [--instances C101,X-n101-k25]
    nice -n 10 python bench/solver_quality.py --decomposition --limits 10
    python bench/solver_quality.py --exact-timing

For every instance in ../shared/bench/instances/bks.csv and every time limit, runs
* ours: ``solvers.selector.solve_problem`` with the production configuration,
* pyvrp: ``pyvrp.solve`` with its defaults on ``pyvrp.read`` of the same file,
* ortools: the OR-Tools backend (guided local search),
and prints the gap to the BKS in percent (per instance, and the mean per time limit).
``--decomposition`` compares the direct solve with decomposition on the > 60-stop
instances instead. ``--exact-timing`` times the exact path on 15-stop single-vehicle
problems. Every result is also appended as one JSON line to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._vrplib import SCALE, Instance, catalogue, cost, load
from solvers.backends.ortools_backend import OrToolsBackend
from solvers.problem import Depot, Point, Problem, Stop, TravelMatrix, Vehicle
from solvers.selector import SelectorParams, solve_problem

Runner = Callable[[Instance, float, int], float]


def run_ours(inst: Instance, limit: float, seed: int) -> float:
    problem = load(inst.path, inst.rounding)
    return cost(solve_problem(problem, time_limit=limit, seed=seed), inst.rounding)


def run_decomposed(inst: Instance, limit: float, seed: int) -> float:
    problem = load(inst.path, inst.rounding)
    params = SelectorParams(decompose_above=60)
    return cost(solve_problem(problem, time_limit=limit, seed=seed, params=params), inst.rounding)


def run_pyvrp(inst: Instance, limit: float, seed: int) -> float:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    data = pyvrp.read(inst.path, round_func=inst.rounding)
    result = pyvrp.solve(data, MaxRuntime(limit), seed=seed, collect_stats=False)
    return result.cost() / SCALE[inst.rounding]


def run_ortools(inst: Instance, limit: float, seed: int) -> float:
    problem = load(inst.path, inst.rounding)
    solution = OrToolsBackend().solve(problem, time_limit=limit, seed=seed)
    if solution.unassigned:
        return float("inf")
    return cost(solution, inst.rounding)


def gap(value: float, bks: float) -> float:
    return 100 * (value - bks) / bks


def quality(
    instances: list[Instance],
    limits: list[float],
    runners: dict[str, Runner],
    seed: int,
    out: Path,
) -> None:
    table: dict[tuple[str, float, str], float] = {}
    for inst in instances:
        for limit in limits:
            for name, runner in runners.items():
                started = time.perf_counter()
                try:
                    value = runner(inst, limit, seed)
                except Exception as exc:  # report and carry on with the other runs
                    print(f"{inst.name} {limit}s {name}: {exc!r}", file=sys.stderr)
                    value = float("inf")
                elapsed = time.perf_counter() - started
                assert inst.bks is not None
                table[(inst.name, limit, name)] = gap(value, inst.bks)
                row = {
                    "instance": inst.name,
                    "limit": limit,
                    "solver": name,
                    "cost": value,
                    "bks": inst.bks,
                    "gap_pct": gap(value, inst.bks),
                    "wall_s": elapsed,
                }
                with out.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(
                    f"{inst.name:12} {limit:>4g}s {name:8} {value:10.1f} "
                    f"gap {gap(value, inst.bks):6.2f}%  ({elapsed:.1f}s)",
                    file=sys.stderr,
                )
    names = list(runners)
    header = f"{'instance':12}" + "".join(
        f" | {f'{limit:g}s ' + n:>14}" for limit in limits for n in names
    )
    print(header)
    print("-" * len(header))
    for inst in instances:
        cells = "".join(f" | {table[(inst.name, lim, n)]:14.2f}" for lim in limits for n in names)
        print(f"{inst.name:12}{cells}")
    print("-" * len(header))
    means = "".join(
        f" | {statistics.fmean(table[(i.name, lim, n)] for i in instances):14.2f}"
        for lim in limits
        for n in names
    )
    print(f"{'mean gap %':12}{means}")


def exact_timing(repeats: int = 20, size: int = 15) -> None:
    """Time the selector on random single-vehicle problems of ``size`` stops."""
    rng = np.random.default_rng(0)
    times, optimal = [], 0
    for _ in range(repeats):
        pts = rng.uniform(0, 10_000, size=(size + 1, 2))
        dist = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))
        matrix = TravelMatrix(
            distance=dist.astype(np.int64), durations={"van": dist.astype(np.int64)}
        )
        problem = Problem(
            depots=(Depot("d", Point(pts[0, 1], pts[0, 0])),),
            stops=tuple(
                Stop(f"s{i}", Point(y, x), demand_kg=1) for i, (x, y) in enumerate(pts[1:])
            ),
            vehicles=(Vehicle("v", "d", capacity_kg=100),),
            matrix=matrix,
        )
        started = time.perf_counter()
        solution = solve_problem(problem, time_limit=1.0, seed=0)
        times.append(time.perf_counter() - started)
        optimal += solution.proven_optimal
    ms = sorted(1000 * t for t in times)
    print(
        f"{size}-stop single vehicle, {repeats} problems: proven optimal {optimal}/{repeats}; "
        f"median {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms (first includes warm-up)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", default="1,10,30", help="time limits in seconds")
    parser.add_argument("--instances", default="", help="comma-separated names (default all)")
    parser.add_argument("--solvers", default="ours,pyvrp,ortools")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("solver_quality.jsonl"))
    parser.add_argument(
        "--decomposition",
        action="store_true",
        help="compare direct and decomposed solves on > 60-stop instances",
    )
    parser.add_argument("--exact-timing", action="store_true")
    args = parser.parse_args()

    if args.exact_timing:
        exact_timing()
        return
    wanted = {n for n in args.instances.split(",") if n}
    instances = [i for i in catalogue() if not wanted or i.name in wanted]
    limits = [float(x) for x in args.limits.split(",")]
    every: dict[str, Runner] = {"ours": run_ours, "pyvrp": run_pyvrp, "ortools": run_ortools}
    if args.decomposition:
        instances = [i for i in instances if load(i.path, i.rounding).num_stops > 60]
        runners: dict[str, Runner] = {"direct": run_ours, "decomp": run_decomposed}
    else:
        runners = {n: every[n] for n in args.solvers.split(",")}
    quality(instances, limits, runners, args.seed, args.out)


if __name__ == "__main__":
    main()
