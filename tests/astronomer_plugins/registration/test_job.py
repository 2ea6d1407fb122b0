"""The registration job, run by a component agent in this process, against the real control plane and
servers that misbehave on purpose (4xx with an error text, a hang), plus the process-wide lifecycle
and the ASGI hook."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_plugins.agent import asgi as agent_asgi
from astronomer_plugins.agent import identity, lifecycle, listener
from astronomer_plugins.agent.agent import ComponentAgent
from astronomer_plugins.lifespan import LifespanHooksMiddleware
from astronomer_plugins.registration import payload
from astronomer_plugins.registration.job import RegistrationJob
from astronomer_plugins.registration.settings import RegistrationSettings
from tests.astronomer_plugins.registration.conftest import components
from tests.astronomer_plugins.registration.test_faults import HungServer
from tests.support.servers import poll

pytestmark = pytest.mark.integration

AGENT_LOGGER = "astronomer_plugins"


def _agent(
    url: str, deployment_id: str, tmp_path: Path, *, interval: int = 1, kind: str = "triggerer"
) -> tuple[ComponentAgent, RegistrationJob]:
    """An agent whose one job is the registration, with its instance ids in `tmp_path`."""
    job = RegistrationJob(
        RegistrationSettings(url, deployment_id, interval),
        status_probe=lambda _kind: payload.api_server_status,
    )
    agent = ComponentAgent(
        [job],
        deployment_id=deployment_id,
        resolve_kind=lambda: kind,
        claim=lambda dep, k: identity.claim_instance_id(dep, k, host="agent-test", directory=str(tmp_path)),
    )
    return agent, job


def _registration(agent: ComponentAgent | None) -> RegistrationJob:
    job = agent.job(RegistrationJob.name) if agent is not None else None
    assert isinstance(job, RegistrationJob), agent
    return job


@pytest.fixture
def agent_token(tree, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__AGENT_TOKEN", tree.agent_token)
    return tree.agent_token


def test_register_heartbeat_register_again_when_forgotten_and_deregister(
    control_plane, tree, agent_token, tmp_path: Path
) -> None:
    agent, job = _agent(control_plane.url, tree.deployment_id, tmp_path)
    agent.start()
    try:
        poll(lambda: job.heartbeats >= 2, timeout=20, what="two heartbeats")
        [component] = components(control_plane, tree)
        assert (component.instance_id, component.component.value, component.state.value) == (
            "triggerer-agent-test-0", "triggerer", "healthy",
        )  # fmt: skip
        # The control plane forgets the instance (e.g. deregistered by someone): the agent enrolls again.
        url = f"{control_plane.url}/v1/deployments/{tree.deployment_id}/components/triggerer-agent-test-0"
        assert (
            requests.delete(url, headers={"Authorization": f"Bearer {agent_token}"}, timeout=10).status_code
            == 204
        )
        poll(lambda: job.registrations == 2, timeout=20, what="a second registration")
        poll(
            lambda: components(control_plane, tree)[0].state.value == "healthy",
            timeout=20,
            what="healthy again",
        )
    finally:
        started = time.monotonic()
        assert agent.stop() is True
        assert time.monotonic() - started < 2.0
    assert components(control_plane, tree)[0].state.value == "gone"


class RejectingHandler(http.server.BaseHTTPRequestHandler):
    """Answers every call with 422 and the control plane's error body."""

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.calls += 1  # type: ignore[attr-defined]
        body = json.dumps(
            {"error": {"code": "invalid", "message": "hostname: too long for us", "field": "hostname"}}
        )
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rejecting_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RejectingHandler)
    server.calls = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_4xx_is_logged_once_with_the_upstream_text_and_retried(
    rejecting_server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    token = "astro_agent_SECRET_in_test_4xx"
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__AGENT_TOKEN", token)
    caplog.set_level(logging.INFO, logger=AGENT_LOGGER)
    agent, _job = _agent(f"http://127.0.0.1:{rejecting_server.server_port}", "dep_x", tmp_path)
    agent.start()
    try:
        poll(
            lambda: rejecting_server.calls >= 3, timeout=20, what="three attempts"
        )  # the next heartbeats retry
    finally:
        agent.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "rejected the registration of triggerer triggerer-agent-test-0" in errors[0]
    assert "HTTP 422" in errors[0] and "hostname: too long for us" in errors[0]
    assert all(token not in r.getMessage() for r in caplog.records)


def test_a_hung_control_plane_blocks_neither_start_nor_stop(
    tree, agent_token, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    hung = HungServer()
    caplog.set_level(logging.INFO, logger=AGENT_LOGGER)
    try:
        agent, _job = _agent(hung.url, tree.deployment_id, tmp_path)
        started = time.monotonic()
        agent.start()
        assert time.monotonic() - started < 0.1
        assert agent._thread is not None and agent._thread.daemon
        poll(lambda: len(hung.connections) >= 1, timeout=10, what="the registration call to hang")
        stopping = time.monotonic()
        assert agent.stop() is False
        assert time.monotonic() - stopping <= 2.1
    finally:
        hung.close()
    assert any(
        "Could not deregister triggerer-agent-test-0 within 2s" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    ("interval", "failures", "low", "high"),
    [
        (30, 1, 0.5, 1.0),
        (30, 3, 2.0, 4.0),
        (30, 5, 8.0, 16.0),
        (30, 6, 15.0, 30.0),
        (30, 20, 15.0, 30.0),
        (2, 4, 1.0, 2.0),
    ],
)
def test_backoff_grows_exponentially_up_to_one_interval(
    interval: int, failures: int, low: float, high: float, tmp_path
) -> None:
    _agent_, job = _agent("http://127.0.0.1:9", "dep_x", tmp_path, interval=interval)
    job._failures = failures
    delays = [job._backoff() for _ in range(200)]
    assert low <= min(delays) and max(delays) <= high
    assert len(set(delays)) > 100  # jittered


def test_unconfigured_or_disabled_attempts_nothing_and_logs_one_info_line(
    rejecting_server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AGENT_LOGGER)
    assert lifecycle.start_for_api_server() is None
    monkeypatch.setenv(
        "AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", f"http://127.0.0.1:{rejecting_server.server_port}"
    )
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", "dep_x")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__REGISTRATION_ENABLED", "false")
    assert lifecycle.start_for_api_server() is None
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("INFO", "Control-plane registration is off: [astronomer] control_plane_url is not set "
                 "(AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL)"),
        ("INFO", "Control-plane registration is disabled ([astronomer] registration_enabled = False, "
                 "AIRFLOW__ASTRONOMER__REGISTRATION_ENABLED)"),
    ]  # fmt: skip
    assert rejecting_server.calls == 0


