"""Secrets generated on first start and kept in the data directory (development mode)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from gridpilot.core.settings import Settings


def load_or_create_secret(path: Path, *, n_bytes: int = 48) -> str:
    """The secret stored at ``path``; created (mode 0600) from fresh randomness if absent."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(n_bytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def jwt_secret(settings: Settings) -> str:
    """The JWT signing key: the configured one, else one persisted in ``data_dir/jwt-secret``."""
    if settings.jwt_secret is not None and settings.jwt_secret.get_secret_value():
        return settings.jwt_secret.get_secret_value()
    return load_or_create_secret(settings.data_dir / "jwt-secret")


def with_secrets(settings: Settings) -> Settings:
    """A copy of ``settings`` whose ``jwt_secret`` is filled in (generated when missing)."""
    return settings.model_copy(update={"jwt_secret": SecretStr(jwt_secret(settings))})
