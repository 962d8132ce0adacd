"""The one configuration object, read from ``GRIDPILOT_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridpilot.core.errors import ConfigurationError

#: Placeholder secrets that production mode refuses.
INSECURE_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev"})


class Settings(BaseSettings):
    """All of gridpilot's settings. Build it at the edge (``Settings()``), never at import time."""

    model_config = SettingsConfigDict(env_prefix="GRIDPILOT_", env_file=".env", extra="ignore")

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Field(
        default=Path("./gridpilot-data"),
        description="Where the embedded DB and generated secrets live.",
    )
    database_url: str | None = Field(
        default=None, description="sqlite:///FILE or postgresql://...; default: SQLite in data_dir."
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: event bus across processes (else in-process).",
    )
    redis_channel_prefix: str = Field(
        default="gridpilot", description="Prefix of the Redis pub/sub channels of the event bus."
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://[user:pass@]host:1883 of the broker (MQTT ingest, commands).",
    )
    mqtt_topic_prefix: str = Field(
        default="",
        description="Prepended to every MQTT topic gridpilot uses (e.g. 'plant7/').",
    )

    host: str = "127.0.0.1"
    port: int = 8000
    auto_migrate: bool | None = Field(
        default=None, description="Migrate on `serve`; default: only for SQLite."
    )

    # auth
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 key; generated into data_dir when unset (development)."
    )
    jwt_issuer: str = "gridpilot"
    jwt_audience: str = "gridpilot-api"
    access_token_ttl_s: int = Field(default=3600, gt=0)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    auth_rate_limit_per_min: int = Field(
        default=100, gt=0, description="Requests per minute per client on /auth."
    )
    api_rate_limit_per_min: int = Field(
        default=0, ge=0, description="Requests per minute per client elsewhere; 0 = unlimited."
    )

    # telemetry
    max_batch_readings: int = Field(default=50_000, gt=0)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_future_s: int = Field(
        default=300, ge=0, description="How far in the future a reading's timestamp may be."
    )
    max_series_points: int = Field(default=10_000, gt=0)
    writer_batch_size: int = Field(default=5_000, gt=0)
    writer_flush_interval_s: float = Field(default=0.2, gt=0)
    writer_max_queue: int = Field(
        default=200_000, gt=0, description="Readings queued before producers wait."
    )
    energy_max_gap_s: int = Field(
        default=900, gt=0, description="Power is not integrated across larger gaps."
    )
    rollup_interval_s: float = Field(default=5.0, gt=0)

    # retention in days; None keeps forever
    retention_raw_days: int | None = Field(default=30, gt=0)
    retention_1m_days: int | None = Field(default=30, gt=0)
    retention_15m_days: int | None = Field(default=365, gt=0)
    retention_1h_days: int | None = Field(default=5 * 365, gt=0)
    retention_1d_days: int | None = Field(default=None, gt=0)
    retention_interval_s: float = Field(default=3600.0, gt=0)

    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _production_needs_real_secret(self) -> Settings:
        if self.mode == "production":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if secret.strip().lower() in INSECURE_SECRETS or len(secret) < 32:
                raise ConfigurationError(
                    "GRIDPILOT_JWT_SECRET must be set to a random value of at least 32 characters "
                    "in production mode"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL with an async driver: ``sqlite+aiosqlite`` or ``postgresql+asyncpg``."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'gridpilot.db').as_posix()}"
        for prefix, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate
