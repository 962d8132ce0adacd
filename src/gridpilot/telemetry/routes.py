"""HTTP routes of the telemetry domain: batch ingest (``POST /telemetry``).

The handler reads and parses the raw body itself (orjson; NDJSON and CSV decoders) rather
than letting FastAPI build one pydantic model per reading: this is the hot path.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from gridpilot.auth.dependencies import TelemetryWriter
from gridpilot.core.errors import BadRequest, TooLarge, ValidationFailed
from gridpilot.telemetry.decoding import CSV_TYPES, NDJSON_TYPES, decode_body
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
**200** every reading stored; **207** some stored, the others listed in `rejected`;
**422** none stored (every reading rejected; also an empty batch); **400** unparseable body
(the message gives the position); **413** body over the size limit or more readings than
the batch limit; **403** the caller may not write telemetry; **503** the database could not
store the readings (nothing of the batch was stored, retry).
"""

_MULTIPART = "multipart/form-data"


def _json_response(payload: Any, status: int) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(f"the body has {length} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _single(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def decode_upload(request: Request, body: bytes) -> list[Any]:
    """Readings of the first file of a multipart upload (CSV unless it says JSON/NDJSON)."""
    parser = MultiPartParser(request.headers, _single(body), max_files=1, max_fields=20)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"invalid multipart body: {exc.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            upload = next((v for _, v in form.multi_items() if isinstance(v, UploadFile)), None)
        if upload is None:
            raise ValidationFailed("the multipart body has no file (send it in the field 'file')")
        data = await upload.read()
        media = (upload.content_type or "").split(";")[0].strip().lower()
        name = (upload.filename or "").lower()
        if media in NDJSON_TYPES or name.endswith((".ndjson", ".jsonl")):
            return decode_body(data, "application/x-ndjson")
        if (media == "application/json" or name.endswith(".json")) and media not in CSV_TYPES:
            return decode_body(data, "application/json")
        return decode_body(data, "text/csv")
    finally:
        await form.close()


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
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def post_telemetry(
    request: Request, principal: TelemetryWriter, runtime: RuntimeDep
) -> Response:
    settings = runtime.settings
    body = await read_body(request, settings.max_body_bytes)
    content_type = request.headers.get("content-type", "application/json")
    if content_type.lower().startswith(_MULTIPART):
        readings = await decode_upload(request, body)
    else:
        readings = decode_body(body, content_type)
    result = await ingest(readings, principal=principal, runtime=runtime, channel="http")
    if not result.rejected:
        status = 200
    elif result.stored:
        status = 207
    else:
        status = 422
    return _json_response(result.as_json(), status)
