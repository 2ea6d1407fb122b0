"""Errors of the control plane, all answered as {"error": {"code", "message", "field"}}.

APIError               raised by services; carries the HTTP status
 ├─ NotFound           404: unknown id, or not visible to the caller
 ├─ Conflict           409: a duplicate name
 ├─ BadRequest         400/422: a field is wrong
 ├─ Unauthorized       401: no or invalid credentials
 ├─ Forbidden          403: valid credentials, not allowed
 ├─ PayloadTooLarge    413: the body, or a field of it, is over a size limit (the message names it)
 ├─ InvalidArchive     400: an uploaded DAG bundle is refused (the message names the member and why)
 └─ UnsupportedMedia   415: the body's Content-Type is not the one the endpoint takes
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from astronomer_plugins.control_plane.models import ErrorBody, ErrorDetail


class APIError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(APIError):
    status, code = 404, "not_found"


class Conflict(APIError):
    status, code = 409, "conflict"


class BadRequest(APIError):
    status, code = 422, "invalid"


class Unauthorized(APIError):
    status, code = 401, "unauthorized"


class Forbidden(APIError):
    status, code = 403, "forbidden"


class PayloadTooLarge(APIError):
    status, code = 413, "too_large"


class InvalidArchive(APIError):
    status, code = 400, "invalid_archive"


class UnsupportedMedia(APIError):
    status, code = 415, "unsupported_media_type"


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_path(loc: tuple) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


# pydantic's error types for a length limit (string, list, dict): in a body they answer 413.
SIZE_ERRORS = frozenset({"string_too_long", "too_long", "bytes_too_long"})


def from_validation_errors(errors: Sequence[Mapping[str, Any]], *, body: bool = False) -> APIError:
    """One APIError for pydantic's errors: a size limit broken in the body is a 413 naming the limit
    (pydantic's message says it, e.g. "at most 500 items"), anything else a 422 naming the fields.
    `body`: the errors come from validating the body itself (their `loc` does not start with "body")."""
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") in SIZE_ERRORS and (body or loc[:1] == ("body",)):
            field = _field_path(loc)
            return PayloadTooLarge(f"{field}: {error['msg']}", field=field)
    field = _field_path(tuple(errors[0].get("loc", ())))
    problems = "; ".join(f"{_field_path(tuple(e.get('loc', ())))}: {e['msg']}" for e in errors[:10])
    return BadRequest(problems, field=field)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            return error_response(
                422, "invalid", f"the body is not valid JSON: {first.get('ctx', {}).get('error', '')}", "body"
            )
        error = from_validation_errors(exc.errors())
        return error_response(error.status, error.code, error.message, error.field)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, _exc: IntegrityError) -> JSONResponse:
        return error_response(409, "conflict", "a record with this name already exists", "name")
