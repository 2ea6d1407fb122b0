"""Two real deployments, each with its own reference control plane and four Airflow components:
a DAG in A triggers DAGs in B through the deferrable path (A's real triggerer) and waits for them."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.servers import LocalRuntime, final_state, poll, start_dag_run, stop_process_group

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TARGETS = '''
import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")


@dag(dag_id="target_success", schedule=None, start_date=START)
def target_success():
    @task
    def work():
        return "done"

    work()


@dag(dag_id="target_fail", schedule=None, start_date=START)
def target_fail():
    @task
    def work():
        raise RuntimeError("the target fails on purpose")

    work()


@dag(dag_id="target_wait", schedule=None, start_date=START)
def target_wait():
    @task
    def wait_for_release(dag_run=None):
        import time
        from pathlib import Path

        release, deadline = Path(dag_run.conf["release_file"]), time.monotonic() + 300
        while not release.exists():  # the test releases it once A's wait has moved triggerers
            if time.monotonic() > deadline:
                raise TimeoutError(f"{release} never appeared")
            time.sleep(0.5)

    wait_for_release()


target_success()
target_fail()
target_wait()
'''

CALLERS = '''
import pendulum
from airflow.sdk import dag
from astronomer_plugins import DeploymentDagRunSensor, TriggerDeploymentDagRunOperator

@dag(dag_id="cross_trigger", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
def cross_trigger():
    TriggerDeploymentDagRunOperator(
        task_id="trigger",
        astro_conn_id="{{ dag_run.conf.get('conn', 'deployment_b') }}",
        trigger_dag_id="{{ dag_run.conf.get('target', 'target_success') }}",
        conf={"release_file": "{{ dag_run.conf.get('release_file', '') }}"},
        wait_for_completion=True, poke_interval=2, timeout=300,
    )
cross_trigger()
'''


@dataclass
class Pair:
    a: LocalRuntime
    b: LocalRuntime
    a_api: requests.Session
    b_api: requests.Session
    b_token: str


def _api(runtime: LocalRuntime, token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("cross")
    (base / "b-project" / "dags").mkdir(parents=True)
    (base / "b-project" / "dags" / "targets.py").write_text(textwrap.dedent(TARGETS))
    (base / "a-project" / "dags").mkdir(parents=True)
    (base / "a-project" / "dags" / "callers.py").write_text(textwrap.dedent(CALLERS))
    b = LocalRuntime(base / "b", base / "b-project")
    a = None
    try:
        b.start()
        b_token = b.admin_api_token()
        connection = {"conn_type": "astro_deployment", "host": b.url, "password": b_token}
        bad = {**connection, "password": "not-a-token"}
        a = LocalRuntime(base / "a", base / "a-project", extra_env={
            "AIRFLOW_CONN_DEPLOYMENT_B": json.dumps(connection), "AIRFLOW_CONN_DEPLOYMENT_B_BAD": json.dumps(bad),
            # a triggerer silent for 15 s is lost: its triggers move to a live one (default 30 s)
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
        })  # fmt: skip
        a.start()
        yield Pair(a, b, _api(a, a.admin_api_token()), _api(b, b_token), b_token)
    finally:
        if a is not None:
            a.stop()
        b.stop()



def _run_in_a(pair: Pair, conf: dict) -> tuple[str, str]:
    """Trigger cross_trigger in A; return (run id, final state)."""
    poll(lambda: pair.a_api.get(f"{pair.a.url}/api/v2/dags/cross_trigger", timeout=10).ok, timeout=120, what="A to parse its DAG")
    run_url = start_dag_run(pair.a_api, pair.a.url, "cross_trigger", conf)
    return run_url.rsplit("/", 1)[-1], final_state(pair.a_api, run_url, timeout=240)


def _wait_for_a_run(pair: Pair, run_id: str) -> str:
    return final_state(pair.a_api, f"{pair.a.url}/api/v2/dags/cross_trigger/dagRuns/{run_id}", timeout=240)


def _log_with(runtime: LocalRuntime, expected: str) -> str:
    """The runtime's log once it contains `expected` (task logs reach it a moment after the state)."""

    def containing() -> str | None:
        text = runtime.log_path.read_text()
        return text if expected in text else None

    return poll(containing, timeout=30, interval=0.5, what=f"{expected!r} in the log")


def _b_runs(pair: Pair, dag_id: str) -> list[dict]:
    return pair.b_api.get(f"{pair.b.url}/api/v2/dags/{dag_id}/dagRuns", timeout=10).json()["dag_runs"]


def test_trigger_waits_through_the_triggerer_and_a_retry_reuses_the_run(pair: Pair) -> None:
    run_id, state = _run_in_a(pair, {"target": "target_success"})
    assert state == "success"
    [remote] = _b_runs(pair, "target_success")
    assert remote["state"] == "success" and remote["dag_run_id"].startswith("astro_triggered__cross_trigger__")
    ti = pair.a_api.get(f"{pair.a.url}/api/v2/dags/cross_trigger/dagRuns/{run_id}/taskInstances/trigger", timeout=10).json()
    assert ti["state"] == "success"
    deferred = [line for line in pair.a.log_path.read_text().splitlines()
                if "task_id=trigger" in line and "state=deferred" in line and run_id in line]  # fmt: skip
    assert deferred, "the operator did not defer: the wait must run in A's triggerer"

    cleared = pair.a_api.post(
        f"{pair.a.url}/api/v2/dags/cross_trigger/clearTaskInstances",
        json={"dag_run_id": run_id, "task_ids": ["trigger"], "dry_run": False, "only_failed": False},
        timeout=10,
    )
    assert cleared.status_code == 200, cleared.text
    poll(lambda: pair.a_api.get(f"{pair.a.url}/api/v2/dags/cross_trigger/dagRuns/{run_id}/taskInstances/trigger",
                                 timeout=10).json()["try_number"] == 2, timeout=60, what="the retry")  # fmt: skip
    assert _wait_for_a_run(pair, run_id) == "success"
    assert [r["dag_run_id"] for r in _b_runs(pair, "target_success")] == [remote["dag_run_id"]]


