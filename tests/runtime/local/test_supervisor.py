"""The supervisor with real processes: prefixed output, exits noticed, nothing left behind."""

from __future__ import annotations

import io
import time

from astronomer_runtime.local.supervisor import MARKER_VARIABLE, Component, Supervisor, processes_with_env


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_output_is_prefixed_and_exit_codes_returned() -> None:
    output = io.StringIO()
    supervisor = Supervisor(environment={"PATH": "/usr/bin:/bin"}, output=output)
    assert supervisor.run_once(Component("hello", ["sh", "-c", "echo one; echo two; exit 3"])) == 3
    assert _wait_for(lambda: "two" in output.getvalue())
    assert output.getvalue().splitlines() == ["         hello | one", "         hello | two"]


def test_stop_leaves_no_process_behind() -> None:
    supervisor = Supervisor(environment={"PATH": "/usr/bin:/bin"}, output=io.StringIO())
    supervisor.start(
        [
            Component("children", ["sh", "-c", "sleep 300 & sleep 300 & wait"]),
            Component("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait; sleep 300"]),
            Component("escaper", ["sh", "-c", "setsid sleep 300 & wait"]),
        ]
    )
    assert _wait_for(lambda: len(processes_with_env(MARKER_VARIABLE, supervisor.supervisor_id)) >= 7)
    started = time.monotonic()
    supervisor.stop(grace=1.0)
    assert time.monotonic() - started < 5
    assert processes_with_env(MARKER_VARIABLE, supervisor.supervisor_id) == []


def test_first_exited_reports_a_dead_component() -> None:
    supervisor = Supervisor(environment={"PATH": "/usr/bin:/bin"}, output=io.StringIO())
    supervisor.start([Component("short", ["sh", "-c", "exit 7"]), Component("long", ["sleep", "300"])])
    try:
        assert _wait_for(lambda: supervisor.first_exited() is not None)
        assert supervisor.first_exited() == ("short", 7)
    finally:
        supervisor.stop(grace=1.0)


def test_components_marked_stop_last_stop_after_the_others(tmp_path) -> None:  # noqa: ANN001
    order = tmp_path / "order"
    supervisor = Supervisor(environment={"PATH": "/usr/bin:/bin"}, output=io.StringIO())
    supervisor.start(
        [
            Component("control-plane", ["sh", "-c", f"trap 'echo last >> {order}; exit 0' TERM; "
                                    f"touch {tmp_path}/ready-cp; while :; do sleep 0.1; done"], stop_last=True),
            Component("airflow", ["sh", "-c", f"trap 'sleep 1; echo first >> {order}; exit 0' TERM; "
                                  f"touch {tmp_path}/ready-af; while :; do sleep 0.1; done"]),
        ]
    )  # fmt: skip
    assert _wait_for(lambda: (tmp_path / "ready-cp").exists() and (tmp_path / "ready-af").exists())
    supervisor.stop(grace=5.0)
    assert order.read_text().split() == ["first", "last"]
