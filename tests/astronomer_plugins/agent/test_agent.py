"""The component agent's thread with plain jobs: one identity for all jobs, each job at its own pace,
a failing job never stops the others, and a stop bounded by one deadline."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from astronomer_plugins.agent import agent as agent_module
from astronomer_plugins.agent import identity
from astronomer_plugins.agent.agent import ComponentAgent
from astronomer_plugins.agent.identity import ComponentIdentity
from tests.support.servers import poll


class RecordingJob:
    """Runs every `every` seconds; records what the agent gave it and when it stopped."""

    def __init__(
        self, name: str, every: float, *, fail_on_run: bool = False, stop_takes: float = 0.0
    ) -> None:
        self.name = name
        self.every = every
        self.fail_on_run = fail_on_run
        self.stop_takes = stop_takes
        self.component: ComponentIdentity | None = None
        self.runs = 0
        self.stopped_with: float | None = None
        self.stopped_at: float | None = None

    def begin(self, component: ComponentIdentity) -> None:
        self.component = component

    def run(self) -> float:
        self.runs += 1
        if self.fail_on_run:
            raise RuntimeError(f"{self.name} broke")
        return self.every

    def stop(self, deadline: float) -> bool:
        self.stopped_with = deadline
        threading.Event().wait(min(self.stop_takes, max(0.0, deadline - time.monotonic())))
        self.stopped_at = time.monotonic()
        return self.stop_takes == 0.0


def _agent(
    jobs: list[RecordingJob], tmp_path: Path, kind: str | None = "scheduler", **kwargs
) -> ComponentAgent:
    return ComponentAgent(
        jobs,
        deployment_id="dep_agent",
        resolve_kind=lambda: kind,
        claim=lambda dep, k: identity.claim_instance_id(dep, k, host="vm", directory=str(tmp_path)),
        **kwargs,
    )


def test_every_job_gets_the_one_identity_and_runs_at_its_own_pace(tmp_path: Path) -> None:
    fast, slow = RecordingJob("fast", 0.02), RecordingJob("slow", 60.0)
    agent = _agent([fast, slow], tmp_path)
    agent.start()
    try:
        poll(lambda: fast.runs >= 10, timeout=10, what="ten rounds of the fast job")
        assert slow.runs == 1  # ran once at start, next in a minute
        assert fast.component is slow.component is agent.component
        assert agent.component is not None
        assert (agent.component.kind, agent.component.instance_id) == ("scheduler", "scheduler-vm-0")
        assert agent.job("slow") is slow and agent.job("other") is None
    finally:
        assert agent.stop() is True
    # The slot is free again once the agent stopped: the next process gets the same instance id.
    again = identity.claim_instance_id("dep_agent", "scheduler", host="vm", directory=str(tmp_path))
    assert again.instance_id == "scheduler-vm-0"
    again.release()


def test_a_failing_job_is_logged_and_retried_while_the_others_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="astronomer_plugins.agent")
    broken, healthy = RecordingJob("broken", 0.01, fail_on_run=True), RecordingJob("healthy", 0.01)
    agent = _agent([broken, healthy], tmp_path)
    agent.start()
    try:
        poll(lambda: healthy.runs >= 20, timeout=10, what="the healthy job to keep running")
        assert broken.runs == 1  # retried only after RETRY_AFTER_FAILURE, not in a tight loop
    finally:
        agent.stop()
    assert [r.getMessage() for r in caplog.records] == [
        "The Astronomer agent's broken job failed; it runs again in 10.0s"
    ]


def test_stop_shares_one_deadline_across_jobs_in_order(tmp_path: Path) -> None:
    first, second = RecordingJob("first", 60.0, stop_takes=5.0), RecordingJob("second", 60.0)
    agent = _agent([first, second], tmp_path)
    agent.start()
    poll(lambda: second.runs == 1, timeout=10, what="both jobs to begin")
    started = time.monotonic()
    assert agent.stop(budget=1.0) is False  # the first job did not finish its last work
    took = time.monotonic() - started
    assert took < 1.5, took
    assert first.stopped_with == second.stopped_with  # one deadline for all
    assert first.stopped_at is not None and second.stopped_at is not None
    assert first.stopped_at <= second.stopped_at  # in order: registration before metrics


@pytest.fixture
def short_kind_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_module, "KIND_WAIT", 0.3)


def test_a_process_that_is_no_component_runs_no_job(tmp_path: Path, short_kind_wait: None) -> None:
    job = RecordingJob("never", 0.01)
    agent = _agent([job], tmp_path, kind=None, fallback_kind=lambda: None)
    agent.start()
    assert agent._thread is not None
    agent._thread.join(timeout=10)  # gives up after waiting KIND_WAIT for the kind
    assert not agent._thread.is_alive()
    assert (agent.component, job.runs, job.component) == (None, 0, None)
    assert agent.stop() is True  # nothing began, nothing to stop


def test_the_kind_falls_back_to_the_command_line_when_the_job_never_says(
    tmp_path: Path, short_kind_wait: None
) -> None:
    job = RecordingJob("job", 60.0)
    agent = _agent([job], tmp_path, kind=None, fallback_kind=lambda: "triggerer")
    agent.start()
    try:
        poll(lambda: job.runs == 1, timeout=10, what="the job to run after the kind wait")
        assert job.component is not None and job.component.kind == "triggerer"
    finally:
        agent.stop()
