"""The body of ``POST /sources/{id}/production``, read only once the caller is authenticated.

One Production Data object or a JSON array of them, ``application/json`` only (415 else). The body
is capped like telemetry's: ``max_body_bytes`` and its JSON values counted before it is parsed
(413); an array holds at most ``max_batch_readings`` objects, and their values at most as many
readings (413). Each object is validated alone, as an object: an invalid body answers 422 with
the first 20 errors and their count (not one error per object for each branch of a union).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError

from gridpilot.auth.dependencies import TelemetryWriter
from gridpilot.core.errors import TooLarge, UnsupportedMediaType, ValidationFailed
from gridpilot.core.validation_report import MAX_LISTED_ERRORS, error_entry, invalid_request
from gridpilot.telemetry.body_reader import read_body
from gridpilot.telemetry.decoding import BatchBudget, is_json_type, media_type, parse_json
from gridpilot.telemetry.dependencies import RuntimeDep
from gridpilot.telemetry.schemas import inline_schema
from gridpilot.wia.production import FIELDS
from gridpilot.wia.schemas import ProductionData

_SHAPE_ERROR = "the body must be a Production Data object or a JSON array of them"

#: The request body as documented in OpenAPI (the route reads it itself).
PRODUCTION_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    inline_schema(ProductionData),
                    {"type": "array", "items": inline_schema(ProductionData)},
                ]
            }
        }
    },
}


def validate_items(items: list[Any], *, single: bool) -> list[ProductionData]:
    """``items`` as Production Data; ``ValidationFailed`` listing the first 20 errors."""
    valid: list[ProductionData] = []
    listed: list[dict[str, Any]] = []
    total = 0
    for index, item in enumerate(items):
        try:
            valid.append(ProductionData.model_validate(item))
        except ValidationError as exc:
            total += exc.error_count()
            room = MAX_LISTED_ERRORS - len(listed)
            if room > 0:
                prefix: tuple[Any, ...] = ("body",) if single else ("body", index)
                errors = exc.errors(include_url=False, include_input=False, include_context=False)
                listed += [error_entry((*prefix, *e["loc"]), e["msg"]) for e in errors[:room]]
    if total:
        raise invalid_request(listed, total)
    return valid


def check_reading_count(items: list[ProductionData], limit: int) -> None:
    """The objects' values (one reading each) are within the batch limit, else ``TooLarge``."""
    count = sum(1 for item in items for field in FIELDS if field.value(item) is not None)
    if count > limit:
        raise TooLarge(f"the production data holds {count} readings; the limit is {limit}")


async def production_items(
    request: Request, principal: TelemetryWriter, runtime: RuntimeDep
) -> list[ProductionData]:
    """The body's Production Data objects (see the module docstring)."""
    del principal  # a dependency so that the caller is authenticated before the body is read
    content_type = media_type(request.headers.get("content-type"))
    if not is_json_type(content_type):
        raise UnsupportedMediaType(
            f"the body must be JSON (Content-Type: application/json); got {content_type or 'none'}"
        )
    settings = runtime.settings
    budget = BatchBudget(settings.max_batch_readings)
    data = parse_json(await read_body(request, settings.max_body_bytes), budget)
    if isinstance(data, dict):
        items = validate_items([data], single=True)
    elif isinstance(data, list):
        if not data:
            raise ValidationFailed("no production data in the body")
        if len(data) > budget.max_readings:
            raise TooLarge(
                f"the body has {len(data)} production objects; the limit is {budget.max_readings}"
            )
        items = validate_items(data, single=False)
    else:
        raise ValidationFailed(_SHAPE_ERROR)
    check_reading_count(items, budget.max_readings)
    return items


ProductionBody = Annotated[list[ProductionData], Depends(production_items)]
