"""Validated input shapes of the quantum operations."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from core.validation import Body


class QuantumBackendName(StrEnum):
    AER = "aer_simulator"
    AER_GPU = "aer_simulator_gpu"
    AER_NOISE = "aer_noise"
    IBM = "ibm"
    IBM_LOCAL = "ibm_local"
    """Qiskit Runtime's local testing mode on a fake device (no account, no network)."""


class QuantumMode(StrEnum):
    QUANTUM = "quantum"
    HYBRID = "hybrid"


QaoaOptimizer = Literal["COBYLA", "NELDER_MEAD", "POWELL"]


class QuantumOptimizeRequest(Body):
    """A route (`route_id`), or stops with a depot, to optimize with QAOA."""

    route_id: UUID | None = None
    location_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=200)
    depot_location_id: UUID | None = None
    mode: QuantumMode = QuantumMode.QUANTUM
    allow_hybrid: bool = Field(
        default=False, description="run the hybrid mode when a quantum request is over the cap"
    )
    qaoa_layers: int | None = Field(default=None, ge=1, le=6)
    shots: int = Field(default=4096, ge=16, le=100_000)
    optimizer: QaoaOptimizer = "COBYLA"
    max_iterations: int = Field(default=100, ge=1, le=2000)
    backend: QuantumBackendName = QuantumBackendName.AER
    device: str | None = Field(
        default=None, max_length=100, description="IBM or fake device name (aer_noise, ibm)"
    )
    timeout_s: float = Field(default=120.0, gt=0, le=1800, allow_inf_nan=False)
    allow_fallback: bool = True
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.route_id is None) == (self.location_ids is None):
            raise ValueError("give either route_id or location_ids")
        if self.location_ids is not None:
            if self.depot_location_id is None:
                raise ValueError("location_ids need a depot_location_id")
            if len(set(self.location_ids)) != len(self.location_ids):
                raise ValueError("location ids must be distinct")
        return self


class SimulateObjective(StrEnum):
    MAXCUT = "maxcut"
    TSP = "tsp"


class GraphEdge(Body):
    source: int = Field(ge=0)
    target: int = Field(ge=0)
    weight: float = Field(default=1.0, ge=0, le=1e9, allow_inf_nan=False)


class QuantumSimulateRequest(Body):
    """A small weighted graph: `maxcut` splits it in two zones, `tsp` finds a patrol loop
    from node `start` (a complete graph: missing edges are an error for `tsp`)."""

    objective: SimulateObjective
    num_nodes: int = Field(ge=2, le=16)
    edges: list[GraphEdge] = Field(min_length=1, max_length=200)
    start: int = Field(default=0, ge=0)
    qaoa_layers: int | None = Field(default=None, ge=1, le=6)
    shots: int = Field(default=4096, ge=16, le=100_000)
    optimizer: QaoaOptimizer = "COBYLA"
    max_iterations: int = Field(default=100, ge=1, le=2000)
    timeout_s: float = Field(default=15.0, gt=0, le=60, allow_inf_nan=False)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _nodes(self) -> Self:
        for edge in self.edges:
            if edge.source >= self.num_nodes or edge.target >= self.num_nodes:
                raise ValueError(f"edges name nodes 0 to {self.num_nodes - 1}")
            if edge.source == edge.target:
                raise ValueError("an edge joins two different nodes")
        if self.start >= self.num_nodes:
            raise ValueError("start must be one of the nodes")
        return self
