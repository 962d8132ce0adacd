"""Decoding ingest bodies into raw reading mappings: JSON, NDJSON and CSV.

JSON is parsed with orjson; when orjson refuses the body (it rejects ``NaN``/``Infinity``
literals, which many senders emit) the standard library parser gets a second try, so one
non-finite value rejects one reading instead of the whole batch. A body neither parser
accepts is a ``BadRequest`` that names the position of the error.

Bodies are counted against the batch limit while they are decoded (``BatchBudget``, 413
beyond): NDJSON and CSV part by part (``NdjsonLines``/``CsvLines``, fed as the body arrives),
stopping at the first reading over the limit; a JSON text before it is parsed, by an upper
bound of the values it holds (commas plus opening brackets), at most ``JSON_ITEMS_PER_READING``
per reading of the limit, so a body of many tiny values never becomes millions of objects.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any

import orjson

from gridpilot.core.errors import BadRequest, TooLarge, UnsupportedMediaType, ValidationFailed
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
MULTIPART_TYPE = "multipart/form-data"
ACCEPTED_TYPES = "application/json, application/x-ndjson, text/csv or multipart/form-data"
CSV_COLUMNS = ("asset", "metric", "ts", "value", "unit")
_COLUMN_ALIASES = {"timestamp": "ts", "time": "ts", "asset_id": "asset", "sourceid": "asset"}
_SHAPE_ERROR = 'body must be {"readings": [...]} or a JSON array of readings'

#: JSON values (commas plus opening brackets) a body may hold per reading of the batch limit.
JSON_ITEMS_PER_READING = 16
#: Longest line of an NDJSON or CSV body [bytes].
MAX_LINE_BYTES = 1024 * 1024
#: Size of the parts a whole body is decoded in [bytes] (cut after a line feed).
PART_BYTES = 64 * 1024

#: A body as read (``bytearray`` when it was gathered from chunks: not copied again).
Body = bytes | bytearray


class BodyKind(StrEnum):
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    MULTIPART = "multipart"


def media_type(content_type: str | None) -> str:
    """``type/subtype`` of a ``Content-Type`` header, lower case, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_type(media: str) -> bool:
    main, _, sub = media.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def body_kind(content_type: str | None) -> BodyKind:
    """The decoder for a ``Content-Type``; ``UnsupportedMediaType`` (415) for any other."""
    media = media_type(content_type)
    if media in NDJSON_TYPES:
        return BodyKind.NDJSON
    if media in CSV_TYPES:
        return BodyKind.CSV
    if media == MULTIPART_TYPE:
        return BodyKind.MULTIPART
    if is_json_type(media):
        return BodyKind.JSON
    raise UnsupportedMediaType(
        f"Content-Type {media or '(none)'} is not accepted: send {ACCEPTED_TYPES}"
    )


class BatchBudget:
    """One body's readings and JSON values against the batch limit (``TooLarge`` beyond)."""

    __slots__ = ("json_items", "max_json_items", "max_readings")

    def __init__(self, max_readings: int) -> None:
        self.max_readings = max_readings
        self.max_json_items = max_readings * JSON_ITEMS_PER_READING
        self.json_items = 0

    def check_count(self, count: int) -> None:
        """``count`` readings (all of the batch) are within the limit."""
        if count > self.max_readings:
            raise TooLarge(f"the batch has {count} readings; the limit is {self.max_readings}")

    def check_next(self, count: int) -> None:
        """The ``count``-th reading, decoded so far, is within the limit."""
        if count > self.max_readings:
            limit = self.max_readings
            raise TooLarge(f"the batch has more than {limit} readings; the limit is {limit}")

    def add_json(self, data: Body) -> None:
        """Count the values of a JSON text before it is parsed."""
        self.json_items += data.count(b",") + data.count(b"{") + data.count(b"[")
        if self.json_items > self.max_json_items:
            raise TooLarge(
                f"the JSON body holds more than {self.max_json_items} values: at most "
                f"{JSON_ITEMS_PER_READING} per reading of the limit of {self.max_readings}"
            )


def _parse_json(data: Body | str) -> Any:
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


def parse_json(data: Body, budget: BatchBudget | None = None) -> Any:
    """The JSON document ``data``, its values counted against ``budget`` first."""
    if budget is not None:
        budget.add_json(data)
    return _parse_json(data)


