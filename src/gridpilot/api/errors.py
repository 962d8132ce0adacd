"""Map gridpilot's error tree (and database errors) to HTTP responses.

Body: ``{"error": CODE, "message": TEXT, "details": ...}``. Never a bare 500 for bad input.
"""

from __future__ import annotations

import logging
from itertools import islice

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from gridpilot.core.errors import (
    AuthenticationFailed,
    BadRequest,
    ConfigurationError,
    Conflict,
    GridpilotError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TooLarge,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from gridpilot.core.validation_report import MAX_LISTED_ERRORS, error_entry, invalid_request

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[GridpilotError], int] = {
    BadRequest: 400,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    ValidationFailed: 422,
    RateLimited: 429,
    ConfigurationError: 500,
    Unavailable: 503,
}


def status_for(error: GridpilotError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    body: dict[str, object] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def error_response(error: GridpilotError) -> tuple[int, dict[str, object], dict[str, str]]:
    """Status, JSON body and headers answering ``error`` (also used outside the handlers)."""
    headers: dict[str, str] = {}
    if isinstance(error, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_s)
    return status_for(error), error_body(error.code, error.message, error.details), headers


async def _gridpilot_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridpilotError)
    status, body, headers = error_response(exc)
    return JSONResponse(body, status_code=status, headers=headers)


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 for a body/query that fails validation: the first 20 errors and their count. The
    offending input is not echoed: it may be NaN (not JSON) or a secret."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    listed = [
        error_entry(e.get("loc", ()), str(e.get("msg", "")))
        for e in islice(errors, MAX_LISTED_ERRORS)
    ]
    error = invalid_request(listed, len(errors))
    return JSONResponse(error_body(error.code, error.message, error.details), status_code=422)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error: %s", exc)
    return JSONResponse(
        error_body("conflict", "the change conflicts with existing data (duplicate or reference)"),
        status_code=409,
    )


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("data error: %s", exc)
    return JSONResponse(
        error_body(
            "validation_failed",
            "a value cannot be stored: out of range, or a character the database refuses (NUL)",
        ),
        status_code=422,
    )


def _sqlstate(exc: Exception) -> str:
    """The PostgreSQL SQLSTATE behind a driver error ("" when there is none, e.g. SQLite)."""
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 for an unavailable database; an input the database refuses is the client's error:
    SQLSTATE class 22 (data exception: a NUL character, a bad encoding) 422, class 23 409."""
    state = _sqlstate(exc)
    if state.startswith("22"):
        return await _data_error(request, exc)
    if state.startswith("23"):
        return await _integrity_error(request, exc)
    log.error("database error: %s", exc)
    return JSONResponse(
        error_body("unavailable", "the database is unavailable, try again"), status_code=503
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GridpilotError, _gridpilot_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(DBAPIError, _database_unavailable)
