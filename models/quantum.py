"""Quantum context: one row per circuit run, linked to its optimization job."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.columns import created_at, pg_enum, timestamp, uuid_pk, workspace_fk
from models.enums import JobStatus


class QuantumJob(SQLModel, table=True):
    __tablename__ = "quantum_jobs"
    __table_args__ = (
        sa.Index("idx_quantum_jobs_opt", "optimization_job_id"),
        sa.Index("idx_quantum_jobs_status", "status"),
        sa.Index("idx_quantum_jobs_workspace", "workspace_id"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    optimization_job_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("optimization_jobs.id", ondelete="CASCADE"), nullable=False
        )
    )
    backend: str = Field(
        default="aer_simulator",
        sa_column=sa.Column(sa.Text, nullable=False, server_default="aer_simulator"),
    )
    qubits_used: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    circuit_depth: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    qaoa_layers: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    classical_optimizer: str = Field(
        default="COBYLA", sa_column=sa.Column(sa.Text, nullable=False, server_default="COBYLA")
    )
    result_energy: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    result_bitstring: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status: JobStatus = Field(
        default=JobStatus.PENDING,
        sa_column=pg_enum(JobStatus, "job_status", nullable=False, server_default="pending"),
    )
    ibm_job_id: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    raw_result: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB))
    execution_time_ms: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    completed_at: datetime | None = Field(default=None, sa_column=timestamp())
