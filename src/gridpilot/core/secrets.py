"""Secrets generated on first start and kept in the data directory (development mode), and the
strength test production mode applies to a configured JWT secret."""

from __future__ import annotations

import math
import os
import re
import secrets
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

if TYPE_CHECKING:  # settings imports this module for ``secret_weakness``
    from gridpilot.core.settings import Settings

MIN_SECRET_CHARS = 32
#: Floor of ``estimated_bits`` (which underestimates short random strings: a 32-character hex
#: secret, 128 random bits, is estimated at about 90 to 115).
MIN_ESTIMATED_BITS = 80
MIN_DISTINCT_CHARS = 8
#: Words that mark a placeholder or a hand-made secret (compared without case and separators).
PLACEHOLDER_WORDS = (
    "changeme", "secret", "password", "passwd", "placeholder", "example", "default", "dummy",
    "insecure", "gridpilot", "qwerty", "letmein",
)  # fmt: skip
GENERATE_HINT = (
    "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
    " (or: openssl rand -base64 48)"
)


def estimated_bits(secret: str) -> float:
    """Entropy estimate: length x the Shannon entropy of the secret's own character counts."""
    counts = Counter(secret)
    total = len(secret)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return total * per_char


def _period(secret: str) -> int:
    """The length of the shortest pattern that ``secret`` repeats (its length if none), from
    the longest proper prefix that is also a suffix (the KMP failure function)."""
    border = [0] * len(secret)
    for i in range(1, len(secret)):
        k = border[i - 1]
        while k and secret[i] != secret[k]:
            k = border[k - 1]
        border[i] = k + (secret[i] == secret[k])
    period = len(secret) - border[-1]
    return period if period <= len(secret) // 2 else len(secret)


def _neighbour_share(secret: str) -> float:
    """Share of adjacent pairs that are equal or neighbours (``aabbcc``, ``abcdef``, ``12345``)."""
    pairs = list(pairwise(secret))
    return sum(abs(ord(a) - ord(b)) <= 1 for a, b in pairs) / max(1, len(pairs))


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is unfit to sign tokens in production, or None when it looks random."""
    if len(secret) < MIN_SECRET_CHARS:
        return f"it has {len(secret)} characters, at least {MIN_SECRET_CHARS} are needed"
    folded = re.sub(r"[^a-z0-9]", "", secret.lower())
    for word in PLACEHOLDER_WORDS:
        if word in folded:
            return f"it contains the placeholder word {word!r}"
    period = _period(secret)
    if period < len(secret):
        return f"it repeats the same {period}-character pattern"
    bits, distinct = estimated_bits(secret), len(set(secret))
    if bits < MIN_ESTIMATED_BITS or distinct < MIN_DISTINCT_CHARS:
        return f"it looks low in entropy: about {bits:.0f} bits from {distinct} distinct characters"
    if _neighbour_share(secret) >= 0.8:
        return "it is mostly runs of equal or consecutive characters"
    return None


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