def test_a_failing_remote_run_fails_the_operator_with_its_state(pair: Pair) -> None:
    _, state = _run_in_a(pair, {"target": "target_fail"})
    assert state == "failed"
    assert [r["state"] for r in _b_runs(pair, "target_fail")] == ["failed"]
    expected = "remote DAG run target_fail/astro_triggered__cross_trigger__"
    log = _log_with(pair.a, expected)
    assert "finished in state failed" in log


def test_a_wrong_token_fails_with_a_clear_401_naming_the_connection(pair: Pair) -> None:
    _, state = _run_in_a(pair, {"conn": "deployment_b_bad"})
    assert state == "failed"
    expected = "astro_deployment connection 'deployment_b_bad'"
    log = _log_with(pair.a, expected)
    assert "refused the token (HTTP 401)" in log
    assert "not-a-token" not in log and pair.b_token not in log


def test_the_trigger_serialises_and_resumes(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a triggerer restart does: rebuild the trigger from its serialised form and run it."""
    from astronomer_plugins.triggers.deployment_dag_run import DeploymentDagRunTrigger

    monkeypatch.setenv("AIRFLOW_CONN_DEPLOYMENT_B", json.dumps({"conn_type": "astro_deployment", "host": pair.b.url, "password": pair.b_token}))
    original = DeploymentDagRunTrigger(astro_conn_id="deployment_b", dag_id="target_success", poke_interval=0.5)
    classpath, kwargs = original.serialize()
    module, _, name = classpath.rpartition(".")
    resumed = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))

    async def first_event():  # noqa: ANN202
        async for event in resumed.run():
            return event.payload

    payload = asyncio.run(asyncio.wait_for(first_event(), timeout=60))
    assert payload["status"] == "success" and payload["state"] == "success"
    assert payload["url"].startswith(f"{pair.b.url}/dags/target_success/runs/")


def _triggerer_group(runtime: LocalRuntime) -> int:
    """The process group of the runtime's triggerer (the supervisor gives each component its own)."""
    home = f"AIRFLOW_HOME={runtime.home}".encode()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"triggerer" in argv[1:3] and home in environ and os.getpgid(int(entry.name)) == int(entry.name):
            return int(entry.name)
    raise AssertionError(f"no triggerer of {runtime.home} is running")


def _trigger_holder(runtime: LocalRuntime) -> int | None:
    """The job id of the triggerer that holds A's one deferred trigger (from A's metadata database)."""
    import sqlite3

    with sqlite3.connect(f"file:{runtime.home / 'airflow.db'}?mode=ro", uri=True, timeout=10) as db:
        row = db.execute(
            "SELECT trigger.triggerer_id FROM task_instance JOIN trigger ON trigger.id = task_instance.trigger_id "
            "WHERE task_instance.state = 'deferred'"
        ).fetchone()
    return row[0] if row else None


def test_a_lost_triggerer_hands_the_wait_to_another(pair: Pair, tmp_path: Path) -> None:
    """A's triggerer freezes (SIGSTOP, as a node that hangs) while it waits on B; a second triggerer
    takes the trigger over from its serialised form and finishes the wait."""
    release = tmp_path / "release"
    poll(lambda: pair.a_api.get(f"{pair.a.url}/api/v2/dags/cross_trigger", timeout=10).ok, timeout=120, what="A to parse its DAG")
    run_url = start_dag_run(pair.a_api, pair.a.url, "cross_trigger", {"target": "target_wait", "release_file": str(release)})
    run_id = run_url.rsplit("/", 1)[-1]
    ti_url = f"{pair.a.url}/api/v2/dags/cross_trigger/dagRuns/{run_id}/taskInstances/trigger"
    poll(lambda: pair.a_api.get(ti_url, timeout=10).json()["state"] == "deferred", timeout=120, what="the wait to defer")

    first, first_job = _triggerer_group(pair.a), poll(lambda: _trigger_holder(pair.a), timeout=60, what="a triggerer to pick the wait up")
    environment = dict(line.split("=", 1) for line in (Path("/proc") / str(first) / "environ").read_text().split("\0") if "=" in line)
    second_log = tmp_path / "second-triggerer.log"
    with second_log.open("w") as log:
        second = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "triggerer", "--skip-serve-logs"], env=environment,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    os.killpg(first, signal.SIGSTOP)
    try:
        poll(lambda: _trigger_holder(pair.a) not in (None, first_job), timeout=120, interval=1,
             what="the second triggerer to take the trigger over")  # fmt: skip
        assert _b_runs(pair, "target_wait")[0]["state"] == "running"  # still waiting on B: nothing finished early
        release.touch()
        assert _wait_for_a_run(pair, run_id) == "success"
    finally:
        os.killpg(first, signal.SIGCONT)
        stop_process_group(second)
    assert [r["state"] for r in _b_runs(pair, "target_wait")] == ["success"]  # one remote run, no duplicate
    assert pair.a_api.get(ti_url, timeout=10).json()["try_number"] == 1  # resumed, not retried
