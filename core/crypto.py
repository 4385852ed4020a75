"""Personal data encrypted in the application before it reaches PostgreSQL (spec 20).

Each value is AES-256-GCM under a key named by an id, stored as `enc:1:<key id>:<base64 of
nonce + ciphertext + tag>`, with the column's name as associated data (a value copied into
another column does not decrypt). Every configured key decrypts; the active one encrypts,
so keys rotate without downtime: add a key and make it active, then re-encrypt
(`scripts/pii_keys.py rotate`) and finally drop the old key. Equality look-ups use a keyed
HMAC-SHA-256 of the normalised value stored beside the ciphertext (`blind_index`), under a
key of its own that does not rotate with the encryption keys.

Keys come from PII_KEYS (`id:base64key,...`) or PII_KEYS_FILE (one `id:base64key` a line:
a mounted Kubernetes Secret or a file a Vault agent renders), and PII_INDEX_KEY; development
and test fall back to fixed keys, any other environment refuses to start without them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:1:"
DEV_KEYS = "dev:" + base64.b64encode(hashlib.sha256(b"omniroute-dev-pii-key").digest()).decode()
DEV_INDEX_KEY = base64.b64encode(hashlib.sha256(b"omniroute-dev-pii-index").digest()).decode()


class PiiKeyError(ValueError):
    """A key set that cannot be used (malformed, wrong length, unknown id)."""


def parse_keys(text: str) -> dict[str, bytes]:
    """`id:base64key` entries separated by commas or new lines, in order; each key 32 bytes."""
    keys: dict[str, bytes] = {}
    for entry in text.replace("\n", ",").split(","):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id.isidentifier():
            raise PiiKeyError(f"a PII key must read id:base64key, got {key_id!r}")
        key = base64.b64decode(encoded, validate=True)
        if len(key) != 32:
            raise PiiKeyError(f"PII key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
        keys[key_id] = key
    return keys


@dataclass(frozen=True)
class FieldCipher:
    keys: dict[str, bytes]
    active: str
    index_key: bytes
    _aeads: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise PiiKeyError(f"the active PII key {self.active!r} is not among the keys")
        # One AEAD per key, made once: making it costs half as much again as a decryption,
        # and a list of drivers decrypts a few fields a row.
        object.__setattr__(self, "_aeads", {kid: AESGCM(key) for kid, key in self.keys.items()})

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aeads[self.active].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}{self.active}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str) -> str:
        """The plaintext of a stored value; a value written before encryption is returned
        as it is (until `rotate` has encrypted it)."""
        if not stored.startswith(PREFIX):
            return stored
        key_id, _, encoded = stored[len(PREFIX) :].partition(":")
        aead = self._aeads.get(key_id)
        if aead is None:
            raise PiiKeyError(f"no PII key {key_id!r} is configured to decrypt this value")
        raw = base64.b64decode(encoded)
        return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def key_id_of(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(PREFIX):
            return None
        return stored[len(PREFIX) :].partition(":")[0]

    def blind_index(self, value: str, *, context: str) -> str:
        normalised = " ".join(value.split()).casefold()
        message = f"{context}\0{normalised}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()


def cipher_from(
    keys: str | None, keys_file: str | None, active: str | None, index_key: str | None
) -> FieldCipher | None:
    """The cipher the settings describe, or None when they name no keys at all."""
    text = keys or ""
    if keys_file:
        text += "\n" + Path(keys_file).read_text()
    if not text.strip():
        return None
    parsed = parse_keys(text)
    if not parsed:
        return None
    if not index_key:
        raise PiiKeyError("PII_INDEX_KEY is required with PII keys")
    index = base64.b64decode(index_key, validate=True)
    if len(index) < 32:
        raise PiiKeyError("PII_INDEX_KEY must be at least 32 bytes")
    return FieldCipher(parsed, active or list(parsed)[-1], index)


_cipher: FieldCipher | None = None
_lock = threading.Lock()


def field_cipher() -> FieldCipher:
    """The process's cipher, from the settings (development keys in development and test)."""
    global _cipher
    if _cipher is None:
        with _lock:
            if _cipher is None:
                from core.settings import get_settings

                _cipher = get_settings().pii_cipher()
    return _cipher


class EncryptedText(sa.types.TypeDecorator[str]):
    """A text column stored encrypted; `context` (table.column) is the associated data."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else field_cipher().encrypt(value, context=self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else field_cipher().decrypt(value, context=self.context)


class EncryptedJSON(sa.types.TypeDecorator[Any]):
    """A JSON value stored encrypted as text."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return field_cipher().encrypt(orjson.dumps(value).decode(), context=self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        return orjson.loads(field_cipher().decrypt(value, context=self.context))
