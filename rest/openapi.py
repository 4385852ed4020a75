"""The OpenAPI 3.1 document of `/api/v1`, built from the catalogue of its routes: the pydantic
models the routes parse with, the role matrix, the envelope and the spec's error codes."""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from core.errors import HTTP_STATUS, ErrorCode
from models.permissions import ROLE_MATRIX, Operation
from rest.catalogue import CATALOGUE, Doc

REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
# Path parameters that are not UUIDs.
_TEXT_PARAMS = {"mode"}


class _InputSchema(GenerateJsonSchema):
    """Inputs as the models read them: a datetime is ISO 8601 or Unix seconds."""

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        iso = super().datetime_schema(schema)
        return {"anyOf": [iso, {"type": "number", "description": "Unix seconds"}]}


_ENVELOPE_META = {
    "type": "object",
    "required": ["request_id", "timestamp"],
    "properties": {
        "request_id": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        # page/per_page/total, or limit/has_next/next_cursor for cursor-paged lists
        "pagination": {"type": "object"},
    },
}
_ERROR_ENVELOPE = {
    "type": "object",
    "required": ["success", "error", "meta"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        },
        "meta": {"$ref": "#/components/schemas/Meta"},
    },
}
_ERROR_TEXT = {
    ErrorCode.VALIDATION_ERROR: "Invalid input: `details.fields` names each field",
    ErrorCode.UNAUTHORIZED: "No valid bearer token",
    ErrorCode.FORBIDDEN: "The caller's role may not do this",
    ErrorCode.NOT_FOUND: "No such object in the caller's workspace",
    ErrorCode.CONFLICT: "The object's state or a unique value forbids it",
    ErrorCode.RATE_LIMITED: "Over the rate limit: retry after `Retry-After` seconds",
}


def _success(doc: Doc) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "array"} if doc.listing or doc.paginated else {}
    meta: dict[str, Any] = {"$ref": "#/components/schemas/Meta"}
    if doc.paginated:
        meta = {"allOf": [meta, {"required": ["pagination"]}]}
    return {
        "type": "object",
        "required": ["success", "data", "meta"],
        "properties": {"success": {"const": True}, "data": data, "meta": meta},
    }


def _error(code: ErrorCode) -> dict[str, Any]:
    return {
        "description": f"{code.value}: {_ERROR_TEXT.get(code, code.value)}",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF, schema_generator=_InputSchema)
    parameters = []
    for attribute, field in model.model_fields.items():
        # A parameter that is a Python keyword (`from`) is a field with an alias.
        name = field.alias or attribute
        prop = dict(schema["properties"][name])
        # Query values arrive as text: nested shapes (a bbox) are documented as their text form.
        shapes = [prop, *prop.get("anyOf", [])]
        if any("$ref" in s or s.get("type") == "object" for s in shapes):
            prop = {"type": "string", "description": field.description or ""}

        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": field.is_required(),
                "schema": prop,
                **({"description": field.description} if field.description else {}),
            }
        )
    return parameters


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"}
            if name in _TEXT_PARAMS
            else {"type": "string", "format": "uuid"},
        }
        for name in _PATH_PARAM.findall(path)
    ]


def _roles(operation: Operation) -> list[str]:
    return sorted(str(role) for role in ROLE_MATRIX[operation])


def _operation(method: str, path: str, doc: Doc) -> dict[str, Any]:
    parameters = _path_parameters(path)
    if doc.query is not None:
        parameters += _query_parameters(doc.query)
    if doc.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A retry with the same key and body within 24 hours gets the "
                "first answer; the same key with another body is a 422.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    op: dict[str, Any] = {
        "operationId": f"{method.lower()}{path}",
        "summary": doc.summary,
        "tags": [path.strip("/").split("/")[0] or "api"],
        "parameters": parameters,
    }
    errors = [ErrorCode.RATE_LIMITED]
    if doc.operation is not None:
        roles = _roles(doc.operation)
        op["security"] = [{"bearer": []}]
        op["x-operation"] = doc.operation.value
        op["x-roles"] = roles
        op["description"] = f"Roles: {', '.join(roles)}."
        errors += [ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN]
    else:
        op["security"] = []
    if parameters or doc.body is not None or doc.raw_body:
        errors.append(ErrorCode.VALIDATION_ERROR)
    if _PATH_PARAM.search(path):
        errors.append(ErrorCode.NOT_FOUND)
    errors += list(doc.errors)
    if doc.body is not None:
        op["requestBody"] = {
            "required": not doc.optional_body,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=doc.body.__name__)}}
            },
        }
    elif doc.raw_body:
        op["requestBody"] = {"required": True, "content": dict(doc.raw_body)}
    if doc.media_type == "text/html":
        success: dict[str, Any] = {"type": "string"}
    else:
        success = _success(doc) if doc.enveloped else {"type": "object"}
    responses: dict[str, Any] = {
        str(doc.status): {
            "description": doc.summary,
            "content": {doc.media_type: {"schema": success}},
        }
    }
    for status in doc.also:
        responses[str(status)] = responses[str(doc.status)]
    for code in dict.fromkeys(errors):
        responses[str(HTTP_STATUS[code])] = _error(code)
    # What no route promises but any may answer: a lost backing service, a bug.
    responses["default"] = {
        "description": "Any other failure, in the error envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    op["responses"] = responses
    return op


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document: built once per process, from the catalogue."""
    bodies = {doc.body for doc in CATALOGUE.values() if doc.body is not None}
    inputs = [(m, "validation") for m in sorted(bodies, key=lambda m: m.__name__)]
    _, definitions = models_json_schema(
        inputs,  # type: ignore[arg-type]
        ref_template=REF,
        schema_generator=_InputSchema,
    )
    components = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), doc in CATALOGUE.items():
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, doc)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OmniRoute REST API",
            "version": "v1",
            "description": "The `/api/v1` shim over the same services as GraphQL. Every answer "
            "is the envelope `{success, data | error, meta}`; errors carry one of the codes "
            "of `Error.error.code`. Send `Authorization: Bearer <access token>` from "
            "`POST /auth/login`; `x-roles` on each operation lists the roles allowed.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": {**components, "Meta": _ENVELOPE_META, "Error": _ERROR_ENVELOPE},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
