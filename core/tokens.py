"""Access tokens (JWT via PyJWT) and opaque secrets (refresh and invitation tokens).

Access tokens are verified with the algorithm pinned from the settings, and `iss`, `aud`,
`exp`, `nbf`, `iat`, `sub`, `jti` and `typ` are all required: a token signed with another
algorithm (`none`, or HS256 keyed with the RS256 public key) never verifies.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import RSAAlgorithm

from core.errors import Unauthorized
from core.settings import Settings

ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "typ"]
LEEWAY_S = 5
CLOCK_MARGIN_S = 60
# Verified tokens remembered per process: a phone presents the same token with every
# position for its whole lifetime, and checking the signature again each time is a large
# part of a small request. Keyed by the whole token, signature included.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    workspace_id: uuid.UUID
    organization_id: uuid.UUID | None
    role: str
    jti: str
    expires_at: int
    not_before: int
    # The refresh family the token was issued in (claim `sid`): ending the session refuses
    # every access token it issued. None for tokens issued before the claim existed.
    session_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    jti: str
    expires_in: int


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._algorithm = settings.jwt_algorithm
        self._verified: dict[str, AccessClaims] = {}

    @cached_property
    def _signing_key(self) -> Any:
        if self._algorithm.startswith("RS"):
            return Path(self._settings.jwt_private_key_file or "").read_text()
        return self._settings.jwt_secret.get_secret_value()

    @cached_property
    def _verifying_key(self) -> Any:
        if self._algorithm.startswith("RS"):
            return Path(self._settings.jwt_public_key_file or "").read_text()
        return self._settings.jwt_secret.get_secret_value()

    @cached_property
    def key_id(self) -> str:
        material = str(self._verifying_key).encode()
        return hashlib.sha256(material).hexdigest()[:16]

    def issue_access(
        self,
        *,
        user_id: uuid.UUID,
        workspace_id: uuid.UUID,
        organization_id: uuid.UUID | None,
        role: str,
        session_id: uuid.UUID,
    ) -> IssuedAccessToken:
        now = int(time.time())
        ttl = self._settings.access_token_ttl_s
        jti = uuid.uuid4().hex
        claims = {
            "sub": str(user_id),
            "wid": str(workspace_id),
            "oid": str(organization_id) if organization_id else None,
            "role": role,
            "sid": str(session_id),
            "jti": jti,
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "typ": ACCESS_TYPE,
        }
        token = jwt.encode(
            claims, self._signing_key, algorithm=self._algorithm, headers={"kid": self.key_id}
        )
        return IssuedAccessToken(token=token, jti=jti, expires_in=ttl)

    @property
    def longest_life_s(self) -> int:
        """How long an access token issued now can still be accepted, with a margin for
        hosts whose clocks run behind Redis's."""
        return self._settings.access_token_ttl_s + LEEWAY_S + CLOCK_MARGIN_S

    def verify_access(self, token: str) -> AccessClaims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = claims
        # The signature and the fixed claims are settled; the time window moves.
        now = time.time()
        if now > claims.expires_at + LEEWAY_S:
            self._verified.pop(token, None)
            raise Unauthorized("Access token expired")
        if now < claims.not_before - LEEWAY_S:
            raise Unauthorized("Invalid access token")
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self._algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": REQUIRED_CLAIMS},
                leeway=LEEWAY_S,
            )
            if claims["typ"] != ACCESS_TYPE:
                raise Unauthorized("Not an access token")
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                workspace_id=uuid.UUID(claims["wid"]),
                organization_id=uuid.UUID(claims["oid"]) if claims.get("oid") else None,
                role=str(claims["role"]),
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                not_before=int(claims["nbf"]),
                session_id=uuid.UUID(claims["sid"]) if claims.get("sid") else None,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Access token expired") from None
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
            raise Unauthorized("Invalid access token") from None

    def jwks(self) -> dict[str, Any]:
        """The public key set for RS256 deployments (empty for HS256: nothing is public)."""
        if not self._algorithm.startswith("RS"):
            return {"keys": []}
        public_key = load_pem_public_key(str(self._verifying_key).encode())
        if not isinstance(public_key, RSAPublicKey):
            raise ValueError("JWT_PUBLIC_KEY_FILE must hold an RSA public key")
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
        jwk.update({"kid": self.key_id, "use": "sig", "alg": self._algorithm})
        return {"keys": [jwk]}


def new_opaque_token(prefix: str, scope: uuid.UUID) -> str:
    """`<prefix>_<scope hex>_<256 random bits>`: the scope (a workspace id) tells the server
    where to look the token up; only the hash of the whole string is stored."""
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"{prefix}_{scope.hex}_{secret}"


def parse_opaque_token(prefix: str, token: str) -> uuid.UUID:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix or len(parts[2]) < 40:
        raise Unauthorized("Invalid token")
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        raise Unauthorized("Invalid token") from None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
