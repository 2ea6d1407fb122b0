"""Bounded input: request bodies are capped before anything parses them.

`BodyLimitMiddleware` refuses a declared `Content-Length` over the limit before reading a byte, and
counts what a streamed (chunked) body really delivers. A DAG bundle upload has its own limit
(`Settings.max_bundle_bytes`). The metrics endpoint reads its body through
`read_limited_body`, which also bounds the gzip-decompressed size (a small gzip bomb stays small).
Over a limit the answer is 413 in the usual error shape, naming the limit.
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING

from astronomer_control_plane.errors import BadRequest, PayloadTooLarge, error_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
MAX_BODY_BYTES = 1 * MIB  # every endpoint but the metrics push
MAX_METRICS_BODY_BYTES = 10 * MIB  # the metrics push as sent (gzip or not)
MAX_METRICS_DECODED_BYTES = 10 * MIB  # the metrics push once decompressed
METRICS_PATH = re.compile(r"^/v1/deployments/[^/]+/metrics$")
BUNDLE_UPLOAD_PATH = re.compile(r"^/v1/organizations/[^/]+/deployments/[^/]+/deploys$")


def body_limit(path: str, max_bundle_bytes: int) -> int:
    if BUNDLE_UPLOAD_PATH.match(path):
        return max_bundle_bytes
    return MAX_METRICS_BODY_BYTES if METRICS_PATH.match(path) else MAX_BODY_BYTES


def too_large(limit: int, what: str = "the request body") -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what} is larger than the limit of {limit} bytes ({limit / MIB:g} MiB)", field="body"
    )


class _BodyTooLarge(Exception):
    """Raised into the app from `receive` once a streamed body passes the limit."""


class BodyLimitMiddleware:
    """Pure ASGI (no buffering): the limit holds whatever the route does with the body."""

    def __init__(self, app: ASGIApp, max_bundle_bytes: int) -> None:
        self.app = app
        self.max_bundle_bytes = max_bundle_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"], self.max_bundle_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit, close=True)
            return
        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                return  # the app's own answer to the interrupted read (e.g. FastAPI's 400): ours replaces it
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await _refuse(scope, receive, send, limit, close=True)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int, *, close: bool) -> None:
    error = too_large(limit)
    response = error_response(error.status, error.code, error.message, error.field)
    if close:
        # The rest of the body is never read: the connection cannot be reused for another request.
        response.headers["Connection"] = "close"
    await response(scope, receive, send)


async def read_limited_body(request: Request, *, max_bytes: int, max_decoded_bytes: int) -> bytes:
    """The body, decoded from gzip if so declared, read as a stream: refused (413) as soon as either
    the bytes received or the bytes decompressed pass their limit; nothing larger is ever held."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise BadRequest(
            f"Content-Encoding {encoding!r} is not supported (use gzip)", field="Content-Encoding"
        )
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    received = 0
    decoded = bytearray()
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise too_large(max_bytes)
        if decompressor is None:
            decoded += chunk
            continue
        try:
            # At most one byte over the limit is ever produced: the rest stays compressed.
            decoded += decompressor.decompress(chunk, max_decoded_bytes - len(decoded) + 1)
        except zlib.error as exc:
            raise BadRequest(f"the gzip body is corrupt: {exc}", field="body") from exc
        if len(decoded) > max_decoded_bytes:
            raise too_large(max_decoded_bytes, "the request body once decompressed")
        if decompressor.unused_data:
            raise BadRequest("the gzip body has data after its end (send one gzip member)", field="body")
    if decompressor is not None and not decompressor.eof:
        raise BadRequest("the gzip body is truncated", field="body")
    return bytes(decoded)