def decode_json(body: Body, budget: BatchBudget | None = None) -> list[Any]:
    """Readings of a JSON body: ``{"readings": [...]}`` or a bare array."""
    data = parse_json(body, budget)
    if isinstance(data, dict):
        data = data.get("readings")
        if not isinstance(data, list):
            raise ValidationFailed(_SHAPE_ERROR)
    elif not isinstance(data, list):
        raise ValidationFailed(_SHAPE_ERROR)
    if budget is not None:
        budget.check_count(len(data))
    return data


def line_parts(data: Body) -> Iterator[bytes]:
    """``data`` in parts of whole lines (about ``PART_BYTES`` each, cut after a line feed)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + PART_BYTES)
        end = len(data) if end < 0 else end + 1
        if end - start > PART_BYTES + MAX_LINE_BYTES:
            raise BadRequest(f"a line of the body is longer than {MAX_LINE_BYTES} bytes")
        yield bytes(data[start:end])
        start = end


class NdjsonLines:
    """Readings of an NDJSON body, fed part by part: one per non-blank line; a line that is
    not JSON becomes an ``Undecodable``."""

    def __init__(self, budget: BatchBudget | None = None) -> None:
        self.budget = budget
        self.readings: list[Any] = []
        self.lines = 0

    def feed(self, part: bytes) -> None:
        """Decode ``part``: whole lines (a line feed ends it, or the body does)."""
        budget = self.budget
        for line in part.splitlines():
            self.lines += 1
            if not line.strip():
                continue
            if budget is not None:
                budget.check_next(len(self.readings) + 1)
                budget.add_json(line)
            try:
                self.readings.append(_parse_json(line))
            except BadRequest as exc:
                self.readings.append(Undecodable(f"line {self.lines}: {exc.message}"))

    def finish(self) -> list[Any]:
        return self.readings


def decode_ndjson(body: Body, budget: BatchBudget | None = None) -> list[Any]:
    """One reading per non-blank line; a line that is not JSON becomes an ``Undecodable``."""
    lines = NdjsonLines(budget)
    for part in line_parts(body):
        lines.feed(part)
    return lines.finish()


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


class CsvLines:
    """Readings of a CSV body (header ``asset,metric,ts,value[,unit]``), fed part by part.

    A quoted field may run on over lines, and over parts: a part that leaves a quote open
    waits for the next (at most ``MAX_LINE_BYTES`` of text).
    """

    def __init__(self, budget: BatchBudget | None = None) -> None:
        self.budget = budget
        self.columns: CsvColumns | None = None
        self.readings: list[Any] = []
        self._pending: list[str] = []
        self._pending_chars = 0
        self._quotes = 0
        self._started = False

    def feed(self, part: bytes) -> None:
        """Decode ``part``: whole lines (a line feed ends it, or the body does)."""
        if not self._started:
            self._started = True
            part = part.removeprefix(codecs.BOM_UTF8)
        try:
            text = part.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("CSV body is not valid UTF-8") from None
        self._pending.append(text)
        self._pending_chars += len(text)
        self._quotes += text.count('"')
        if self._quotes % 2:
            if self._pending_chars > MAX_LINE_BYTES:
                raise BadRequest(f"invalid CSV: a quoted field is open for {MAX_LINE_BYTES} bytes")
            return
        self._rows()

    def finish(self) -> list[Any]:
        self._rows()
        return self.readings

    def _rows(self) -> None:
        lines = "".join(self._pending).splitlines()
        self._pending.clear()
        self._pending_chars = self._quotes = 0
        budget, readings = self.budget, self.readings
        try:
            for row in csv.reader(lines):
                if not row:
                    continue
                if self.columns is None:
                    self.columns = CsvColumns(row)
                    continue
                if budget is not None:
                    budget.check_next(len(readings) + 1)
                readings.append(self.columns.reading(row))
        except csv.Error as exc:
            raise BadRequest(f"invalid CSV: {exc}") from None


def decode_csv(body: Body, budget: BatchBudget | None = None) -> list[Any]:
    """Readings of a CSV body with header ``asset,metric,ts,value[,unit]``."""
    lines = CsvLines(budget)
    for part in line_parts(body):
        lines.feed(part)
    return lines.finish()


def decode_body(body: Body, content_type: str, budget: BatchBudget | None = None) -> list[Any]:
    """Readings of ``body`` by its media type (JSON when the type says nothing else)."""
    media = media_type(content_type)
    if media in NDJSON_TYPES:
        return decode_ndjson(body, budget)
    if media in CSV_TYPES:
        return decode_csv(body, budget)
    return decode_json(body, budget)
