"""The OpenAPI document made true to what the API answers, and the framework's own refusals
(unparsable body, unknown path, wrong method) answered with the project's error body.

FastAPI documents a route's success answer and a 422 with its own validation body, which the API
never sends. ``install_openapi`` post-processes the generated document once, centrally:

- every 422 refers to ``Error``, the body of ``api.errors`` (a route that documents its own 422
  model, such as an ingest result, answers either);
- authenticated operations: 401 and 403; operations of the API (``/api/``, not ``/health`` or
  ``/metrics``): 429 (rate limits) and 503 (database unavailable);
- operations with path parameters, or naming objects (``*_id``, ``asset``...) in their query or
  body: 404;
- authenticated writes (POST, PUT, PATCH, DELETE): 409 (a clash with existing data or state);
- operations with a request body: 400 (unparsable), 413 (over the body cap) and 415 (a content
  type the route does not read); operations over a period (``start``/``end``...): 413 (an answer
  over a cap).

Answers a route declares itself are kept. A 405 lists the path's documented methods in ``Allow``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from gridpilot.api.errors import error_body


class Error(BaseModel):
    """Every error answer of the API."""

    error: str = Field(description="Machine-readable code: not_found, validation_failed, ...")
    message: str = Field(description="What went wrong, for people")
    details: Any = Field(default=None, description="Optional: e.g. the failing fields")


ERROR_REF = {"$ref": "#/components/schemas/Error"}
WRITES = frozenset({"post", "put", "patch", "delete"})
HTTP_METHODS = WRITES | {"get", "head", "options", "trace"}
PERIOD_PARAMETERS = frozenset({"start", "end", "since", "until"})
OBJECT_NAMES = frozenset({"asset", "assets", "site", "sites"})
ANSWERS = {
    "400": "The body cannot be parsed.",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "The role or the site scope does not allow this.",
    "404": "The object does not exist, or is outside the caller's sites.",
    "409": "The change clashes with existing data or the current state.",
    "413": "The body, or the answer the request asks for, is over a cap.",
    "415": "The body's Content-Type is not one this operation reads.",
    "422": "Well-formed, but not acceptable: the reason is in `message`.",
    "429": "Too many requests (see Retry-After).",
    "503": "The database is unavailable; try again.",
}
HEADERS = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    "429": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}
CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _error_answer(status: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": ANSWERS[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in HEADERS:
        answer["headers"] = HEADERS[status]
    return answer


def _names_objects(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether the operation names objects: path parameters, ``*_id(s)``, ``asset(s)`` or
    ``site(s)`` in its query or body."""
    parameters = operation.get("parameters", [])
    if any(p["in"] == "path" for p in parameters):
        return True
    names = [p["name"] for p in parameters if p["in"] == "query"]
    body = operation.get("requestBody", {}).get("content", {})
    for media in body.values():
        ref = media.get("schema", {}).get("$ref", "")
        schema = components.get(ref.rsplit("/", 1)[-1], {}) if ref else media.get("schema", {})
        names += list(schema.get("properties", {}))
    return any(n in OBJECT_NAMES or n.endswith(("_id", "_ids", "Id")) for n in names)


def _fix_422(responses: dict[str, Any]) -> None:
    declared = responses.get("422", {}).get("content", {}).get("application/json", {})
    schema = declared.get("schema")
    if schema is None or schema.get("$ref", "").endswith("/HTTPValidationError"):
        responses["422"] = _error_answer("422")
    elif schema != ERROR_REF:  # the route's own 422 model, or a validation error
        declared["schema"] = {"anyOf": [schema, ERROR_REF]}


def complete_operation(
    path: str, method: str, operation: dict[str, Any], components: dict[str, Any]
) -> None:
    """Add the error answers ``operation`` can give (see the module docstring)."""
    responses = operation.setdefault("responses", {})
    statuses = {"429", "503"} if path.startswith("/api/") else set()
    authenticated = bool(operation.get("security"))
    has_body = "requestBody" in operation
    if authenticated:
        statuses |= {"401", "403"}
        if method in WRITES:
            statuses.add("409")
    if _names_objects(operation, components):
        statuses.add("404")
    if has_body:
        statuses |= {"400", "413", "415"}
    if PERIOD_PARAMETERS & {p["name"] for p in operation.get("parameters", [])}:
        statuses.add("413")
    if "422" in responses or has_body or operation.get("parameters"):
        _fix_422(responses)
    for status in sorted(statuses):
        responses.setdefault(status, _error_answer(status))


def make_true(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's) with the error answers the API really gives, changed in place."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            complete_operation(path, method, operation, components)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}'" not in str(document):
            components.pop(unused, None)
    return document


def allowed_methods(request: Request) -> list[str] | None:
    """The documented methods of the request's path (literal paths before templates, as the
    router matches ``/users/me`` before ``/users/{user_id}``); None for undocumented paths."""
    paths = request.app.openapi()["paths"]
    for template in sorted(paths, key=lambda t: t.count("{")):
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        if re.fullmatch(pattern, request.url.path):
            return sorted(m.upper() for m in paths[template] if m in HTTP_METHODS)
    return None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """The framework's refusals (400, 404, 405...) in the project's error body."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    methods = allowed_methods(request) if exc.status_code == 405 else None
    if methods:
        headers["Allow"] = ", ".join(methods)
    body = error_body(CODES.get(exc.status_code, "error"), str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def install_openapi(app: FastAPI) -> None:
    """Serve the true document at ``/openapi.json``; framework refusals in the error body."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = make_true(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(HTTPException, _http_error)
