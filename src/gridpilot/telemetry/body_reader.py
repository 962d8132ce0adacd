"""Reading an ingest body from the request: capped in bytes, NDJSON and CSV decoded as they arrive.

A streamed body is decoded chunk by chunk (whole lines at a time), so a body with more readings
than the batch limit is refused (413) at the first reading over it: neither the rest of the body
nor its readings are held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from gridpilot.core.errors import BadRequest, TooLarge, ValidationFailed
from gridpilot.telemetry.decoding import (
    CSV_TYPES,
    MAX_LINE_BYTES,
    NDJSON_TYPES,
    BatchBudget,
    BodyKind,
    CsvLines,
    NdjsonLines,
    decode_body,
)


async def body_chunks(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive; ``TooLarge`` past ``limit`` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(f"the body has {length} bytes; the limit is {limit} bytes")
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is larger than the limit of {limit} bytes")
        if chunk:
            yield chunk


async def read_body(request: Request, limit: int) -> bytearray:
    """The whole body (at most ``limit`` bytes, else ``TooLarge``)."""
    body = bytearray()
    async for chunk in body_chunks(request, limit):
        body += chunk
    return body


async def stream_readings(
    request: Request, kind: BodyKind, budget: BatchBudget, limit: int
) -> list[Any]:
    """Readings of an NDJSON or CSV body, decoded whole lines at a time as they arrive."""
    lines = NdjsonLines(budget) if kind is BodyKind.NDJSON else CsvLines(budget)
    pending = bytearray()
    async for chunk in body_chunks(request, limit):
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            pending += chunk
            if len(pending) > MAX_LINE_BYTES:
                raise BadRequest(f"a line of the body is longer than {MAX_LINE_BYTES} bytes")
            continue
        pending += chunk[:cut]
        lines.feed(bytes(pending))
        pending = bytearray(chunk[cut:])
    if pending:
        lines.feed(bytes(pending))
    return lines.finish()


async def _single(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def decode_upload(request: Request, body: bytes, budget: BatchBudget) -> list[Any]:
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
            return decode_body(data, "application/x-ndjson", budget)
        if (media == "application/json" or name.endswith(".json")) and media not in CSV_TYPES:
            return decode_body(data, "application/json", budget)
        return decode_body(data, "text/csv", budget)
    finally:
        await form.close()