def test_the_listener_ignores_task_runners(rejecting_server, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.execution_time.task_runner import TaskRunnerMarker

    monkeypatch.setenv(
        "AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", f"http://127.0.0.1:{rejecting_server.server_port}"
    )
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", "dep_x")
    listener.on_starting(component=TaskRunnerMarker())
    listener.before_stopping(component=TaskRunnerMarker())
    assert lifecycle.current() is None
    assert rejecting_server.calls == 0


def test_a_forked_child_never_deregisters_its_parent(control_plane, tree, agent_token, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", control_plane.url)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", tree.deployment_id)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL", "1")
    agent = lifecycle.start_for_api_server()
    assert agent is not None
    try:
        poll(lambda: _registration(agent).registered, timeout=20, what="registration")
        pid = os.fork()
        if pid == 0:  # the child: what a LocalExecutor worker or task runner inherits
            code = 0 if lifecycle.current() is None and lifecycle.stop() is False else 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert lifecycle.current() is agent
        poll(lambda: _registration(agent).heartbeats >= 1, timeout=20, what="a heartbeat")
        assert [c.state.value for c in components(control_plane, tree)] == ["healthy"]
    finally:
        assert lifecycle.stop() is True
    assert lifecycle.current() is None
    assert [c.state.value for c in components(control_plane, tree)] == ["gone"]


def test_the_asgi_hook_registers_on_lifespan_and_passes_requests_through(
    control_plane, tree, agent_token, monkeypatch
) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", control_plane.url)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", tree.deployment_id)
    seen: list[str] = []

    async def app(scope, receive, send) -> None:
        seen.append(scope["type"])
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            await send({"type": "lifespan.startup.complete"})
            assert (await receive())["type"] == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete"})

    middleware = LifespanHooksMiddleware(app, startup=[agent_asgi.start], shutdown=[agent_asgi.stop])

    async def run() -> None:
        inbox: asyncio.Queue = asyncio.Queue()
        sent: list[dict] = []

        async def send(message) -> None:
            sent.append(message)

        await middleware({"type": "http", "path": "/"}, inbox.get, send)
        await inbox.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(middleware({"type": "lifespan"}, inbox.get, send))
        while not sent:
            await asyncio.sleep(0.01)
        assert lifecycle.current() is not None
        registered = lambda: _registration(lifecycle.current()).registered  # noqa: E731
        await asyncio.to_thread(poll, registered, timeout=20, what="registration")
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan
        assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    try:
        asyncio.run(run())
    finally:
        lifecycle.stop()
    assert seen == ["http", "lifespan"]
    assert [(c.component.value, c.state.value) for c in components(control_plane, tree)] == [
        ("api-server", "gone")
    ]
