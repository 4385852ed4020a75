"""QAOA calibration through ``solvers.quantum``: size, layers, quality and device cost.

    nice -n 10 .venv/bin/python bench/qaoa.py                  # everything (several minutes)
    nice -n 10 .venv/bin/python bench/qaoa.py --only tsp --only seeds --seeds 10
    nice -n 10 .venv/bin/python bench/qaoa.py --only partition --sizes 8 12 16

Sections: ``tsp`` (n = 3, 4, 5 nodes including the depot, p = 1-3), ``partition`` (k stops,
default layers), ``seeds`` (5-node TSP over several seeds: is the optimal tour among the
samples?). Instances are random points in a 10 x 10 square, seeded. Each row also shows the
depth of the circuit transpiled for a fake IBM device (``--device``), without running it there.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from solvers.quantum import (
    AerStatevectorBackend,
    QaoaParams,
    complete,
    partition_qubo,
    prepare,
    solve,
    submit,
    tsp_qubo,
)
from solvers.quantum.backends import fake_backend, transpile_report
from solvers.quantum.encoding import QuboProblem


def points(n: int, seed: int) -> np.ndarray:
    """Distance matrix of ``n`` seeded random points."""
    xy = np.random.default_rng(seed).random((n, 2)) * 10
    return np.asarray(np.linalg.norm(xy[:, None] - xy[None], axis=-1))


def device_cost(circuit: Any, device: Any) -> dict[str, Any]:
    """Depth, two-qubit gates and fidelity of a measured circuit transpiled for ``device``."""
    from qiskit.transpiler import generate_preset_pass_manager

    if circuit.num_qubits > device.num_qubits:
        return {"depth": None, "two_qubit_gates": None, "estimated_fidelity": None}
    manager = generate_preset_pass_manager(optimization_level=1, backend=device, seed_transpiler=0)
    return transpile_report(manager.run(circuit), device.target, device.name).as_dict()


def row(label: str, problem: QuboProblem, params: QaoaParams, device: Any) -> dict[str, Any]:
    """Solve once and collect the figures of one table row."""
    started = time.perf_counter()
    backend = AerStatevectorBackend()
    run = prepare(problem, params)
    result = complete(run, backend, submit(run, backend))
    wall = time.perf_counter() - started
    raw = result.raw_result
    return {
        "case": label,
        "qubits": result.qubits_used,
        "p": result.qaoa_layers,
        "wall_s": wall,
        "evals": raw["optimizer"]["evaluations"],
        "p_feasible": raw["p_feasible"],
        "p_optimal": raw["p_optimal"],
        "uniform_p_opt": raw["uniform_random"]["p_optimal"],
        "ratio": raw["approximation_ratio"],
        "gap": raw["gap"],
        "raw_gap": (
            None
            if raw["best_sampled_cost"] is None
            else abs(raw["best_sampled_cost"] - raw["exact_optimum"]["cost"])
            / abs(raw["exact_optimum"]["cost"])
        ),
        "device": device_cost(run.optimized.measured_circuit(), device),
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    """Markdown table."""
    head = (
        "| case | qubits | p | wall s | evals | P(feasible) | P(optimal) | uniform P(opt) "
        "| approx. ratio | gap (repaired) | gap (as sampled) | device depth | 2q gates "
        "| est. fid. |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        d = r["device"]
        raw_gap = "-" if r["raw_gap"] is None else f"{r['raw_gap']:.3f}"
        fid = "-" if d["estimated_fidelity"] is None else f"{d['estimated_fidelity']:.2g}"
        print(
            f"| {r['case']} | {r['qubits']} | {r['p']} | {r['wall_s']:.1f} | {r['evals']} "
            f"| {r['p_feasible']:.4f} | {r['p_optimal']:.4f} | {r['uniform_p_opt']:.5f} "
            f"| {r['ratio']:.3f} | {r['gap']:.3f} | {raw_gap} | {d['depth'] or '-'} "
            f"| {d['two_qubit_gates'] or '-'} | {fid} |",
            flush=True,
        )


def main() -> None:
    """Run the selected sections and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=["tsp", "partition", "seeds"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the 5-node TSP trial")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 16, 20])
    parser.add_argument("--tsp-nodes", type=int, nargs="+", default=[3, 4, 5])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--device", default="FakeKolkataV2", help="fake IBM device")
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()
    sections = args.only or ["tsp", "partition", "seeds"]
    device = fake_backend(args.device)

    if "tsp" in sections:
        print(f"\n## TSP, depot fixed, (n-1)^2 qubits; device {device.name}\n")
        rows = []
        for n in args.tsp_nodes:
            for p in args.layers:
                tsp: QuboProblem = tsp_qubo(points(n, seed=n))
                params = QaoaParams(reps=p, seed=1, time_limit_s=args.time_limit)
                rows.append(row(f"tsp n={n}", tsp, params, device))
        print_rows(rows)

    if "partition" in sections:
        print(f"\n## Two-vehicle partition, k qubits, default layers; device {device.name}\n")
        rows = []
        for k in args.sizes:
            demands = np.random.default_rng(k).integers(1, 6, size=k)
            capacity = float(np.ceil(demands.sum() * 0.55))
            problem: QuboProblem = partition_qubo(points(k, seed=k), demands, (capacity, capacity))
            rows.append(
                row(
                    f"partition k={k}",
                    problem,
                    QaoaParams(seed=1, time_limit_s=args.time_limit),
                    device,
                )
            )
        print_rows(rows)

    if "seeds" in sections:
        print("\n## 5-node TSP (16 qubits, default p=2): optimal tour among the samples?\n")
        found, times = 0, []
        for seed in range(args.seeds):
            problem = tsp_qubo(points(5, seed=100 + seed))
            started = time.perf_counter()
            result = solve(problem, QaoaParams(seed=seed, time_limit_s=args.time_limit))
            times.append(time.perf_counter() - started)
            hit = result.raw_result["p_optimal"] > 0
            found += hit
            raw = result.raw_result
            print(
                f"seed {seed}: optimal sampled={hit} P(optimal)={raw['p_optimal']:.4f} "
                f"P(feasible)={raw['p_feasible']:.4f} {times[-1]:.1f} s",
                flush=True,
            )
        print(
            f"\noptimal tour among the samples in {found} of {args.seeds} seeds; "
            f"wall time median {np.median(times):.1f} s, max {max(times):.1f} s"
        )


if __name__ == "__main__":
    main()
