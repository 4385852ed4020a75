"""Prometheus metrics shared by the API and the workers."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_LATENCY = Histogram(
    "omniroute_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route", "status"],
)
GRAPHQL_LATENCY = Histogram(
    "omniroute_graphql_operation_duration_seconds",
    "GraphQL operation latency by operation.",
    ["operation_type", "operation_name"],
)
JOBS = Counter(
    "omniroute_jobs_total",
    "Background jobs by actor and final status.",
    ["actor", "status"],
)
