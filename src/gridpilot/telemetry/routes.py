"""HTTP routes of the telemetry domain: batch ingest (``POST /telemetry``).

The handler reads and parses the raw body itself (orjson; NDJSON and CSV decoders) rather
than letting FastAPI build one pydantic model per reading: this is the hot path.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from gridpilot.auth.dependencies import TelemetryWriter
from gridpilot.core.body_limits import bulk_body
from gridpilot.telemetry.body_reader import decode_upload, read_body, stream_readings
from gridpilot.telemetry.decoding import BatchBudget, BodyKind, body_kind, decode_json
from gridpilot.telemetry.dependencies import RuntimeDep
from gridpilot.telemetry.schemas import IngestResponse, TelemetryBatch, inline_schema
from gridpilot.telemetry.service import ingest

router = APIRouter(tags=["telemetry"])

INGEST_DESCRIPTION = """
Submit a batch of readings. Bodies:

* `application/json`: `{"readings": [{"asset", "metric", "ts", "value", "unit"?}, ...]}`
  or a bare JSON array of readings;
* `application/x-ndjson`: one reading object per line;
* `text/csv`, or a `multipart/form-data` upload (field `file`): header
  `asset,metric,ts,value[,unit]`.

`asset` is the asset id or its WIA sourceId; `ts` is ISO-8601 (UTC when no offset) or epoch
milliseconds; `unit` (optional) is converted to the metric's canonical unit (W -> kW,
MWh -> kWh...). Writes are idempotent: a reading with the same asset, metric and timestamp
replaces the stored value (last write wins), so retries are safe.

Answer: `{"stored": N, "rejected": [{"index": i, "reason": "..."}]}` where `index` is the
0-based position of the reading in the batch (data row for CSV, non-blank line for NDJSON).
A power reading implausible for its asset (above its rated capacity x
`GRIDPILOT_PLAUSIBILITY_FACTOR`, or negative on a one-way power metric) carries a `code`
(`over_capacity`, `negative_power`): rejected, or, for an asset in plausibility mode `flag`,
stored and listed in `warnings` (present only when not empty).
**200** every reading stored; **207** some stored, the others listed in `rejected`;
**422** none stored (every reading rejected; also an empty batch); **400** unparseable body
(the message gives the position); **413** body over the size limit (`GRIDPILOT_MAX_BODY_BYTES`)
or more readings than the batch limit (`GRIDPILOT_MAX_BATCH_READINGS`; counted while the body is
decoded, a JSON body also by its values: at most 16 per reading of the limit); **415** any other
`Content-Type` (a missing one included); **401** no credentials (the body is not read);
**403** the caller may not write telemetry; **503** the database could not store the readings
(nothing of the batch was stored, retry).
"""


def _json_response(payload: Any, status: int) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


async def read_readings(request: Request, runtime: RuntimeDep) -> list[Any]:
    """The body's readings, counted against the batch limit as they are decoded."""
    settings = runtime.settings
    kind = body_kind(request.headers.get("content-type"))
    budget = BatchBudget(settings.max_batch_readings)
    limit = settings.max_body_bytes
    if kind in (BodyKind.NDJSON, BodyKind.CSV):
        return await stream_readings(request, kind, budget, limit)
    body = await read_body(request, limit)
    if kind is BodyKind.MULTIPART:
        return await decode_upload(request, bytes(body), budget)
    return decode_json(body, budget)


@router.post(
    "/telemetry",
    summary="Ingest a batch of readings (JSON, NDJSON or CSV)",
    description=INGEST_DESCRIPTION,
    response_model=None,
    responses={
        200: {"model": IngestResponse, "description": "Every reading stored."},
        207: {"model": IngestResponse, "description": "Some readings stored, some rejected."},
        422: {"model": IngestResponse, "description": "Every reading rejected (or none sent)."},
        400: {"description": "The body cannot be parsed."},
        413: {"description": "Body or batch too large."},
        415: {"description": "Content-Type not accepted."},
        503: {"description": "Storage unavailable; nothing was stored."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline_schema(TelemetryBatch)},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {  # a CSV file: UTF-8 text, not any bytes
                            "file": {"type": "string", "contentMediaType": "text/csv"}
                        },
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
@bulk_body
async def post_telemetry(
    request: Request, principal: TelemetryWriter, runtime: RuntimeDep
) -> Response:
    readings = await read_readings(request, runtime)
    result = await ingest(readings, principal=principal, runtime=runtime, channel="http")
    if not result.rejected:
        status = 200
    elif result.stored:
        status = 207
    else:
        status = 422
    return _json_response(result.as_json(), status)
