"""The OpenAPI document of `/api/v1`: complete, generated from the models the routes parse
with, and served with its reference page."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from core.errors import ErrorCode
from models.routing_inputs import RouteCreate
from rest.catalogue import CATALOGUE
from tests.helpers import register

REGION = "us-east"


def mounted_api_routes(app: Starlette) -> set[tuple[str, str]]:
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1")
    found = set()
    for route in mount.routes:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


async def test_every_route_is_documented_and_every_documented_route_exists(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    served = mounted_api_routes(app)
    assert served - set(CATALOGUE) == set(), "routes missing from rest/catalogue.py"
    assert set(CATALOGUE) - served == set(), "documented routes the app does not serve"
    document = (await client.get("/api/v1/openapi.json")).json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == served


async def test_the_document_carries_models_envelope_errors_security_and_roles(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    schemas = document["components"]["schemas"]
    # The body schema is the route's own pydantic model, field for field.
    assert set(schemas["RouteCreate"]["properties"]) == set(RouteCreate.model_fields)
    error_codes = schemas["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert set(error_codes) == {c.value for c in ErrorCode}

    create = document["paths"]["/routes"]["post"]
    assert create["security"] == [{"bearer": []}]
    assert create["x-roles"] == ["admin", "operator"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RouteCreate"
    }
    success = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert success["required"] == ["success", "data", "meta"]
    assert {"401", "403", "422", "429"} <= set(create["responses"])

    listing = document["paths"]["/vehicles"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"page", "per_page", "status", "vehicle_type", "bbox"} <= names
    assert document["paths"]["/auth/login"]["post"]["security"] == []
    optimize = document["paths"]["/routes/{route_id}/optimize"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in optimize["parameters"]}


async def test_what_the_document_promises_the_api_answers(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    document = (await client.get("/api/v1/openapi.json")).json()
    required = set(document["components"]["schemas"]["VehicleCreate"]["required"])
    response = await client.post("/api/v1/vehicles", json={}, headers=admin.headers)
    assert response.status_code == 422
    named = {f["field"] for f in response.json()["error"]["details"]["fields"]}
    assert required <= named


async def test_the_reference_page_loads_only_its_own_scripts(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers.get_list("content-security-policy")
    assert len(policy) == 1
    assert "script-src 'self'" in policy[0] and "frame-ancestors 'none'" in policy[0]
    assert "<script>" not in response.text and "http" not in response.text.split("<body>")[0]
    if "swagger-ui-bundle.js" in response.text:
        bundle = await client.get("/console/assets/docs/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and len(bundle.content) > 100_000


async def test_what_the_fuzzer_found_is_refused_in_the_envelope(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    h = admin.headers
    huge = await client.post(
        "/api/v1/workspaces",
        json={"name": "Big", "region": REGION, "settings": {"n": 2**70}},
        headers=h,
    )
    assert huge.status_code == 422, huge.text
    assert huge.json()["error"]["details"]["fields"][0]["field"].startswith("settings")
    far = await client.get(f"/api/v1/drivers?page={10**30}", headers=h)
    assert far.status_code == 422 and far.json()["error"]["code"] == "VALIDATION_ERROR"
    boolean = await client.post(
        "/api/v1/locations",
        json={"name": "X", "geo": {"type": "Point", "coordinates": [0, False]}},
        headers=h,
    )
    assert boolean.status_code == 422
    other_method = await client.request("OPTIONS", "/api/v1/vehicles", headers=h)
    assert other_method.status_code == 405
    assert other_method.headers["allow"] == "GET, HEAD, POST"


async def test_the_console_page_has_a_strict_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/console")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert "<script>" not in response.text
    config = (await client.get("/console/config.json")).json()
    assert config == {"map_style_url": None}
