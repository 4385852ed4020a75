"""Where webhooks may point: checked at registration and again before every attempt, on
the addresses the name resolves to at that moment (a name cannot smuggle in a private
address, and a later DNS change is caught at the next attempt).

Outside development and test: `https` only, and no loopback, private, link-local,
multicast, reserved or unspecified address (IPv4 or IPv6, mapped addresses included)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

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
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            parts.hostname, port or 443, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError:
        raise ValidationFailed.field(field, "the host name does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _forbidden(address):
            raise ValidationFailed.field(
                field, f"the host resolves to a non-public address ({address})"
            )
