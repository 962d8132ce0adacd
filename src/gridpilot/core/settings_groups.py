"""The settings of the domains and surfaces, in groups that ``core/settings.py::Settings``
inherits (one environment, one object: ``GRIDPILOT_<FIELD>`` as before). Split out so the settings
module stays readable; a new domain adds its fields to the group it belongs to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

Port = Annotated[int, Field(ge=1, le=65535)]


class ControlAlertSettings(BaseModel):
    """Asset status, device commands, alert evaluation, notifications (control.md, alerts.md)."""

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

    @field_validator("webhook_allowed_ports", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class AnalyticsSettings(BaseModel):
    """Forecasts, baselines and anomaly scans (docs/forecasting.md, docs/baselines.md)."""

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
    forecast_weather_url: str | None = Field(
        default=None,
        description="An Open-Meteo style weather-forecast API (e.g. "
        "https://api.open-meteo.com/v1/forecast) asked for hourly temperature and irradiance "
        "at each located site, retried with exponential backoff (3 attempts); the CSV wins "
        "when both are set; unset: no provider.",
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


class DomainSettings(BaseModel):
    """DR, OpenADR, flexibility and peak shaving, reports, scheduled commands, backups."""

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


class SurfaceSettings(BaseModel):
    """The dashboard, live streams, MQTT ingest and the simulator."""

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
