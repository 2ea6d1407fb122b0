"""The auth context and its sync thread against a real HTTP server that misbehaves (no api-server):
it never dies, whatever the answer; it takes its endpoints from the discovery document and never
follows one of another issuer; a process forked after start() (gunicorn's preload) runs its own
thread; the lifespan shutdown ends it."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from astronomer_plugins import auth
from astronomer_plugins.auth.context import AuthContext
from astronomer_plugins.control_plane.client import ControlPlaneClient, RetryPolicy
from astronomer_plugins.errors import ControlPlaneUnavailable
from tests.support.servers import poll

AGENT_TOKEN = "astro_agent_sync_thread_secret"


def discovery_document(issuer: str) -> dict[str, str]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/keys/jwks.json",
    }


class FlakyControlPlane(ThreadingHTTPServer):
    """`mode`: "truncated" (Content-Length 1000, 10 bytes, close), "odd" (a JWKS whose `keys` is a
    number: the key parser fails in a way nobody planned for), "foreign" (a discovery document of
    another issuer, whose keys live elsewhere), "ok"."""

    daemon_threads = True
    mode = "ok"
    requests_seen = 0

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FlakyControlPlane

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests_seen += 1
        self.server.paths.append(self.path)
        mode = self.server.mode
        if mode == "truncated" or (mode == "odd" and "revoked-tokens" in self.path):
            self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"keys": [')
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/.well-known/openid-configuration":
            body = discovery_document("http://127.0.0.1:1" if mode == "foreign" else self.server.url)
        elif "jwks" in self.path:
            body = {"keys": 5} if mode == "odd" else {"keys": []}
        else:
            body = {"revoked": [], "cursor": "1"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[FlakyControlPlane]:
    httpd = FlakyControlPlane(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def context(server: FlakyControlPlane, monkeypatch: pytest.MonkeyPatch) -> Iterator[AuthContext]:
    for key, value in {
        "CONTROL_PLANE_URL": server.url, "DEPLOYMENT_ID": "dep_sync", "AGENT_TOKEN": AGENT_TOKEN,
        "AUTH_REVOCATION_POLL_SECONDS": "1", "AUTH_REVOCATION_MAX_STALENESS_SECONDS": "2",
        "AUTH_JWKS_MIN_REFRESH_SECONDS": "1",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"AIRFLOW__ASTRONOMER__{key}", value)
    built = AuthContext.from_config()
    yield built
    built.stop()


def _healthy(context: AuthContext) -> bool:
    revocations, keys = context.verifier.revocations, context.verifier.keys
    return not context._problems and keys.fetched_at is not None and (revocations.age() or 99) < 1.5


@pytest.mark.parametrize("mode", ["truncated", "odd"])
def test_a_broken_answer_never_kills_the_sync_thread(
    server: FlakyControlPlane, context: AuthContext, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = mode
    context.start()
    poll(lambda: {"keys", "revocations"} <= set(context._problems), timeout=10, interval=0.05, what="both problems recorded")
    seen = server.requests_seen
    poll(lambda: server.requests_seen > seen + 2, timeout=10, interval=0.05, what="more polls after the failures")
    assert context._thread is not None and context._thread.is_alive()
    expected = "ChunkedEncodingError" if mode == "truncated" else "TypeError"
    assert expected in " ".join(context._problems.values())
    if mode == "truncated":  # the client itself speaks only the exceptions of astronomer_plugins.errors
        with pytest.raises(ControlPlaneUnavailable, match="ChunkedEncodingError"):
            ControlPlaneClient(server.url, retry=RetryPolicy(attempts=1)).jwks("/keys/jwks.json")
    assert AGENT_TOKEN not in caplog.text

    server.mode = "ok"
    poll(lambda: _healthy(context), timeout=10, interval=0.05, what="the sync recovered")
    context.verifier.revocations.check_fresh()
    assert context._thread.is_alive()


def test_a_process_forked_after_start_runs_its_own_sync_thread(server: FlakyControlPlane, context: AuthContext) -> None:
    """gunicorn with preload_app: init() (and start()) runs in the master, the workers are forks."""
    context.start()
    poll(lambda: _healthy(context), timeout=10, interval=0.05, what="the parent's first round")
    parent_client, parent_synced = context.client, context.verifier.revocations.synced_at
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what is wrong on the pipe, exit without running pytest's teardown
        problems = []
        try:
            if context._thread is not None or context._first_round.is_set() or context._agent_client is not None:
                problems.append("the parent's thread state was inherited")
            if context.client is parent_client:
                problems.append("the parent's client (and its pooled connections) was inherited")
            context.ensure_running()
            if not context._first_round.wait(10):
                problems.append("no first round in the child")
            elif not (context._thread and context._thread.is_alive()):
                problems.append("no running thread in the child")
            elif not (context.verifier.revocations.synced_at or parent_synced) > parent_synced:
                problems.append("the child did not poll")
        except Exception as exc:  # noqa: BLE001
            problems.append(repr(exc))
        os.write(write, "; ".join(problems).encode() or b"ok")
        os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    report = os.read(read, 4096).decode()
    os.close(read)
    assert report == "ok", report
    assert context._thread is not None and context._thread.is_alive()  # the parent's own thread is untouched


def test_the_endpoints_come_from_the_discovery_document(server: FlakyControlPlane, context: AuthContext) -> None:
    with pytest.raises(ControlPlaneUnavailable, match="discovery document"):
        context.require_endpoints()  # before the thread read it: no login against unchecked endpoints
    context.start()
    poll(lambda: _healthy(context), timeout=10, interval=0.05, what="the first round")
    endpoints = context.require_endpoints()
    assert (endpoints.authorization_url, endpoints.token_path) == (f"{server.url}/authorize", "/oauth/token")
    assert server.paths[0] == "/.well-known/openid-configuration"
    assert "/keys/jwks.json" in server.paths  # the discovered JWKS URI, not a path spelled by the client
    refreshes = context.verifier.keys.refreshes
    context.verifier.keys._wanted = True  # an unknown kid asks for a refresh: discovery is not read again
    context._wake.set()
    poll(lambda: context.verifier.keys.refreshes > refreshes, timeout=10, interval=0.05, what="another key refresh")
    assert server.paths.count("/.well-known/openid-configuration") == 1


def test_a_discovery_document_of_another_issuer_is_never_followed(
    server: FlakyControlPlane, context: AuthContext, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = "foreign"
    context.start()
    poll(lambda: "keys" in context._problems, timeout=10, interval=0.05, what="the keys problem recorded")
    seen = server.paths.count("/.well-known/openid-configuration")
    context._wake.set()  # another round: the document is asked again, and refused again
    poll(
        lambda: server.paths.count("/.well-known/openid-configuration") > seen,
        timeout=10,
        interval=0.05,
        what="discovery asked again",
    )
    assert context.endpoints is None and context.verifier.keys.fetched_at is None  # fail closed
    assert not [path for path in server.paths if "jwks" in path]
    assert "is not the configured" in context._problems["keys"]
    assert "AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL" in context._problems["keys"]
    assert any(record.levelname == "ERROR" and "discovery document" in record.getMessage() for record in caplog.records)
    with pytest.raises(ControlPlaneUnavailable):
        context.require_endpoints()

    server.mode = "ok"  # the control plane fixed: the next round reads a good document and the keys
    context._wake.set()
    poll(lambda: _healthy(context), timeout=10, interval=0.05, what="the sync recovered")
    assert context.require_endpoints().jwks_path == "/keys/jwks.json"


def test_the_lifespan_shutdown_ends_the_sync_thread(server: FlakyControlPlane, context: AuthContext) -> None:
    context.start()
    thread = context._thread
    assert thread is not None and thread.is_alive() and context in auth.running
    auth.stop()  # what the api-server's lifespan shutdown runs: the thread has ended when it returns
    assert not thread.is_alive()
    context.ensure_running()  # a request during the drain does not start it again
    assert context._thread is thread and not thread.is_alive()


def test_the_shutdown_hook_is_wired_into_the_api_servers_lifespan() -> None:
    """plugin.py names auth.stop among the lifespan's shutdown hooks (a no-op under another manager)."""
    from astronomer_plugins.plugin import AstronomerPlugin

    [entry] = AstronomerPlugin.fastapi_root_middlewares
    assert auth.stop in entry["kwargs"]["shutdown"]
