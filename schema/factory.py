"""Builds the one Strawberry schema from the resolver mixins, with its protections."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from core.settings import Environment, Settings
from schema.errors import ErrorMapping
from schema.metrics import OperationMetrics
from schema.payloads import ExpectedErrors
from schema.ratelimit import OperationRateLimit
from schema.reads import OperationReads


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Expected errors are answers, not incidents; ErrorMapping logs the unexpected ones
        # with their trace, once.
        return None


def build_schema(
    *,
    query: type[Any],
    mutation: type[Any] | None,
    subscription: type[Any] | None,
    settings: Settings,
) -> Schema:
    # The depth and alias limits as rule classes made once: the validation cache is keyed by
    # the document and the rules, and QueryDepthLimiter or MaxAliasesLimiter built per request
    # would make new classes each time, so every request would validate anew.
    limits: list[type[ASTValidationRule]] = [
        depth_rule(settings.graphql_max_depth, None),
        aliases_rule(settings.graphql_max_aliases),
    ]
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        # Parsing and validating anew on every request cost about 3x in throughput here.
        partial(ParserCache, maxsize=512),
        partial(ValidationCache, maxsize=512),
        partial(AddValidationRules, limits),
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
        OperationMetrics,
        OperationRateLimit,
        OperationReads,
        ErrorMapping,
    ]
    if mutation is not None:
        # Innermost, so that permission checks outside it stay GraphQL errors.
        for field in mutation.__strawberry_definition__.fields:
            if not any(isinstance(e, ExpectedErrors) for e in field.extensions):
                field.extensions.append(ExpectedErrors())
    if settings.environment is Environment.PRODUCTION:
        extensions.append(DisableIntrospection)
    return Schema(query=query, mutation=mutation, subscription=subscription, extensions=extensions)
