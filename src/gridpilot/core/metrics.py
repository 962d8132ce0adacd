"""Prometheus collectors of one app (own registry, so several apps can coexist in tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class Metrics:
    """Every collector gridpilot exports on ``/metrics``."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        r = self.registry
        self.http_request_duration_seconds = Histogram(
            "gridpilot_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.readings_ingested_total = Counter(
            "gridpilot_readings_ingested_total", "Readings stored", ["channel"], registry=r
        )
        self.readings_rejected_total = Counter(
            "gridpilot_readings_rejected_total", "Readings rejected", ["channel"], registry=r
        )
        self.readings_flagged_total = Counter(
            "gridpilot_readings_flagged_total",
            "Implausible readings stored with a warning (assets in plausibility mode 'flag')",
            ["channel", "code"],
            registry=r,
        )
        self.writer_queue_depth = Gauge(
            "gridpilot_writer_queue_depth", "Readings waiting in the batched writer", registry=r
        )
        self.writer_batch_seconds = Histogram(
            "gridpilot_writer_batch_seconds",
            "Time to write one batch to the database",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.writer_batch_rows = Histogram(
            "gridpilot_writer_batch_rows",
            "Readings per written batch",
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000, 50000),
            registry=r,
        )
        # live (WebSocket streams)
        self.live_clients = Gauge(
            "gridpilot_live_clients", "Connected WebSocket clients of /api/v1/live", registry=r
        )
        self.live_values_conflated_total = Counter(
            "gridpilot_live_values_conflated_total",
            "Unsent reading values replaced by newer ones for slow WebSocket clients",
            registry=r,
        )
        self.live_events_dropped_total = Counter(
            "gridpilot_live_events_dropped_total",
            "Events dropped from full WebSocket client queues",
            registry=r,
        )
