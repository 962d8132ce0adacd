"""Tables of the openadr domain (migration: ``db/migrations/versions/0018_openadr.py``).

VEN side (gridpilot polls a utility's VTN):

- ``openadr_vens``: one configured VTN connection (URL, VEN name/id, certificate paths, the VTN's
  fingerprint, the sites it serves, the opt policy) and its registration;
- ``openadr_received``: each OpenADR event received on a connection (idempotent on event id +
  modification number), with the gridpilot DR events it made and the opt answered.

VTN side (gridpilot runs a VTN for its own fleet):

- ``openadr_peers``: the VENs allowed to register (name, certificate fingerprint, sites);
- ``openadr_vtn_events``: events for a group of sites; ``openadr_vtn_deliveries``: one per
  peer serving those sites, with its opt answer and the usage it reported.

``openadr_leases``: which process runs a VEN connection or the VTN (compare-and-set leases).
Times are epoch milliseconds (UTC).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped


class OpenAdrVen(Timestamped, Base):
    """A VTN gridpilot registers with as a VEN, and the sites it answers for."""

    __tablename__ = "openadr_vens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    vtn_url: Mapped[str] = mapped_column(String(500))
    ven_name: Mapped[str] = mapped_column(String(200))
    #: Configured, or assigned by the VTN at registration.
    ven_id: Mapped[str | None] = mapped_column(String(200))
    registration_id: Mapped[str | None] = mapped_column(String(200))
    cert_path: Mapped[str | None] = mapped_column(String(1000))
    key_path: Mapped[str | None] = mapped_column(String(1000))
    ca_file: Mapped[str | None] = mapped_column(String(1000))
    vtn_fingerprint: Mapped[str | None] = mapped_column(String(100))
    check_hostname: Mapped[bool] = mapped_column(Boolean, default=True)
    #: always_in | always_out | flexibility
    opt_policy: Mapped[str] = mapped_column(String(20))
    #: Target reduction [% of baseline] per SIMPLE level, and for a price signal.
    level_pct: Mapped[float] = mapped_column(Float)
    price_pct: Mapped[float] = mapped_column(Float)
    baseline_method: Mapped[str] = mapped_column(String(40))
    report_interval_s: Mapped[int] = mapped_column(Integer)
    site_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Changed on every update: a running connection restarts with the new configuration.
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    last_poll_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(2000))


class OpenAdrReceived(Base):
    """An OpenADR event received on a connection: the latest modification seen."""

    __tablename__ = "openadr_received"
    __table_args__ = (UniqueConstraint("ven_config_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ven_config_id: Mapped[int] = mapped_column(ForeignKey("openadr_vens.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(200))
    modification_number: Mapped[int] = mapped_column(Integer)
    #: far | near | active | completed | cancelled (the VTN's word)
    event_status: Mapped[str] = mapped_column(String(20))
    signal_name: Mapped[str] = mapped_column(String(50))
    signal_type: Mapped[str] = mapped_column(String(50))
    #: ``[{"start_ms", "duration_ms", "value"}]`` of the first signal.
    intervals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    #: optIn | optOut: answered to the VTN (and sent again by oadrCreateOpt when it changes).
    opt_type: Mapped[str] = mapped_column(String(10))
    #: site id (as a string) -> gridpilot DR event id
    dr_event_ids: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: site id (as a string) -> why no DR event was made for it
    errors: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    received_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class OpenAdrPeer(Timestamped, Base):
    """A VEN of the fleet allowed to register with gridpilot's VTN."""

    __tablename__ = "openadr_peers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ven_name: Mapped[str] = mapped_column(String(200), unique=True)
    ven_id: Mapped[str] = mapped_column(String(200), unique=True)
    #: OpenADR fingerprint of its client certificate (last 10 bytes of the SHA-256); None: TLS off.
    fingerprint: Mapped[str | None] = mapped_column(String(100))
    site_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    registration_id: Mapped[str | None] = mapped_column(String(200))
    registered_ms: Mapped[int | None] = mapped_column(BigInteger)


class OpenAdrVtnEvent(Base):
    """An event gridpilot's VTN sends to the VENs serving ``site_ids``.

    ``status``: pending (not yet queued in the VTN) -> queued, or cancel_requested ->
    cancelled."""

    __tablename__ = "openadr_vtn_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    site_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    signal_name: Mapped[str] = mapped_column(String(50))
    signal_type: Mapped[str] = mapped_column(String(50))
    signal_value: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class OpenAdrVtnDelivery(Base):
    """One VEN's copy of a VTN event: delivered, its opt answer, its usage reports."""

    __tablename__ = "openadr_vtn_deliveries"
    __table_args__ = (UniqueConstraint("vtn_event_id", "peer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vtn_event_id: Mapped[int] = mapped_column(
        ForeignKey("openadr_vtn_events.id", ondelete="CASCADE")
    )
    peer_id: Mapped[int] = mapped_column(
        ForeignKey("openadr_peers.id", ondelete="CASCADE"), index=True
    )
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger)
    opt_type: Mapped[str | None] = mapped_column(String(10))
    opt_ms: Mapped[int | None] = mapped_column(BigInteger)
    #: ``[{"resource_id", "ts_ms", "value_kw"}]`` reported between the event's start - 1 h and
    #: its end + 1 h (at most ``MAX_REPORTS`` kept).
    reports: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class OpenAdrLease(Base):
    """Who runs ``name`` (``ven:<id>`` or ``vtn``) until ``until_ms``."""

    __tablename__ = "openadr_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    until_ms: Mapped[int] = mapped_column(BigInteger)
