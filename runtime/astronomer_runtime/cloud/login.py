"""Browser login: OAuth 2.0 authorization code with PKCE (S256) on a loopback redirect (RFC 8252).

A one-shot listener on 127.0.0.1 and an ephemeral port waits (with a deadline) for the control plane
to send the browser back with `code` and `state`; the state is compared in constant time, the code
is exchanged once at the token endpoint named by the control plane's discovery document (whose issuer
must be the URL given, every endpoint under it: fail closed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from astronomer_runtime.cloud.errors import LoginFailed

CLIENT_ID = "astro-runtime-cli"  # the control plane's public client for command lines
CALLBACK_PATH = "/callback"
CONNECTION_TIMEOUT = 5.0  # seconds a connection to the listener may take to send its request
DONE_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>astro-runtime</title></head>"
    b"<body><p>%s You can close this window.</p></body></html>"
)


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 64 URL-safe characters, within RFC 7636's 43..128."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Endpoints:
    authorization: str
    token_path: str


def endpoints(url: str, document: dict[str, object]) -> Endpoints:
    """The authorization and token endpoints, only if the document is this control plane's."""
    base = url.rstrip("/")
    if document.get("issuer") != base:
        raise LoginFailed(f"{base}/.well-known/openid-configuration names another issuer; refusing to log in")
    found = {}
    for key in ("authorization_endpoint", "token_endpoint"):
        value = document.get(key)
        if not isinstance(value, str) or not value.startswith(base + "/"):
            raise LoginFailed(f"the control plane's discovery document has no {key} under {base}")
        found[key] = value
    return Endpoints(found["authorization_endpoint"], found["token_endpoint"][len(base) :])


@dataclass
class _Outcome:
    expected_state: str
    code: str | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _handler(outcome: _Outcome) -> type[http.server.BaseHTTPRequestHandler]:
    class Callback(http.server.BaseHTTPRequestHandler):
        timeout = CONNECTION_TIMEOUT  # a connection that sends nothing cannot hold the one-shot listener

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            if parts.path != CALLBACK_PATH:
                self.send_error(404)
                return
            query = parse_qs(parts.query)
            state = query.get("state", [""])[0]
            if not hmac.compare_digest(state.encode(), outcome.expected_state.encode()):
                outcome.error = (
                    "the login answer's state does not match this login (another tab or a forged link)"
                )
            elif "error" in query:
                outcome.error = f"the control plane refused the login: {query['error'][0][:200]}"
            elif not query.get("code", [""])[0]:
                outcome.error = "the login answer carries no code"
            else:
                outcome.code = query["code"][0]
            message = b"Logged in to astro-runtime." if outcome.code else b"The login failed."
            body = DONE_PAGE % message
            self.send_response(200 if outcome.code else 400)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            outcome.done.set()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Silent: the request line carries the code."""

    return Callback


def browser_login(
    url: str,
    document: dict[str, object],
    exchange: Callable[[Endpoints, str, str, str], str],
    announce: Callable[[str], None],
    *,
    timeout: float = 300.0,
) -> str:
    """The access token. `announce(authorize_url)` shows (and may open) the page; `exchange(endpoints,
    code, redirect_uri, verifier)` redeems the code. The listener serves until one answer to
    /callback arrives or `timeout` passes, then closes."""
    found = endpoints(url, document)
    verifier, challenge = pkce_pair()
    outcome = _Outcome(expected_state=secrets.token_urlsafe(24))
    server = http.server.HTTPServer(("127.0.0.1", 0), _handler(outcome))
    server.timeout = 0.5
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
        query = {
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": outcome.expected_state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "response_type": "code",
        }
        announce(f"{found.authorization}?{urlencode(query)}")
        deadline = time.monotonic() + timeout
        while not outcome.done.is_set():
            if time.monotonic() >= deadline:
                raise LoginFailed(f"no login within {timeout:.0f} s; run astro-runtime login again")
            server.handle_request()  # one request or server.timeout, whichever first
    finally:
        server.server_close()
    if outcome.error or not outcome.code:
        raise LoginFailed(outcome.error or "the login answer carries no code")
    return exchange(found, outcome.code, redirect_uri, verifier)
