"""Decoding ingest bodies into raw reading mappings: JSON, NDJSON and CSV.

JSON is parsed with orjson; when orjson refuses the body (it rejects ``NaN``/``Infinity``
literals, which many senders emit) the standard library parser gets a second try, so one
non-finite value rejects one reading instead of the whole batch. A body neither parser
accepts is a ``BadRequest`` that names the position of the error.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from gridpilot.core.errors import BadRequest, ValidationFailed
from gridpilot.telemetry.validation import Undecodable

NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
    }
)
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
CSV_COLUMNS = ("asset", "metric", "ts", "value", "unit")
_COLUMN_ALIASES = {"timestamp": "ts", "time": "ts", "asset_id": "asset", "sourceid": "asset"}
_SHAPE_ERROR = 'body must be {"readings": [...]} or a JSON array of readings'


def _parse_json(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"invalid JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}",
            details={"line": exc.lineno, "column": exc.colno, "position": exc.pos},
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"invalid JSON: {exc}") from None


def decode_json(body: bytes) -> list[Any]:
    """Readings of a JSON body: ``{"readings": [...]}`` or a bare array."""
    data = _parse_json(body)
    if isinstance(data, dict):
        readings = data.get("readings")
        if not isinstance(readings, list):
            raise ValidationFailed(_SHAPE_ERROR)
        return readings
    if isinstance(data, list):
        return data
    raise ValidationFailed(_SHAPE_ERROR)


def decode_ndjson(body: bytes) -> list[Any]:
    """One reading per non-blank line; a line that is not JSON becomes an ``Undecodable``."""
    items: list[Any] = []
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(_parse_json(line))
        except BadRequest as exc:
            items.append(Undecodable(f"line {number}: {exc.message}"))
    return items


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


class CsvColumns:
    """Maps a CSV header to reading fields; ``reading(row)`` builds one raw reading."""

    def __init__(
        self, header: Sequence[str], *, asset: str | None = None, metric: str | None = None
    ) -> None:
        names = [_COLUMN_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
        self.positions = {name: i for i, name in enumerate(names) if name in CSV_COLUMNS}
        self.defaults = {"asset": asset, "metric": metric}
        required = [
            c
            for c in ("asset", "metric", "ts", "value")
            if c not in self.positions and self.defaults.get(c) is None
        ]
        if required:
            raise ValidationFailed(
                "CSV header must name the columns asset,metric,ts,value[,unit]; missing: "
                + ",".join(required),
                details={"header": list(header)[:20]},
            )

    def reading(self, row: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        width = len(row)
        for name in ("asset", "metric", "ts", "value", "unit"):
            position = self.positions.get(name)
            if position is None or position >= width:
                out[name] = self.defaults.get(name)
                continue
            cell = row[position].strip()
            if name == "value":
                out[name] = _number_or_text(cell) if cell else None
            else:
                out[name] = cell or self.defaults.get(name)
        return out


def csv_readings(
    lines: Iterable[str], *, asset: str | None = None, metric: str | None = None
) -> Iterator[dict[str, Any]]:
    """Readings of CSV text lines (header first; blank lines skipped)."""
    reader = csv.reader(lines)
    header = next((row for row in reader if row), None)
    if header is None:
        return
    columns = CsvColumns(header, asset=asset, metric=metric)
    for row in reader:
        if row:
            yield columns.reading(row)


def decode_csv(body: bytes) -> list[Any]:
    """Readings of a CSV body with header ``asset,metric,ts,value[,unit]``."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("CSV body is not valid UTF-8") from None
    try:
        return list(csv_readings(text.splitlines()))
    except csv.Error as exc:
        raise BadRequest(f"invalid CSV: {exc}") from None


def decode_body(body: bytes, content_type: str) -> list[Any]:
    """Readings of ``body`` by its media type (JSON when the type says nothing else)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in NDJSON_TYPES:
        return decode_ndjson(body)
    if media in CSV_TYPES:
        return decode_csv(body)
    return decode_json(body)
