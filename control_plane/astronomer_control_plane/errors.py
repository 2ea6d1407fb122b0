"""Errors of the control plane, all answered as {"error": {"code", "message", "field"}}.

APIError               raised by services; carries the HTTP status
 ├─ NotFound           404: unknown id, or not visible to the caller
 ├─ Conflict           409: a duplicate name
 ├─ BadRequest         400/422: a field is wrong
 ├─ Unauthorized       401: no or invalid credentials
 └─ Forbidden          403: valid credentials, not allowed
"""

from __future__ import annotations

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


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_path(loc: tuple) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            return error_response(422, "invalid", f"the body is not valid JSON: {first.get('ctx', {}).get('error', '')}", "body")
        field = _field_path(tuple(first.get("loc", ())))
        problems = "; ".join(f"{_field_path(tuple(e.get('loc', ())))}: {e['msg']}" for e in exc.errors()[:10])
        return error_response(422, "invalid", problems, field)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, _exc: IntegrityError) -> JSONResponse:
        return error_response(409, "conflict", "a record with this name already exists", "name")
