"""The one configuration object, read from ``GRIDPILOT_*`` environment variables (and ``.env``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridpilot.core.errors import ConfigurationError
from gridpilot.core.secrets import GENERATE_HINT, MIN_SECRET_CHARS, secret_weakness
from gridpilot.core.settings_groups import (
    AnalyticsSettings,
    ControlAlertSettings,
    DomainSettings,
    SurfaceSettings,
)


class Settings(
    BaseSettings, ControlAlertSettings, AnalyticsSettings, DomainSettings, SurfaceSettings
):
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

    mqtt_tls_ca: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed an mqtts:// broker's certificate (a private "
        "CA); unset: the system's CAs.",
    )
    mqtt_tls_cert: Path | None = Field(
        default=None,
        description="PEM client certificate gridpilot presents to an mqtts:// broker that "
        "requires one (require_certificate true).",
    )
    mqtt_tls_key: Path | None = Field(
        default=None, description="PEM private key of mqtt_tls_cert (unless that file holds it)."
    )

    host: str = "127.0.0.1"
    port: int = 8000
    tls_cert: Path | None = Field(
        default=None,
        description="PEM certificate chain: `serve` speaks HTTPS only (TLS 1.3), sends HSTS and "
        "marks the dashboard cookie Secure. Needs tls_key.",
    )
    tls_key: Path | None = Field(default=None, description="PEM private key of tls_cert.")
    tls_allow_tls12: bool = Field(
        default=False,
        description="Also accept TLS 1.2 (ECDHE with AES-256-GCM or ChaCha20-Poly1305 only) for "
        "clients without TLS 1.3; default TLS 1.3 only.",
    )
    auto_migrate: bool | None = Field(
        default=None, description="Migrate on `serve`; default: only for SQLite."
    )

    # auth
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 key; generated into data_dir when unset (development)."
    )
    secrets_keys: SecretStr | None = Field(
        default=None,
        description="Keys encrypting stored secrets (AES-256-GCM): base64 of 32 bytes, "
        "comma-separated, the first encrypts, the others only decrypt (rotation).",
    )
    secrets_key_file: Path | None = Field(
        default=None,
        description="A file of such keys, one per line (first encrypts); default in "
        "development: data_dir/secrets.key, created on first use. Production needs one of both.",
    )
    jwt_issuer: str = "gridpilot"
    jwt_audience: str = "gridpilot-api"
    access_token_ttl_s: int = Field(default=3600, gt=0)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    auth_recheck_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a process trusts a user's or key's rights without re-reading them: "
        "a disabled, demoted or deleted user's access tokens stop working within this time.",
    )
    auth_rate_limit_per_min: int = Field(
        default=100, gt=0, description="Requests per minute per client on /auth."
    )
    api_rate_limit_per_min: int = Field(
        default=100,
        ge=0,
        description="Requests per minute per client address on the API (and dashboard pages), "
        "shared across processes through Redis when redis_url is set; 0 = unlimited.",
    )
    login_rate_limit_per_min: int = Field(
        default=20,
        gt=0,
        description="Password checks per minute per client (token endpoint, dashboard log-in, "
        "PATCH /users/me).",
    )
    login_max_failures: int = Field(
        default=5, gt=0, description="Wrong passwords in a row that lock an account."
    )
    login_lockout_s: int = Field(
        default=900, gt=0, description="How long a locked account refuses every password [s]."
    )
    audit_retention_days: int = Field(
        default=365, gt=0, description="Days the security audit trail keeps its events."
    )
    self_registration: bool = Field(
        default=False,
        description="Let anyone create an account with POST /api/v1/auth/register: a viewer "
        "with no site until an administrator grants some (docs/security.md).",
    )
    mfa_required_roles: str = Field(
        default="",
        description="Comma-separated roles that must log in with a second factor (TOTP), e.g. "
        "'administrator,operator'; such a user without one gets only an enrolment token.",
    )

    @property
    def mfa_roles(self) -> frozenset[str]:
        """``mfa_required_roles`` as a set of role names."""
        return frozenset(r.strip() for r in self.mfa_required_roles.split(",") if r.strip())

    password_reset_ttl_s: int = Field(
        default=1800, gt=0, description="How long an e-mailed password-reset token is valid [s]."
    )
    password_reset_url: str = Field(
        default="",
        description="Link put in password-reset e-mails, the token appended (e.g. "
        "'https://ems.example.com/reset?token='); empty: the token alone.",
    )
    password_hash_concurrency: int = Field(
        default=2,
        gt=0,
        description="argon2 password checks computed at once per process (worker threads); "
        "8 more per slot may wait, further ones get 429.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For/-Proto `serve` believes; empty: none (the peer is the client).",
    )

    gc_tuning: bool = Field(
        default=True,
        description="After start-up, freeze the heap for the garbage collector and collect the "
        "young generation less often (faster ingest); off for processes that build many apps.",
    )
    warm_up_routes: bool = Field(
        default=True,
        description="At start-up, prepare every API route for its first request (FastAPI does "
        "it on a router's first request: the first voice question of a process waited 0.9-1.8 "
        "s); off for processes that build many apps.",
    )

    # telemetry
    max_batch_readings: int = Field(default=50_000, gt=0)
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        gt=0,
        description="Body cap [bytes] of the bulk ingest routes (POST /telemetry, POST "
        "/sources/{id}/production); 413 above.",
    )
    max_request_body_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Body cap [bytes] of every other route; 413 above."
    )
    max_request_json_values: int = Field(
        default=10_000,
        gt=0,
        description="JSON values (commas plus opening brackets) a JSON body of any other route "
        "may hold; 413 above.",
    )
    max_future_s: int = Field(
        default=300, ge=0, description="How far in the future a reading's timestamp may be."
    )
    plausibility_factor: float | None = Field(
        default=1.5,
        ge=0,
        le=1000,
        description="A power reading above rated_capacity_kw x this factor is implausible "
        "(rejected, or flagged per asset); 0 or unset (None) turns the capacity check off.",
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
    balance_refresh_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="The current balance kept in memory is re-read from the database when "
        "older than this [s] (it follows readings.stored in between).",
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

    @field_validator("plausibility_factor", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part and part != "*":
                ipaddress.ip_network(part, strict=False)  # ValueError: not an address/network
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigurationError(
                "GRIDPILOT_TLS_CERT and GRIDPILOT_TLS_KEY go together: set both or neither"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_real_secret(self) -> Settings:
        if self.mode == "production":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            reason = secret_weakness(secret) if secret.strip() else "it is not set"
            if reason:
                raise ConfigurationError(
                    f"GRIDPILOT_JWT_SECRET is unfit for production mode ({reason}): it must be a "
                    f"random value of at least {MIN_SECRET_CHARS} characters; {GENERATE_HINT}"
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
    def tls(self) -> bool:
        """``serve`` terminates TLS itself (``tls_cert`` and ``tls_key`` set)."""
        return self.tls_cert is not None

    @property
    def secure_cookie(self) -> bool:
        """The dashboard's session cookie is ``Secure``: asked for, or ``serve`` speaks HTTPS."""
        return self.web_secure_cookie or self.tls

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate
