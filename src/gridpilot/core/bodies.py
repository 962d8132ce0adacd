"""Request bodies that hold their documented types: the ``Strict`` base of every body.

Unknown fields, NaN/Infinity and NUL characters are refused (422), and so are values pydantic
would convert although the OpenAPI types do not allow them (``"1"`` for a number, ``0`` for a
boolean). Every domain's create and update bodies derive from ``Strict``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

#: Unknown fields of a body listed one by one (422); beyond, one error names the first few.
MAX_UNKNOWN_FIELDS = 20


def reject_nul(value: Any) -> Any:
    """Refuse NUL characters anywhere in a body (PostgreSQL cannot store them in text)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul_character", "text must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key)
            reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            reject_nul(item)
    return value


def reject_many_unknown(model: type[BaseModel], data: Any) -> None:
    """One error for a body with more than ``MAX_UNKNOWN_FIELDS`` unknown fields (instead of
    one error per field: a body of 100,000 keys would make 100,000 errors)."""
    if not isinstance(data, dict) or len(data) <= MAX_UNKNOWN_FIELDS:
        return
    fields = model.model_fields
    unknown = [str(key) for key in data if key not in fields]
    if len(unknown) > MAX_UNKNOWN_FIELDS:
        raise PydanticCustomError(
            "extra_forbidden",
            "{count} unknown fields, e.g. {names}",
            {"count": len(unknown), "names": ", ".join(n[:40] for n in unknown[:5])},
        )


def _scalar_kind(annotation: Any) -> str | None:
    """``bool`` or ``number`` for a field typed bool, int or float (optional or annotated)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    options = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if options == [bool]:
        return "bool"
    if options and all(option in (int, float) for option in options):
        return "number"
    return None


@cache
def scalar_fields(model: type[BaseModel]) -> dict[str, str]:
    """The body keys (name and alias) of ``model``'s bool and number fields, with their kind."""
    kinds: dict[str, str] = {}
    for name, field in model.model_fields.items():
        kind = _scalar_kind(field.annotation)
        if kind is not None:
            kinds[name] = kind
            if field.alias:
                kinds[field.alias] = kind
    return kinds


def reject_coercion(model: type[BaseModel], data: Any) -> None:
    """Refuse what the OpenAPI types refuse although pydantic would convert it: ``0``, ``"1"`` or
    ``"true"`` for a boolean, a string or a boolean for a number."""
    if not isinstance(data, dict):
        return
    for key, kind in scalar_fields(model).items():
        value = data.get(key)
        if value is None:
            continue
        if kind == "bool" and not isinstance(value, bool):
            raise PydanticCustomError(
                "bool_type", "{field} must be true or false", {"field": key[:64]}
            )
        if kind == "number" and isinstance(value, str | bool):
            raise PydanticCustomError(
                "number_type", "{field} must be a number, not text", {"field": key[:64]}
            )


class Strict(BaseModel):
    """Unknown fields, NaN/Infinity and NUL characters are refused (422), and so are values
    pydantic would convert but the documented types do not allow (``"1"`` for a number, ``0``
    for a boolean)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_many_unknown(cls, data)
        reject_coercion(cls, data)
        return reject_nul(data)
