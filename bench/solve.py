"""Solve one VRPLIB instance with the production solver configuration.

    python bench/solve.py INSTANCE.vrp --time-limit 10 --seed 1 --round nint|dimacs

Prints {"cost": ..., "routes": [[client numbers as in .sol files], ...]}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._vrplib import cost, load, routes
from solvers.selector import solve_problem

ROUNDING = {"nint": "round", "round": "round", "dimacs": "dimacs"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--round", choices=sorted(ROUNDING), default="nint")
    args = parser.parse_args()

    rounding = ROUNDING[args.round]
    problem = load(args.instance, rounding)
    solution = solve_problem(problem, time_limit=args.time_limit, seed=args.seed)
    out = {"cost": round(cost(solution, rounding), 6), "routes": routes(solution, problem)}
    if solution.unassigned:
        out["unassigned"] = [int(u.stop_id) for u in solution.unassigned]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
