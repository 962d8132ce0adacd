"""Secrets at rest: AES-256-GCM under keys that live outside the database.

Every secret gridpilot must read back (webhook signing secrets of notification channels and
utilities, TOTP seeds) is stored as ``gpenc:v1:<key id>:<base64url(nonce | ciphertext | tag)>``:
a 96-bit random nonce per value (NIST SP 800-38D, 8.2.2), a 128-bit tag, and the associated data
``gridpilot-secret-v1`` so a value cannot be replayed into another format. The key id is the
first 8 hex digits of SHA-256 of the key: it names which key opens a value without revealing it.

Keys (32 random bytes, base64): ``GRIDPILOT_SECRETS_KEYS`` (comma-separated, the first one
encrypts, the others only decrypt), else the lines of ``GRIDPILOT_SECRETS_KEY_FILE``, else, in
development mode only, ``data_dir/secrets.key`` created on first use (mode 0600). Rotation: put a
new key first, keep the old one after it, run ``gridpilot secrets rotate`` (every value is
re-encrypted under the first key), then drop the old key. A value without the prefix is a
plaintext left by an older version: it is read as it is and encrypted by the next rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gridpilot.core.errors import ConfigurationError, GridpilotError

if TYPE_CHECKING:
    from gridpilot.core.settings import Settings

PREFIX = "gpenc:v1:"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
ASSOCIATED_DATA = b"gridpilot-secret-v1"
KEY_HINT = (
    "a key is 32 random bytes in base64: python3 -c 'import base64, os; "
    "print(base64.b64encode(os.urandom(32)).decode())'"
)


class SecretUnreadable(GridpilotError):
    """A stored secret that no configured key opens (a key was dropped too early)."""

    code = "secret_unreadable"


def key_id(key: bytes) -> str:
    """The public name of ``key``: 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


def parse_key(text: str, source: str) -> bytes:
    """32 bytes from their base64 text (standard or URL-safe); a clear error otherwise."""
    value = text.strip()
    try:
        key = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"{source}: not a 32-byte base64 key; {KEY_HINT}")
    return key


def new_key_text() -> str:
    """A fresh key as base64 text."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@dataclass
class Keyring:
    """The encrypting key first, then every key that may still open older values."""

    keys: list[bytes] = field(default_factory=list)

    @property
    def current_id(self) -> str:
        return key_id(self.keys[0])

    def encrypt(self, plaintext: str) -> str:
        """``plaintext`` sealed under the current key, as stored text."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, plaintext.encode(), ASSOCIATED_DATA)
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.current_id}:{body}"

    def decrypt(self, stored: str) -> str:
        """The plaintext of a stored value (a legacy plaintext is returned as it is)."""
        if not stored.startswith(PREFIX):
            return stored
        kid, _, body = stored[len(PREFIX) :].partition(":")
        for key in self.keys:
            if key_id(key) == kid:
                return _open(key, kid, body)
        raise SecretUnreadable(
            f"a stored secret is encrypted under key {kid}, which is not configured: add that "
            "key (after the current one) to GRIDPILOT_SECRETS_KEYS or the key file"
        )

    def state_of(self, stored: str) -> str:
        """``current``, ``old`` (another configured key), ``unknown`` or ``plaintext``."""
        if not stored.startswith(PREFIX):
            return "plaintext"
        kid = stored[len(PREFIX) :].partition(":")[0]
        if kid == self.current_id:
            return "current"
        return "old" if any(key_id(k) == kid for k in self.keys) else "unknown"


def _open(key: bytes, kid: str, body: str) -> str:
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], ASSOCIATED_DATA)
    except (InvalidTag, ValueError):
        raise SecretUnreadable(f"a stored secret under key {kid} fails its check") from None
    return plain.decode()


def key_file(settings: Settings) -> Path | None:
    """The key file in use: the configured one, else ``data_dir/secrets.key`` in development."""
    if settings.secrets_key_file is not None:
        return settings.secrets_key_file
    return None if settings.mode == "production" else settings.data_dir / "secrets.key"


def load_keyring(settings: Settings) -> Keyring:
    """The keys of ``settings`` (see the module docstring); development creates its key file."""
    if settings.secrets_keys is not None and settings.secrets_keys.get_secret_value().strip():
        texts = settings.secrets_keys.get_secret_value().split(",")
        return Keyring([parse_key(t, "GRIDPILOT_SECRETS_KEYS") for t in texts if t.strip()])
    path = key_file(settings)
    if path is None:
        raise ConfigurationError(
            "production mode needs GRIDPILOT_SECRETS_KEYS or GRIDPILOT_SECRETS_KEY_FILE to "
            f"encrypt stored secrets; {KEY_HINT}"
        )
    if not path.exists() and settings.secrets_key_file is None:
        write_key_file(path, [new_key_text()])
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise ConfigurationError(f"secrets key file {path}: {exc.strerror}") from None
    if not lines:
        raise ConfigurationError(f"secrets key file {path} holds no key; {KEY_HINT}")
    return Keyring([parse_key(line, f"secrets key file {path}") for line in lines])


def write_key_file(path: Path, key_texts: list[str]) -> None:
    """Write ``key_texts`` (the encrypting key first) to ``path``, owner-only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(key_texts) + "\n")
    tmp.replace(path)


_ACTIVE = Keyring()
_PENDING: list[Settings] = []


def _source(settings: Settings) -> tuple[str | None, Path | None]:
    """Where ``settings`` take their keys from: the variable's value or the key file."""
    variable = settings.secrets_keys.get_secret_value() if settings.secrets_keys else None
    return variable, None if variable and variable.strip() else key_file(settings)


def use(settings: Settings) -> None:
    """Take the keys of ``settings`` at the first secret read or written (so an engine that
    never touches a secret creates no key file); they become the encrypting keys. A source
    already waiting is read once (a test process makes hundreds of engines from one file)."""
    source = _source(settings)
    _PENDING[:] = [s for s in _PENDING if _source(s) != source]
    _PENDING.append(settings)


def install(keyring: Keyring) -> None:
    """Make ``keyring``'s first key the encrypting one; keys installed before stay readable
    (several apps with their own data directories in one test process share one table)."""
    merged = list(keyring.keys) + [k for k in _ACTIVE.keys if k not in keyring.keys]
    _ACTIVE.keys[:] = merged


def active() -> Keyring:
    """The process's keyring (``db.engine.make_engine`` hands it the settings' keys)."""
    while _PENDING:
        install(load_keyring(_PENDING.pop(0)))
    if not _ACTIVE.keys:
        raise ConfigurationError("no secrets key is loaded: the engine was not made from settings")
    return _ACTIVE
