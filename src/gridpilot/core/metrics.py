"""Prometheus collectors of one app (own registry, so several apps can coexist in tests).

Besides gridpilot's own series, the registry carries prometheus-client's standard process
(``process_cpu_seconds_total``, ``process_resident_memory_bytes``, ``process_open_fds``,
``process_max_fds``), platform and Python GC collectors, and the disk of the data directory, so
the alert rules in ``deploy/prometheus/alerts.yml`` can watch resources without node_exporter.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class Metrics:
    """Every collector gridpilot exports on ``/metrics``."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )
    #: Whose disk ``gridpilot_data_dir_disk_*`` reports (None: not reported).
    data_dir: Path | None = None

    def __post_init__(self) -> None:
        r = self.registry
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(standard)  # the process-wide collectors, read at each scrape
        if self.data_dir is not None:
            r.register(DiskCollector(self.data_dir))
        r.register(MemoryLimitCollector())
        self._add_requests(r)
        self._add_ingest(r)
        self._add_live(r)

    def _add_requests(self, r: CollectorRegistry) -> None:
        """Database statement and HTTP request times [s]."""
        self.db_query_seconds = Histogram(
            "gridpilot_db_query_seconds",
            "Database statement time by kind (select, insert, update, delete, other)",
            ["statement"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.http_request_duration_seconds = Histogram(
            "gridpilot_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )

    def _add_ingest(self, r: CollectorRegistry) -> None:
        """Readings stored, rejected and flagged per channel; the batched writer."""
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

    def _add_live(self, r: CollectorRegistry) -> None:
        """The WebSocket streams of ``/api/v1/live``."""
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


class DiskCollector(Collector):
    """Size and use of the file system holding ``path`` (the data directory), at each scrape."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            usage = shutil.disk_usage(self.path)
        except OSError:
            return
        yield GaugeMetricFamily(
            "gridpilot_data_dir_disk_bytes", "Size of the data directory's file system [B]",
            value=usage.total,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "gridpilot_data_dir_disk_used_ratio",
            "Share of the data directory's file system in use (0..1)",
            value=(usage.total - usage.free) / usage.total if usage.total else 0.0,
        )


def memory_limit_bytes() -> int:
    """The memory this process may use [B]: the cgroup v2 limit if one is set, else the RAM."""
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            return int(text)
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class MemoryLimitCollector(Collector):
    """``gridpilot_memory_limit_bytes``: the denominator of the memory alert (no node_exporter)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "gridpilot_memory_limit_bytes",
            "Memory available to this process [B] (cgroup limit, else physical RAM)",
            value=memory_limit_bytes(),
        )
