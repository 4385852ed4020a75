"""Statistics of a sampled QAOA distribution against the exact optimum and uniform sampling."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from solvers.quantum.encoding import Decoded, ExactOptimum, QuboProblem, Sense
from solvers.quantum.qubo import FloatArray, index_chunks, index_to_bitstring


def relative_gap(cost: float, optimum: float, sense: Sense) -> float:
    """How much worse ``cost`` is than ``optimum``, relative to it (0 = optimal)."""
    worse = cost - optimum if sense == "min" else optimum - cost
    return float(max(0.0, worse) / abs(optimum)) if optimum != 0 else float(max(0.0, worse))


def approximation_ratio(cost: float, optimum: float, sense: Sense) -> float:
    """Ratio in ``(0, 1]`` of optimum to cost (min) or cost to optimum (max); 1 = optimal."""
    if cost == optimum:
        return 1.0
    if sense == "min":
        return float(optimum / cost) if cost > 0 else 0.0
    return float(cost / optimum) if optimum > 0 else 0.0


def counts_to_indices(counts: Mapping[str, int]) -> dict[int, int]:
    """Convert Qiskit count keys (qubit 0 rightmost, maybe spaced or hex) to basis indices."""
    out: dict[int, int] = {}
    for key, count in counts.items():
        k = key.replace(" ", "")
        index = int(k, 16) if k.startswith("0x") else int(k, 2)
        out[index] = out.get(index, 0) + int(count)
    return out


@dataclass(frozen=True)
class SampleStatistics:
    """What a sampled distribution found; costs are in problem units."""

    shots: int
    best: Decoded
    best_index: int
    p_feasible: float
    p_optimal: float
    best_sampled_cost: float | None
    """Best cost among samples that were feasible as sampled (no repair)."""
    gap: float
    approximation_ratio: float
    top_states: list[dict[str, Any]]
    uniform: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "shots": self.shots,
            "p_feasible": self.p_feasible,
            "p_optimal": self.p_optimal,
            "best_sampled_cost": self.best_sampled_cost,
            "best_repaired_cost": self.best.cost,
            "best_solution": list(self.best.solution),
            "gap": self.gap,
            "approximation_ratio": self.approximation_ratio,
            "top_states": self.top_states,
            "uniform_random": self.uniform,
        }


def _best(decoded: Mapping[int, Decoded], sense: Sense) -> tuple[int, Decoded]:
    sign = 1.0 if sense == "min" else -1.0
    # Prefer the best cost, then a sample that needed no repair, then the lowest index.
    return min(
        decoded.items(), key=lambda item: (sign * item[1].cost, not item[1].feasible, item[0])
    )


def uniform_baseline(
    problem: QuboProblem, exact: ExactOptimum, *, shots: int, seed: int
) -> dict[str, Any]:
    """What ``shots`` uniformly random bitstrings achieve: exact odds plus one seeded draw."""
    n = problem.qubo.num_variables
    states = 1 << n
    feasible = sum(int(problem.feasible(chunk).sum()) for chunk in index_chunks(n))
    p_opt = exact.optimal_indices.size / states
    rng = np.random.default_rng(seed)
    draw = sorted({int(i) for i in rng.integers(0, states, size=shots)})
    _, best = _best({i: problem.decode(i) for i in draw}, problem.sense)
    return {
        "p_feasible": feasible / states,
        "p_optimal": p_opt,
        "p_optimal_at_least_once": float(1 - (1 - p_opt) ** shots),
        "seeded_draw_best_cost": best.cost,
        "seeded_draw_gap": relative_gap(best.cost, exact.cost, problem.sense),
        "seeded_draw_found_optimum": bool(np.isin(draw, exact.optimal_indices).any()),
    }


def sample_statistics(
    problem: QuboProblem,
    counts: Mapping[int, int],
    exact: ExactOptimum,
    energies: FloatArray,
    *,
    seed: int,
    top_k: int = 10,
) -> SampleStatistics:
    """Summarise samples (basis index -> count): feasibility, optimality, best, baselines."""
    shots = int(sum(counts.values()))
    if shots == 0:
        raise ValueError("no samples")
    indices = np.fromiter(counts.keys(), dtype=np.int64)
    weights = np.fromiter(counts.values(), dtype=np.float64)
    ok = problem.feasible(indices)
    optimal = np.isin(indices, exact.optimal_indices)
    decoded = {int(i): problem.decode(int(i)) for i in indices}
    best_index, best = _best(decoded, problem.sense)
    feasible_costs = [decoded[int(i)].cost for i in indices[ok]]
    best_raw: float | None = None
    if feasible_costs:
        best_raw = min(feasible_costs) if problem.sense == "min" else max(feasible_costs)
    n = problem.qubo.num_variables
    order = np.argsort(-weights, kind="stable")[:top_k]
    top = []
    for pos in order:
        index = int(indices[pos])
        state = decoded[index]
        top.append(
            {
                "bitstring": index_to_bitstring(index, n),
                "count": int(weights[pos]),
                "energy": float(energies[index]),
                "feasible": bool(ok[pos]),
                "cost": state.cost,
                "solution": list(state.solution),
            }
        )
    return SampleStatistics(
        shots=shots,
        best=best,
        best_index=best_index,
        p_feasible=float(weights[ok].sum() / shots),
        p_optimal=float(weights[optimal].sum() / shots),
        best_sampled_cost=best_raw,
        gap=relative_gap(best.cost, exact.cost, problem.sense),
        approximation_ratio=approximation_ratio(best.cost, exact.cost, problem.sense),
        top_states=top,
        uniform=uniform_baseline(problem, exact, shots=shots, seed=seed),
    )
