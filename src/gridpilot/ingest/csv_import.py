"""Streaming import of a large CSV of readings through the ingest validation and writer.

File format: a header naming ``asset,metric,ts,value[,unit]`` (``--asset``/``--metric``
defaults allow two-column ``ts,value`` files). The file is read in chunks of rows; each chunk
is validated in file order and handed to the batched writer, with a few chunks in flight so
parsing overlaps writing.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from gridpilot.auth.permissions import Principal
from gridpilot.telemetry.decoding import csv_readings
from gridpilot.telemetry.tasks import TelemetryRuntime

#: Chunks validated but not yet stored, at most (bounds memory; the writer groups them).
IN_FLIGHT = 4

ProgressCallback = Callable[[int], None]
RejectCallback = Callable[[int, dict[str, Any], str], None]


@dataclass
class ImportReport:
    """Outcome of one import: data rows read, readings stored and rows rejected."""

    rows: int = 0
    stored: int = 0
    rejected: int = 0


class _CountingReader(io.RawIOBase):
    """A binary stream that reports how many bytes were read so far."""

    def __init__(self, stream: BinaryIO, on_bytes: ProgressCallback | None) -> None:
        self.stream = stream
        self.on_bytes = on_bytes
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        if self.on_bytes is not None:
            self.on_bytes(self.count)
        return size


def _chunks(readings: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for reading in readings:
        chunk.append(reading)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def import_csv_stream(
    stream: BinaryIO,
    *,
    runtime: TelemetryRuntime,
    principal: Principal,
    chunk_size: int = 5_000,
    asset: str | None = None,
    metric: str | None = None,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ImportReport:
    """Import every reading of the CSV ``stream``; rejects go to ``on_reject(row, reading, why)``.

    ``row`` is the 1-based data row (header and blank lines not counted). Raises
    ``ValidationFailed`` for a file without the required header, ``Unavailable`` when the
    database cannot store the readings.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(_CountingReader(stream, on_progress), buffer_size=1 << 20),
        encoding="utf-8-sig",
        newline="",
    )
    report = ImportReport()
    pending: set[asyncio.Task[None]] = set()
    metrics = runtime.metrics
    try:
        for chunk in _chunks(csv_readings(text, asset=asset, metric=metric), chunk_size):
            start = report.rows
            report.rows += len(chunk)
            rows, accepted, rejected = await runtime.validate(chunk, principal, index_offset=start)
            for rejection in rejected:
                if on_reject is not None:
                    on_reject(rejection.index + 1, chunk[rejection.index - start], rejection.reason)
            report.rejected += len(rejected)
            if rejected:
                metrics.readings_rejected_total.labels("import").inc(len(rejected))
            if not rows:
                continue
            while len(pending) >= IN_FLIGHT:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    pending.discard(task)
                    task.result()  # re-raise a storage failure
            pending.add(asyncio.create_task(runtime.writer.write(rows)))
            report.stored += accepted
            metrics.readings_ingested_total.labels("import").inc(accepted)
        if pending:
            await asyncio.gather(*pending)
    finally:
        for task in pending:
            task.cancel()
        text.detach()
    return report
