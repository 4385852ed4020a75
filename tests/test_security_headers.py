"""Every response carries the browser-facing security headers; HSTS only on what came over
TLS, whether uvicorn terminated it or a trusted proxy did."""

from __future__ import annotations

import datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import register
from tests.served_app import served_app

ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
}


def assert_protected(response: httpx.Response, *, hsts: bool) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (name, response.request.url)
    if hsts:
        assert response.headers["strict-transport-security"] == "max-age=31536000"
    else:
        assert "strict-transport-security" not in response.headers


async def test_every_kind_of_response_carries_the_headers_and_plain_http_no_hsts(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    responses = [
        await client.get("/health"),
        await client.get("/api/v1/vehicles", headers=admin.headers),
        await client.get("/api/v1/no-such-thing"),
        await client.post("/api/v1/vehicles", json={}, headers=admin.headers),
        await client.get("/api/v1/vehicles"),
        await client.post("/graphql", json={"query": "{ __typename }"}),
        await client.get("/metrics"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 422, 401, 200, 200]
    for response in responses:
        assert_protected(response, hsts=False)


@pytest.mark.parametrize(
    ("trusted", "hsts"),
    [("127.0.0.1", True), ("192.0.2.1", False)],
    ids=["trusted proxy", "untrusted peer"],
)
async def test_https_through_a_trusted_proxy_gets_hsts_and_a_spoofed_header_does_not(
    database: DatabaseUnderTest, trusted: str, hsts: bool
) -> None:
    env = {"FORWARDED_ALLOW_IPS": trusted}
    async with served_app(database.owner_url, TEST_REDIS_URL, env=env) as server:
        proxied = await server.http.get("/health", headers={"X-Forwarded-Proto": "https"})
        plain = await server.http.get("/health")
    assert_protected(proxied, hsts=hsts)
    assert_protected(plain, hsts=False)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_uvicorn_serving_tls_itself_sends_hsts(
    database: DatabaseUnderTest, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    env = {"TLS_CERTFILE": str(cert), "TLS_KEYFILE": str(key)}
    async with served_app(database.owner_url, TEST_REDIS_URL, env=env, scheme="https") as server:
        response = await server.http.get("/api/v1/")
    assert response.status_code == 200
    assert_protected(response, hsts=True)
