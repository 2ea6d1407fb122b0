"""The control-plane client against small real HTTP(S) servers that misbehave on purpose."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from astronomer_plugins.control_plane.client import ControlPlaneClient, RetryPolicy
from astronomer_plugins.errors import (
    ControlPlaneAuthError,
    ControlPlaneResponseError,
    ControlPlaneUnavailable,
)
from tests.support.servers import free_port

TOKEN = "astro_agent_SECRET_VALUE_123"
NO_WAIT = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers GETs with the next (status, body) of the server's script; echoes Authorization."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.calls += 1  # type: ignore[attr-defined]
        status, body = self.server.script.pop(0) if self.server.script else (200, "{}")  # type: ignore[attr-defined]
        body = body.replace("{auth}", self.headers.get("Authorization", ""))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[http.server.HTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.script, server.calls = [], 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _client(server: http.server.HTTPServer, **kwargs: object) -> ControlPlaneClient:
    return ControlPlaneClient(f"http://127.0.0.1:{server.server_port}", TOKEN, retry=NO_WAIT, **kwargs)


def test_retries_5xx_then_succeeds(scripted) -> None:
    scripted.script[:] = [(503, "busy"), (502, "bad gateway"), (200, '{"issuer": "x"}')]
    assert _client(scripted).discovery() == {"issuer": "x"}
    assert scripted.calls == 3


def test_gives_up_after_the_attempts_with_the_upstream_text(scripted) -> None:
    scripted.script[:] = [(503, "busy {auth}")] * 3
    with pytest.raises(ControlPlaneUnavailable) as raised:
        _client(scripted).revoked_tokens("dep_1")
    assert scripted.calls == 3
    assert "HTTP 503 after 3 attempt(s): busy Bearer [token]" in str(raised.value)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_are_not_retried_and_hide_the_token(scripted, status: int) -> None:
    scripted.script[:] = [(status, '{"error": "bad token {auth}"}')]
    with pytest.raises(ControlPlaneAuthError) as raised:
        _client(scripted).revoked_tokens("dep_1")
    assert raised.value.status == status and scripted.calls == 1
    assert TOKEN not in str(raised.value) and "[token]" in str(raised.value)


def test_other_4xx_keeps_status_and_body(scripted) -> None:
    scripted.script[:] = [(404, '{"error": {"message": "no such deployment"}}')]
    with pytest.raises(ControlPlaneResponseError) as raised:
        _client(scripted).revoked_tokens("dep_1")
    assert raised.value.status == 404 and "no such deployment" in raised.value.body


def test_a_body_that_does_not_parse_is_a_response_error(scripted) -> None:
    scripted.script[:] = [(200, '{"revoked": "nope"}')]
    with pytest.raises(ControlPlaneResponseError):
        _client(scripted).revoked_tokens("dep_1")


def test_connection_refused_is_unavailable() -> None:
    client = ControlPlaneClient(f"http://127.0.0.1:{free_port()}", TOKEN, retry=NO_WAIT)
    with pytest.raises(ControlPlaneUnavailable) as raised:
        client.discovery()
    assert "no answer after 3 attempt(s)" in str(raised.value)


def test_a_hung_server_times_out() -> None:
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        client = ControlPlaneClient(
            f"http://127.0.0.1:{listener.getsockname()[1]}", TOKEN, read_timeout=0.5,
            retry=RetryPolicy(attempts=2, base_delay=0, max_delay=0),
        )  # fmt: skip
        started = time.monotonic()
        with pytest.raises(ControlPlaneUnavailable) as raised:
            client.discovery()
        assert time.monotonic() - started < 5
        assert "ReadTimeout" in str(raised.value)
    finally:
        listener.close()


@pytest.fixture
def tls_server(tmp_path: Path, scripted) -> Iterator[tuple[int, Path]]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.script, server.calls = [], 0  # type: ignore[attr-defined]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port, cert_file
    finally:
        server.shutdown()
        server.server_close()


def test_tls_is_verified_and_a_ca_bundle_can_be_given(tls_server) -> None:
    port, cert_file = tls_server
    with pytest.raises(ControlPlaneUnavailable) as raised:
        ControlPlaneClient(f"https://127.0.0.1:{port}", TOKEN, retry=NO_WAIT).discovery()
    assert "TLS verification failed" in str(raised.value)
    trusted = ControlPlaneClient(f"https://127.0.0.1:{port}", TOKEN, retry=NO_WAIT, ca_bundle=str(cert_file))
    assert trusted.discovery() == {}


def test_from_config_reads_url_token_file_and_names_missing_settings(tmp_path: Path, monkeypatch) -> None:
    from astronomer_plugins.errors import AstronomerConfigError

    with pytest.raises(AstronomerConfigError, match=r"control_plane_url is not set \(AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL\)"):
        ControlPlaneClient.from_config()
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", "http://127.0.0.1:1")
    with pytest.raises(AstronomerConfigError, match="agent_token is not set"):
        ControlPlaneClient.from_config()
    token_file = tmp_path / "agent-token"
    token_file.write_text(TOKEN + "\n")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE", str(token_file))
    client = ControlPlaneClient.from_config()
    assert client.base_url == "http://127.0.0.1:1" and client._token == TOKEN


def test_client_for_uses_the_named_profile(tmp_path: Path, monkeypatch) -> None:
    from astronomer_plugins.control_plane import client as clients

    token_file = tmp_path / "agent-token"
    token_file.write_text(TOKEN)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE", str(token_file))
    for profile in (clients.REGISTRATION, clients.METRICS, clients.UI_SYNC, clients.AUTH):
        made = clients.client_for(profile)
        assert (made.base_url, made._token, made._retry) == ("http://127.0.0.1:1", TOKEN, profile.retry)
        assert made._timeout == (profile.connect_timeout, profile.read_timeout)
    assert clients.REGISTRATION.retry.attempts == 1  # the agent does its own backoff
    bounded = clients.client_for(clients.REGISTRATION, url="http://cp.test", connect_timeout=0.5, read_timeout=1.5)
    assert (bounded.base_url, bounded._timeout) == ("http://cp.test", (0.5, 1.5))
    assert clients.client_for(clients.AUTH, token=None)._token is None  # JWKS needs no agent token
    token_file.write_text("rotated")
    assert clients.client_for(clients.METRICS)._token == "rotated"  # read when the client is made
