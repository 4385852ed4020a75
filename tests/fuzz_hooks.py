"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for the GraphQL run: an answer in `errors` with
a domain code (VALIDATION_ERROR, NOT_FOUND, ...) is the API refusing bad input as it
should; a 5xx or an error without a code or with INTERNAL_ERROR is a failure."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

EXPECTED = {
    "VALIDATION_ERROR",
    "NOT_FOUND",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "CONFLICT",
    "RATE_LIMITED",
    "OPTIMIZATION_FAILED",
    "QUANTUM_TIMEOUT",
}


@schemathesis.check
def graphql_errors_are_domain_errors(ctx: Any, response: Any, case: Any) -> bool:
    assert response.status_code < 500, f"server error {response.status_code}"
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in EXPECTED, f"unexpected GraphQL error {code}: {error.get('message')}"
    return True


# The JSON scalar (free-form overrides): literals of a few shapes, the service judges them.
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.text(max_size=20).map(nodes.String),
        st.integers(-10, 10).map(nodes.Int),
        st.just(nodes.Null),
    ),
)
