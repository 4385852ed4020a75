"""Where webhooks may point: checked at registration and again before every attempt, on
the addresses the name resolves to at that moment (a name cannot smuggle in a private
address, and a later DNS change is caught at the next attempt). The connection itself is
made to an address checked as it connects (`pinned_transport`): a name that answers a
public address to the check and a private one a moment later (DNS rebinding) reaches
nothing private.

Outside development and test: `https` only, and no loopback, private, link-local,
multicast, reserved or unspecified address (IPv4 or IPv6, mapped addresses included)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from core.errors import ValidationFailed

FIELD = "url"


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


async def check_target(url: str, *, allow_private: bool, field: str = FIELD) -> None:
    """Raise VALIDATION_ERROR naming `field` if `url` may not receive webhooks."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed.field(field, f"not a URL: {exc}") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise ValidationFailed.field(field, f"the scheme must be {' or '.join(schemes)}")
    if not parts.hostname:
        raise ValidationFailed.field(field, "the URL has no host")
    if parts.username or parts.password:
        raise ValidationFailed.field(field, "credentials in the URL are not allowed")
    if allow_private:
        return
    try:
        await public_address(parts.hostname, port or 443)
    except LookupError as exc:
        raise ValidationFailed.field(field, str(exc)) from None


async def public_address(host: str, port: int) -> str:
    """An address `host` resolves to now, if every address it resolves to is public;
    LookupError saying why not otherwise."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError:
        raise LookupError("the host name does not resolve") from None
    addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]
    for address in addresses:
        if _forbidden(ipaddress.ip_address(address)):
            raise LookupError(f"the host resolves to a non-public address ({address})")
    return addresses[0]


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to public addresses, resolved and checked as it connects;
    TLS still verifies the certificate against the URL's host name."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await public_address(host, port)
        except LookupError as exc:
            raise httpcore.ConnectError(f"refused target: {exc}") from None
        return await self._inner.connect_tcp(
            address, port, timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport(*, allow_private: bool) -> httpx.AsyncHTTPTransport:
    """httpx's transport, connecting through _PinnedBackend unless private targets are
    allowed (development and test)."""
    transport = httpx.AsyncHTTPTransport()
    if not allow_private:
        # httpx takes no network backend of its own: its pool, as it builds it, with ours.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(),
        )
    return transport
