"""Which component a process is, under which instance id; the agent's hooks stay cheap in every process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from astronomer_plugins.agent import identity

INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"  # the control plane's (services/agents.py)


@pytest.mark.parametrize(
    ("kind", "host", "slot", "expected"),
    [
        ("scheduler", "vm", 0, "scheduler-vm-0"),
        ("api-server", "My_Host.example.com", 2, "api-server-My-Host.example.com-2"),
        ("triggerer", "-.weird--", 1, "triggerer-weird-1"),
        ("dag-processor", "", 0, "dag-processor-host-0"),
        ("scheduler", "h" * 300, 63, "scheduler-" + "h" * 100 + "-63"),
    ],
)
def test_instance_id(kind: str, host: str, slot: int, expected: str) -> None:
    assert identity.instance_id(kind, host, slot) == expected
    assert re.match(INSTANCE_ID_PATTERN, expected)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/venv/bin/airflow", "scheduler"], "scheduler"),
        (["/venv/bin/airflow", "triggerer", "--skip-serve-logs"], "triggerer"),
        (["/venv/lib/airflow/__main__.py", "dag-processor"], "dag-processor"),
        (["/venv/bin/airflow", "api-server", "--port", "8080"], "api-server"),
        (["/venv/bin/airflow", "tasks", "run", "x"], None),
        (["/venv/bin/airflow"], None),
        (["/venv/bin/airflow", "--verbose"], None),
    ],
)
def test_kind_from_command_line(argv: list[str], expected: str | None) -> None:
    assert identity.kind_from_argv(argv) == expected


def test_task_runner_marker_is_recognised_and_jobs_are_classified() -> None:
    from airflow.jobs.job import Job
    from airflow.sdk.execution_time.task_runner import TaskRunnerMarker

    assert identity.kind_of(TaskRunnerMarker()) == "worker"
    job = Job.__new__(Job)  # no __init__: that would call the lifecycle listeners
    assert identity.as_job(job) is job
    assert identity.as_job(TaskRunnerMarker()) is None
    assert identity.kind_of_job(job) is None  # on_starting runs before the job runner sets job_type
    job.__dict__["job_type"] = "SchedulerJob"
    assert identity.kind_of_job(job) == "scheduler"
    job.__dict__["job_type"] = "SomethingElseJob"
    assert identity.kind_of_job(job) is None


HOLDER = """
import sys
from astronomer_plugins.agent import identity
claim = identity.claim_instance_id("dep_1", "scheduler", host="vm", directory=sys.argv[1])
print(claim.instance_id, flush=True)
sys.stdin.readline()
"""


def _holder(directory: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def test_slots_tell_concurrent_processes_apart_and_come_back_after_a_restart(tmp_path: Path) -> None:
    first, first_id = _holder(tmp_path)
    second, second_id = _holder(tmp_path)
    try:
        assert (first_id, second_id) == ("scheduler-vm-0", "scheduler-vm-1")
        first.send_signal(signal.SIGKILL)  # even a crash frees the slot (the kernel drops the lock)
        first.wait()
        restarted, restarted_id = _holder(tmp_path)
        assert restarted_id == "scheduler-vm-0"
        restarted.kill()
        restarted.wait()
    finally:
        for process in (first, second):
            process.kill()
            process.wait()


def test_claims_are_per_deployment_and_kind(tmp_path: Path) -> None:
    claims = [
        identity.claim_instance_id("dep_1", "scheduler", host="vm", directory=str(tmp_path)),
        identity.claim_instance_id("dep_1", "scheduler", host="vm", directory=str(tmp_path)),
        identity.claim_instance_id("dep_2", "scheduler", host="vm", directory=str(tmp_path)),
        identity.claim_instance_id("dep_1", "triggerer", host="vm", directory=str(tmp_path)),
    ]
    try:
        assert [c.instance_id for c in claims] == [
            "scheduler-vm-0",
            "scheduler-vm-1",
            "scheduler-vm-0",
            "triggerer-vm-0",
        ]
    finally:
        for claim in claims:
            claim.release()
    again = identity.claim_instance_id("dep_1", "scheduler", host="vm", directory=str(tmp_path))
    assert again.instance_id == "scheduler-vm-0"
    again.release()


PROBE = """
import json, sys
from astronomer_plugins.agent import asgi, listener
heavy = ["requests", "pydantic", "sqlalchemy", "airflow", "astronomer_plugins.agent.agent",
         "astronomer_plugins.registration.job", "astronomer_plugins.metrics.job",
         "astronomer_plugins.control_plane.client"]
print(json.dumps([name for name in heavy if name in sys.modules]))
"""


def test_the_hooks_every_process_imports_load_nothing_heavy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []


class TaskRunnerMarker:  # the name of the task SDK's marker
    pass


class Job:  # the name Airflow's Job class has; on_starting runs before the runner sets job_type
    def __init__(self, job_type: str | None = None) -> None:
        self.job_type = job_type


@pytest.mark.parametrize(
    ("component", "argv", "expected"),
    [
        (TaskRunnerMarker(), ["airflow", "scheduler"], "worker"),  # forked from the scheduler: still a task
        (Job("SchedulerJob"), ["airflow", "anything"], "scheduler"),
        (Job(None), ["airflow", "scheduler", "--num-runs", "1"], "scheduler"),
        (Job("DagProcessorJob"), ["airflow", "scheduler"], "dag-processor"),
        (Job(None), ["airflow", "triggerer"], "triggerer"),
        (Job(None), ["airflow", "api-server"], None),
        (object(), ["airflow", "scheduler"], None),
    ],
)
def test_kind_of_is_the_one_classification(
    monkeypatch: pytest.MonkeyPatch, component: object, argv: list[str], expected: str | None
) -> None:
    from astronomer_plugins.control_plane.models import ComponentKind

    monkeypatch.setattr("sys.argv", argv)
    assert identity.kind_of(component) == expected
    if expected is not None:
        assert ComponentKind(expected).value == expected  # kinds are the wire enum's values
