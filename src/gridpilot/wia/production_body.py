"""The body of ``POST /sources/{id}/production``, read only once the caller is authenticated.

One Production Data object or a JSON array of them, ``application/json`` only (415 else). The body
is capped like telemetry's: ``max_body_bytes`` and its JSON values counted before it is parsed
(413); an array holds at most ``max_batch_readings`` objects, and their values at most as many
readings (413). Each object is validated alone, as an object (not once per branch of a union): an
invalid single object answers 422 with its first 20 errors and their count; an invalid object of
an array is rejected alone (its first error, with its index) and the others are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from gridpilot.wia.schemas import ProductionData, ProductionRejection

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


@dataclass
class ProductionBatch:
    """The valid objects of a body with their positions, and the objects refused whole."""

    items: list[ProductionData] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    rejected: list[ProductionRejection] = field(default_factory=list)


def _errors(exc: ValidationError) -> list[Any]:
    return exc.errors(include_url=False, include_input=False, include_context=False)


def validate_single(data: Any) -> ProductionBatch:
    """One object; ``ValidationFailed`` listing its first 20 errors when it is invalid."""
    try:
        return ProductionBatch([ProductionData.model_validate(data)], [0])
    except ValidationError as exc:
        listed = [error_entry(("body", *e["loc"]), e["msg"]) for e in _errors(exc)]
        raise invalid_request(listed[:MAX_LISTED_ERRORS], exc.error_count()) from None


def validate_items(items: list[Any]) -> ProductionBatch:
    """An array's objects: the valid ones, and each invalid one rejected by its first error."""
    batch = ProductionBatch()
    for index, item in enumerate(items):
        try:
            batch.items.append(ProductionData.model_validate(item))
            batch.indexes.append(index)
        except ValidationError as exc:
            first = _errors(exc)[0]
            where = ".".join(str(part) for part in first["loc"])
            more = exc.error_count() - 1
            reason = str(first["msg"]) + (f" (and {more} more errors)" if more else "")
            batch.rejected.append(ProductionRejection(index=index, field=where, reason=reason))
    return batch


def check_reading_count(items: list[ProductionData], limit: int) -> None:
    """The objects' values (one reading each) are within the batch limit, else ``TooLarge``."""
    count = sum(1 for item in items for field in FIELDS if field.value(item) is not None)
    if count > limit:
        raise TooLarge(f"the production data holds {count} readings; the limit is {limit}")


async def production_items(
    request: Request, principal: TelemetryWriter, runtime: RuntimeDep
) -> ProductionBatch:
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
        batch = validate_single(data)
    elif isinstance(data, list):
        if not data:
            raise ValidationFailed("no production data in the body")
        if len(data) > budget.max_readings:
            raise TooLarge(
                f"the body has {len(data)} production objects; the limit is {budget.max_readings}"
            )
        batch = validate_items(data)
    else:
        raise ValidationFailed(_SHAPE_ERROR)
    check_reading_count(batch.items, budget.max_readings)
    return batch


ProductionBody = Annotated[ProductionBatch, Depends(production_items)]
