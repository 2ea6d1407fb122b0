"""Bounded input over real HTTP: each limit with a body just under it (accepted) and just over it
(413 in the error shape, the message naming the limit). Over-limit bodies with a declared length are
refused from the headers alone: the test sends no body at all and still gets its answer."""

from __future__ import annotations

import gzip
import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.control_plane import Tree
from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
NOW = "2026-11-28T12:00:00Z"


def _connection(server: ControlPlaneServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(urlsplit(server.url).hostname, urlsplit(server.url).port, timeout=30)


def _answer(connection: http.client.HTTPConnection) -> tuple[int, dict]:
    response = connection.getresponse()
    body = response.read()
    return response.status, (json.loads(body) if body else {})


def declared_only(server: ControlPlaneServer, path: str, length: int, token: str) -> tuple[int, dict]:
    """Headers declaring `length` bytes, and no body: only a server that judges Content-Length up
    front can answer (one that reads the body first waits for bytes that never come)."""
    connection = _connection(server)
    try:
        connection.putrequest("POST", path)
        for name, value in (("Content-Type", "application/json"), ("Content-Length", str(length)),
                            ("Authorization", f"Bearer {token}")):  # fmt: skip
            connection.putheader(name, value)
        connection.endheaders()
        return _answer(connection)
    finally:
        connection.close()


def chunked(server: ControlPlaneServer, path: str, body: bytes, token: str, *, finish: bool) -> tuple[int, dict]:
    """`body` sent with Transfer-Encoding: chunked (no length announced), 64 KiB per chunk. Without
    `finish` the last chunk is never sent: a server that waits for the end never answers."""
    connection = _connection(server)
    try:
        connection.putrequest("POST", path)
        for name, value in (("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"),
                            ("Authorization", f"Bearer {token}")):  # fmt: skip
            connection.putheader(name, value)
        connection.endheaders()
        for start in range(0, len(body), 64 * 1024):
            piece = body[start : start + 64 * 1024]
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        if finish:
            connection.send(b"0\r\n\r\n")
        return _answer(connection)
    finally:
        connection.close()


def padded(document: dict, size: int) -> bytes:
    """`document` as JSON, padded with trailing whitespace (still valid JSON) to exactly `size` bytes."""
    text = json.dumps(document).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def assert_too_large(status: int, body: dict, limit_text: str) -> None:
    assert status == 413, body
    assert body["error"]["code"] == "too_large"
    assert limit_text in body["error"]["message"], body


def heartbeat_path(tree: Tree) -> str:
    return f"/v1/deployments/{tree.deployment_id}/components/sched-1/heartbeat"


def metrics_path(tree: Tree) -> str:
    return f"/v1/deployments/{tree.deployment_id}/metrics"


def batch(batch_id: str, tags: dict[str, str] | None = None) -> dict:
    point = {"name": "task.success", "type": "counter", "value": 1, "tags": tags or {}, "timestamp": NOW}
    return {"batch_id": batch_id, "component": "scheduler", "instance_id": "sched-1", "points": [point]}


def registration(providers: dict[str, str]) -> dict:
    return {
        "component": "scheduler", "hostname": "host-1", "pid": 42, "airflow_version": "3.3.2",
        "python_version": "3.11.7", "providers": providers, "started_at": NOW,
    }  # fmt: skip


@pytest.fixture
def registered(server: ControlPlaneServer, tree: Tree) -> Tree:
    response = requests.put(
        f"{server.url}/v1/deployments/{tree.deployment_id}/components/sched-1", json=registration({}),
        headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return tree


# The whole body: 1 MiB for every endpoint, the metrics push 10 MiB.
def test_a_body_of_exactly_the_limit_is_read(server: ControlPlaneServer, registered: Tree) -> None:
    response = requests.post(
        server.url + heartbeat_path(registered), data=padded({"healthy": True}, MIB),
        headers={"Authorization": f"Bearer {registered.agent_token}", "Content-Type": "application/json"}, timeout=30,
    )  # fmt: skip
    assert response.status_code == 204, response.text


def test_a_declared_length_over_the_limit_is_refused_before_the_body_and_before_auth(
    server: ControlPlaneServer, tree: Tree
) -> None:
    status, body = declared_only(server, heartbeat_path(tree), MIB + 1, "astro_agent_wrong")
    assert_too_large(status, body, "limit of 1048576 bytes")
    status, body = declared_only(server, heartbeat_path(tree), 80 * MIB, "astro_agent_wrong")  # the reported attack
    assert_too_large(status, body, "limit of 1048576 bytes")


def test_a_chunked_body_is_counted(server: ControlPlaneServer, registered: Tree) -> None:
    status, _ = chunked(server, heartbeat_path(registered), padded({"healthy": True}, MIB), registered.agent_token, finish=True)
    assert status == 204
    status, body = chunked(server, heartbeat_path(registered), b" " * (MIB + 1), registered.agent_token, finish=False)
    assert_too_large(status, body, "limit of 1048576 bytes")


def test_the_metrics_body_may_reach_10_mib(server: ControlPlaneServer, tree: Tree) -> None:
    response = requests.post(
        server.url + metrics_path(tree), data=padded(batch("m-10mib"), 10 * MIB),
        headers={"Authorization": f"Bearer {tree.agent_token}", "Content-Type": "application/json"}, timeout=60,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    status, body = declared_only(server, metrics_path(tree), 10 * MIB + 1, tree.agent_token)
    assert_too_large(status, body, "limit of 10485760 bytes")
    status, body = chunked(server, metrics_path(tree), b" " * (10 * MIB + 1), tree.agent_token, finish=False)
    assert_too_large(status, body, "limit of 10485760 bytes")


@pytest.mark.parametrize(("decoded_size", "status"), [(10 * MIB, 202), (10 * MIB + 1, 413)])
def test_the_decompressed_metrics_body_is_bounded(server: ControlPlaneServer, tree: Tree, decoded_size: int, status: int) -> None:
    """A gzip bomb: ~10 KiB on the wire, 10 MiB once decompressed."""
    compressed = gzip.compress(padded(batch(f"gz-{decoded_size}"), decoded_size))
    assert len(compressed) < 64 * 1024
    response = requests.post(
        server.url + metrics_path(tree), data=compressed,
        headers={"Authorization": f"Bearer {tree.agent_token}", "Content-Type": "application/json", "Content-Encoding": "gzip"},
        timeout=60,
    )  # fmt: skip
    assert response.status_code == status, response.text
    if status == 413:
        assert_too_large(413, response.json(), "once decompressed is larger than the limit of 10485760 bytes")


def test_a_gzip_body_with_trailing_data_is_refused(server: ControlPlaneServer, tree: Tree) -> None:
    response = requests.post(
        server.url + metrics_path(tree), data=gzip.compress(json.dumps(batch("trail")).encode()) + b"junk",
        headers={"Authorization": f"Bearer {tree.agent_token}", "Content-Encoding": "gzip"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 422 and response.json()["error"]["field"] == "body"


# Free-form maps: providers (registration), details (heartbeat), tags (metric points).
def _providers(count: int, key_size: int = 10, value_size: int = 5) -> dict[str, str]:
    return {f"p{i:03d}".ljust(key_size, "x"): "1".ljust(value_size, "0") for i in range(count)}


@pytest.mark.parametrize(
    ("providers", "status", "limit_text"),
    [
        (_providers(500), 201, None),
        (_providers(501), 413, "at most 500 items"),
        (_providers(1, key_size=128), 201, None),
        (_providers(1, key_size=129), 413, "at most 128 characters"),
        (_providers(1, value_size=64), 201, None),
        (_providers(1, value_size=65), 413, "at most 64 characters"),
    ],
    ids=["500-providers", "501-providers", "name-128", "name-129", "version-64", "version-65"],
)
def test_providers_are_bounded(
    server: ControlPlaneServer, tree: Tree, providers: dict[str, str], status: int, limit_text: str | None
) -> None:
    response = requests.put(
        f"{server.url}/v1/deployments/{tree.deployment_id}/components/sched-limits", json=registration(providers),
        headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == status, response.text
    if limit_text:
        assert_too_large(status, response.json(), limit_text)
        assert response.json()["error"]["field"].startswith("providers")


@pytest.mark.parametrize(
    ("details", "status", "limit_text"),
    [
        ({f"d{i}": i for i in range(50)}, 204, None),
        ({f"d{i}": i for i in range(51)}, 413, "at most 50 items"),
        ({"note": "x" * 1024}, 204, None),
        ({"note": "x" * 1025}, 413, "at most 1024 characters"),
        ({"k" * 128: 1}, 204, None),
        ({"k" * 129: 1}, 413, "at most 128 characters"),
    ],
    ids=["50-details", "51-details", "text-1024", "text-1025", "key-128", "key-129"],
)
def test_heartbeat_details_are_bounded(
    server: ControlPlaneServer, registered: Tree, details: dict, status: int, limit_text: str | None
) -> None:
    response = requests.post(
        server.url + heartbeat_path(registered), json={"healthy": True, "details": details},
        headers={"Authorization": f"Bearer {registered.agent_token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == status, response.text
    if limit_text:
        assert_too_large(status, response.json(), limit_text)
        assert response.json()["error"]["field"].startswith("details")


@pytest.mark.parametrize(
    ("tags", "status", "limit_text"),
    [
        ({f"t{i}": "v" for i in range(32)}, 202, None),
        ({f"t{i}": "v" for i in range(33)}, 413, "at most 32 items"),
        ({"dag_id": "d" * 512}, 202, None),
        ({"dag_id": "d" * 513}, 413, "at most 512 characters"),
        ({"k" * 128: "v"}, 202, None),
        ({"k" * 129: "v"}, 413, "at most 128 characters"),
    ],
    ids=["32-tags", "33-tags", "value-512", "value-513", "key-128", "key-129"],
)
def test_metric_tags_are_bounded(
    server: ControlPlaneServer, tree: Tree, tags: dict[str, str], status: int, limit_text: str | None,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    response = requests.post(
        server.url + metrics_path(tree), json=batch(request.node.callspec.id, tags),
        headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == status, response.text
    if limit_text:
        assert_too_large(status, response.json(), limit_text)
        assert response.json()["error"]["field"].startswith("points.0.tags")


def test_a_field_too_long_in_a_query_stays_a_422(server: ControlPlaneServer, tree: Tree) -> None:
    """413 is about the body; a query parameter over its length is an ordinary invalid field."""
    response = requests.get(
        f"{server.url}/v1/deployments/{tree.deployment_id}/revoked-tokens", params={"since": "1" * 21},
        headers={"Authorization": f"Bearer {tree.agent_token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 422 and response.json()["error"]["field"] == "since"
