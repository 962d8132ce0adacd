"""The MQTT broker endpoint named by ``GRIDPILOT_MQTT_URL`` (``mqtt://user:pass@host:1883``).

Parsing only: connections are made by the domains that need them (ingest, control, sim).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from gridpilot.core.errors import ConfigurationError

DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


@dataclass(frozen=True)
class MqttEndpoint:
    """Where the broker is and how to log in (``tls`` for ``mqtts://``)."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> MqttEndpoint:
        """``mqtt://[user[:password]@]host[:port]``; ``mqtts://`` turns TLS on (port 8883)."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ConfigurationError(
                f"GRIDPILOT_MQTT_URL must start with mqtt:// or mqtts://, not {url!r}"
            )
        if not parts.hostname:
            raise ConfigurationError(f"GRIDPILOT_MQTT_URL names no host: {url!r}")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise ConfigurationError(f"GRIDPILOT_MQTT_URL has a bad port: {url!r}") from exc
        return cls(
            hostname=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=scheme in {"mqtts", "ssl"},
        )

    def __repr__(self) -> str:  # never show the password
        user = f"{self.username}@" if self.username else ""
        return f"MqttEndpoint({user}{self.hostname}:{self.port}, tls={self.tls})"
