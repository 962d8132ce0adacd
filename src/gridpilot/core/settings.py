"""The one configuration object, read from ``GRIDPILOT_*`` environment variables (and ``.env``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gridpilot.core.errors import ConfigurationError
from gridpilot.core.secrets import GENERATE_HINT, MIN_SECRET_CHARS, secret_weakness

Port = Annotated[int, Field(ge=1, le=65535)]


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

    # control: asset status and device commands (docs/control.md)
    status_stale_factor: float = Field(
        default=3.0, gt=0, description="Offline after this many expected intervals without data."
    )
    status_min_stale_s: float = Field(
        default=60.0,
        ge=0,
        description="Never offline (stale) sooner than this many seconds without data, however "
        "short the expected interval (a 1 s device on a busy machine would flap).",
    )
    status_default_interval_s: float = Field(
        default=300.0, gt=0, description="Expected seconds between readings when an asset has none."
    )
    status_check_interval_s: float = Field(
        default=5.0, gt=0, description="Seconds between staleness checks and last-seen saves."
    )
    command_ttl_s: int = Field(
        default=300, gt=0, le=7 * 86400, description="Default command time-to-live [s]."
    )
    command_max_ttl_s: int = Field(
        default=86400, gt=0, le=7 * 86400, description="Largest TTL a client may ask for [s]."
    )
    command_rate_limit_per_min: int = Field(
        default=10, ge=0, description="Commands per device per minute; 0 = unlimited."
    )
    command_check_interval_s: float = Field(
        default=1.0, gt=0, description="Seconds between command expiry sweeps and send polls."
    )

    # alerts: rule evaluation and notifications (docs/alerts.md)
    alerts_eval_interval_s: float = Field(
        default=10.0, gt=0, description="Seconds between scheduled checks (stale data, expiry)."
    )
    alerts_builtin_rules: bool = Field(
        default=True, description="Create the built-in offline and contract-demand rules."
    )
    alerts_queue_max: int = Field(
        default=10_000, gt=0, description="Events queued for the evaluator before it conflates."
    )
    alerts_flap_window_s: float = Field(
        default=3600.0, gt=0, description="Window for flapping detection [s]."
    )
    alerts_flap_max_raises: int = Field(
        default=5, gt=1, description="Raises of one rule+asset in the window that mean flapping."
    )
    notify_poll_interval_s: float = Field(
        default=2.0, gt=0, description="Seconds between scans of the notification outbox."
    )
    notify_retry_base_s: float = Field(
        default=10.0, gt=0, description="First retry delay; doubles per attempt [s]."
    )
    notify_retry_max_s: float = Field(default=3600.0, gt=0, description="Longest retry delay [s].")
    notify_max_attempts: int = Field(
        default=10, gt=0, description="Attempts before a notification is marked failed."
    )
    notify_timeout_s: float = Field(default=10.0, gt=0, description="Webhook/SMTP timeout [s].")
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs that resolve to loopback/private/link-local addresses.",
    )
    webhook_allowed_ports: Annotated[list[Port], NoDecode] = Field(
        default_factory=list,
        description="Ports public webhook hosts may use besides 80 and 443 ('8443,9000').",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for e-mail alerts.")
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_from: str = Field(default="gridpilot@localhost", description="Sender of alert e-mails.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP session with STARTTLS."
    )
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None

    # forecasting (docs/forecasting.md)
    forecast_interval_s: float = Field(
        default=900.0,
        ge=0,
        description="Seconds between scheduled forecasts of every site with data; 0 = no job.",
    )
    forecast_history_days: int = Field(
        default=56, ge=3, le=400, description="Days of history a forecast is fitted on."
    )
    forecast_fresh_s: int = Field(
        default=1200, gt=0, description="A stored forecast younger than this is served [s]."
    )
    forecast_keep_days: int = Field(
        default=7, gt=0, description="Stored forecasts older than this are deleted [days]."
    )
    forecast_weather_csv: Path | None = Field(
        default=None,
        description="CSV of weather (ts, temperature_c, irradiance_wm2, optional site_id) "
        "used as forecast regressors; unset: no weather.",
    )

    # baselines and anomalies (docs/baselines.md)
    baseline_refit_check_s: float = Field(
        default=3600.0,
        ge=0,
        description="Seconds between checks for baselines due for their weekly refit; 0 = no job.",
    )
    anomaly_scan_interval_s: float = Field(
        default=0.0,
        ge=0,
        description="Seconds between scheduled anomaly scans of every asset with a baseline or "
        "several metrics (over the last interval); 0 = no job.",
    )

    # demand response (docs/demand-response.md)
    dr_interval_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds between steps of the DR event loop (status transitions, metered "
        "consumption, utility notifications); 0 = no loop.",
    )
    # OpenADR 2.0b (docs/openadr.md)
    openadr_ven_interval_s: float = Field(
        default=10.0,
        ge=0,
        description="Seconds between lease renewals of the OpenADR VEN connections (a process "
        "runs the connections whose lease it holds); 0 = no VEN in this process.",
    )
    openadr_vtn_enabled: bool = Field(
        default=False, description="Run gridpilot's OpenADR VTN for the fleet's VENs."
    )
    openadr_vtn_host: str = Field(default="127.0.0.1", description="Address the VTN listens on.")
    openadr_vtn_port: int = Field(default=8081, ge=1, le=65535, description="The VTN's port.")
    openadr_vtn_id: str = Field(default="GRIDPILOT-VTN", min_length=1, description="VTN id.")
    openadr_vtn_poll_s: float = Field(
        default=10.0, gt=0, description="Poll interval the VTN asks its VENs for [s]."
    )
    openadr_vtn_cert: str | None = Field(
        default=None, description="PEM certificate the VTN signs messages with (and serves TLS)."
    )
    openadr_vtn_key: str | None = Field(default=None, description="PEM key of openadr_vtn_cert.")
    openadr_vtn_ca_file: str | None = Field(
        default=None,
        description="PEM CA bundle of the VENs' client certificates: with it (and the "
        "certificate and key) the VTN runs HTTPS with client certificates and checks "
        "signatures and fingerprints.",
    )
    # flexibility (docs/flexibility.md)
    flex_mpc_interval_s: float = Field(
        default=900.0,
        ge=0,
        description="Seconds between re-plans and dispatch of the sites whose flexible "
        "resources are auto-dispatched (MPC); 0 = no loop.",
    )
    # real-time peak shaving (docs/flexibility.md, "Real-time peak shaving")
    peak_shaving_enabled: bool = Field(
        default=True,
        description="Run the peak-shaving controller of the sites that have one in this "
        "process (false: never; another process sharing the database may still run them).",
    )
    peak_shaving_lease_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="Lease a process holds on a site's controller [s], renewed every third of "
        "it (settings changes are picked up then); another process takes over after it lapses.",
    )
    peak_shaving_min_interval_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="Least time between two commands of a site's controller [s], except to "
        "discharge more while the import is over the threshold.",
    )
    peak_shaving_hold_s: int = Field(
        default=120,
        ge=10,
        le=86_400,
        description="Duration of each charge/discharge command [s]; re-sent while still wanted "
        "when half of it is gone, so a stopped controller releases the battery within it.",
    )
    peak_shaving_max_age_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A meter reading older than this [s] is not acted on.",
    )

    # reports (docs/reports.md)
    reports_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="Seconds between checks for scheduled reports due (run, deliver, prune); "
        "0 = no scheduler.",
    )
    reports_retention_days: float = Field(
        default=90.0,
        gt=0,
        description="Days a report run and its files are kept.",
    )
    # scheduled commands (docs/fleet-operations.md)
    command_schedules_interval_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="Seconds between checks for scheduled commands due (how late a command may "
        "be queued after its time, at most); 0 = no scheduler in this process.",
    )

    # backups (docs/operations.md)
    backup_dir: Path | None = Field(
        default=None, description="Where backups go; default: data_dir/backups."
    )
    backup_interval_s: float = Field(
        default=86_400.0,
        ge=0,
        description="Seconds between scheduled backups by `serve` (one process of several "
        "runs each); 0 = no scheduled backups.",
    )
    backup_retention_days: int = Field(
        default=30, gt=0, description="Scheduled backups older than this are deleted [days]."
    )

    # web dashboard
    web_enabled: bool = Field(default=True, description="Serve the dashboard at / (NiceGUI).")
    web_secure_cookie: bool = Field(
        default=False,
        description="Mark the dashboard's session cookie Secure (sent over HTTPS only): set it "
        "whenever users reach gridpilot over TLS, e.g. behind a TLS-terminating proxy.",
    )
    web_map_tiles_url: str | None = Field(
        default=None,
        description="Leaflet tile URL template for the site map; unset: markers on a plain map.",
    )

    # live: WebSocket streams (docs/live.md)
    live_auth_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds a WebSocket client has to send its credentials."
    )
    live_key_recheck_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between re-checks of the API key of a WebSocket connection: "
        "a revoked key's connection is closed (4401) at the next check.",
    )
    live_max_queued_events: int = Field(
        default=1000,
        gt=0,
        description="Non-reading events queued per WebSocket client before the oldest is dropped.",
    )

    # MQTT ingest (gridpilot.ingest; see docs/mqtt.md)
    mqtt_client_id: str = Field(
        default="gridpilot-ingest",
        min_length=1,
        max_length=64,
        description="Fixed MQTT client id of the ingest worker (its persistent session); "
        "every worker process needs its own.",
    )
    mqtt_share_group: str = Field(
        default="gridpilot",
        max_length=64,
        description="Subscribe as $share/<group>/... so workers share the load; '' = not shared.",
    )
    mqtt_session_expiry_s: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="How long the broker keeps the worker's session (and queues its messages) "
        "while it is away.",
    )
    mqtt_receive_maximum: int = Field(
        default=2000,
        ge=1,
        le=65535,
        description="Unacknowledged QoS 1 messages the broker may send the worker at once.",
    )
    mqtt_ingest_in_serve: bool = Field(
        default=True,
        description="`gridpilot serve` runs the MQTT ingest worker in-process when mqtt_url is "
        "set; false when separate `gridpilot ingest` processes ingest.",
    )
    mqtt_batch_max_messages: int = Field(
        default=5000, gt=0, description="Messages gathered into one ingest batch."
    )
    mqtt_batch_linger_ms: float = Field(
        default=5.0, ge=0, description="How long a batch waits for more messages (ms)."
    )
    mqtt_reconnect_max_s: float = Field(
        default=30.0, gt=0, description="Longest pause between reconnection attempts."
    )

    # simulator (docs/simulator.md)
    sim_autostart: str | None = Field(
        default=None,
        description="Scenarios the API process simulates live from start-up: 'all' or a comma "
        "list of factory, building, portfolio, community (the demo sets it).",
    )
    sim_seed: int = Field(default=42, ge=0, description="Random seed of the autostarted simulator.")

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("webhook_allowed_ports", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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
