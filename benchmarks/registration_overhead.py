"""Overhead of registration on the scheduler, and control-plane requests per component per hour.

A real scheduler runs against the real reference control plane, alternately with registration off
(the baseline), on at the default heartbeat interval (30 s), and on at 1 s (a stress case, 30 times
the default traffic). Airflow times every scheduler loop (`scheduler.scheduler_loop_duration`, sent
over statsd to a UDP socket of this script); the medians of the variants are compared as ratios,
all measured in this one run. The metrics push is off in every variant so that only registration
differs. Control-plane requests are counted in the control plane's access log for each run.
Target (issue 5): loop-duration ratio <= 1.01 at the default interval.

Runs: one unmeasured warm-up, then BENCH_ROUNDS rounds (default 3) of the three variants, in an order
rotated each round; BENCH_WINDOW seconds (default 20) are measured per run.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.control_plane import deployment_settings as connect
from tests.support.control_plane import make_tree
from tests.support.servers import ControlPlaneServer

REPO = Path(__file__).resolve().parents[1]

BENCH_DIR = REPO / ".bench" / "registration_overhead"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WINDOW = float(os.environ.get("BENCH_WINDOW", "20"))
WARMUP = 8.0  # seconds after start that are not measured (start-up, first registration)
TARGET = 1.01
DEFAULT_INTERVAL = 30
STRESS_INTERVAL = 1
LOOP_METRIC = re.compile(rb"^airflow\.scheduler\.scheduler_loop_duration:([0-9.]+)\|ms", re.MULTILINE)
VARIANTS = {
    "off": {"AIRFLOW__ASTRONOMER__REGISTRATION_ENABLED": "False"},
    f"on ({DEFAULT_INTERVAL} s)": {"AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL": str(DEFAULT_INTERVAL)},
    f"on ({STRESS_INTERVAL} s)": {"AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL": str(STRESS_INTERVAL)},
}


def deployment_settings(control_plane: ControlPlaneServer) -> dict[str, str]:
    """A fresh organization, workspace and deployment, as the [astronomer] settings of its Airflow."""
    return connect(control_plane, make_tree(control_plane, f"bench-{time.time_ns()}"))


class LoopTimes:
    """Receives Airflow's statsd packets and keeps the scheduler loop durations (ms)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                packet = self.sock.recv(65535)
            except TimeoutError:
                continue
            for match in LOOP_METRIC.finditer(packet):
                self.samples.append((time.monotonic(), float(match.group(1))))

    def close(self) -> list[tuple[float, float]]:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return self.samples


def prepare_airflow(env: dict[str, str]) -> None:
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)


def run_scheduler(env: dict[str, str], log_path: Path) -> tuple[list[float], float]:
    """One scheduler run: loop durations (ms) inside the measurement window, and the run's seconds."""
    loops = LoopTimes()
    run_env = {**env, "AIRFLOW__METRICS__STATSD_PORT": str(loops.port)}
    started = time.monotonic()
    command = [AIRFLOW, "scheduler", "--skip-serve-logs"]
    with log_path.open("a") as log:
        process = subprocess.Popen(
            command, env=run_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        window_start = started + WARMUP
        while time.monotonic() < window_start + WINDOW:
            if process.poll() is not None:
                raise SystemExit(f"the scheduler exited with {process.returncode}; see {log_path}")
            time.sleep(0.5)
        window_end = time.monotonic()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    samples = [ms for at, ms in loops.close() if window_start <= at <= window_end]
    return samples, time.monotonic() - started


def count_agent_requests(log_text: str, deployment_id: str) -> dict[str, int]:
    counts = {"PUT": 0, "heartbeat": 0, "DELETE": 0}
    request = rf'"(PUT|POST|DELETE) /v1/deployments/{deployment_id}/components/[^ /"]+(/heartbeat)?'
    for method, suffix in re.findall(request, log_text):
        counts["heartbeat" if suffix else method] += 1
    return counts


def main() -> int:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    run_dir = BENCH_DIR / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir()
    from astronomer_runtime.local.home import LocalHome, environment, prepare

    control_plane = ControlPlaneServer(run_dir / "control-plane").start()
    try:
        home = LocalHome(path=run_dir / "airflow", project=REPO)
        prepare(home)
        base_env = environment(home, runtime_version="3.3-2", parallelism=4)
        base_env = {k: v for k, v in base_env.items() if not k.startswith("AIRFLOW__ASTRONOMER__")}
        base_env.update(
            {
                **deployment_settings(control_plane),
                "AIRFLOW__ASTRONOMER__RUNTIME_VERSION": "3.3-2",
                "AIRFLOW__ASTRONOMER__METRICS_PUSH_ENABLED": "False",
                "AIRFLOW__METRICS__STATSD_ON": "True",
                "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
                "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.05",  # more loops per second to compare
            }
        )
        prepare_airflow(base_env)
        deployment_id = base_env["AIRFLOW__ASTRONOMER__DEPLOYMENT_ID"]
        loops: dict[str, list[float]] = {name: [] for name in VARIANTS}
        per_round: dict[str, list[float]] = {name: [] for name in VARIANTS}
        requests: dict[str, list[tuple[dict[str, int], float]]] = {name: [] for name in VARIANTS}
        run_scheduler(base_env, run_dir / "scheduler.log")  # warm-up: page cache, bytecode, first DB use
        names = list(VARIANTS)
        for round_number in range(ROUNDS):
            for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
                overrides = VARIANTS[name]
                offset = control_plane.log_path.stat().st_size
                samples, seconds = run_scheduler({**base_env, **overrides}, run_dir / "scheduler.log")
                with control_plane.log_path.open() as log:
                    log.seek(offset)
                    requests[name].append((count_agent_requests(log.read(), deployment_id), seconds))
                loops[name].extend(samples)
                median = statistics.median(samples)
                per_round[name].append(median)
                print(
                    f"  round {round_number + 1} {name:<10} {len(samples):4d} loops, median {median:6.2f} ms",
                    flush=True,
                )
    finally:
        control_plane.stop()

    baseline = statistics.median(loops["off"])
    print(
        f"registration_overhead: scheduler loop duration, {ROUNDS} rounds of the variants (rotated order), "
        f"{WINDOW:.0f} s measured per run"
    )
    for name in VARIANTS:
        median = statistics.median(loops[name])
        ratios = [m / b for m, b in zip(per_round[name], per_round["off"], strict=True)]
        rounds = ", ".join(f"{r:.3f}" for r in ratios)
        target = f" (target <= {TARGET})" if name == f"on ({DEFAULT_INTERVAL} s)" else ""
        print(
            f"  {name:<10} median {median:6.2f} ms over {len(loops[name]):5d} loops, "
            f"ratio {median / baseline:.3f}{target}; "
            f"per-round ratios {rounds} (median {statistics.median(ratios):.3f})"
        )
    print("registration_overhead: control-plane requests per scheduler (from the control plane's access log)")
    for name in list(VARIANTS)[1:]:
        totals = {key: sum(c[key] for c, _ in requests[name]) for key in ("PUT", "heartbeat", "DELETE")}
        seconds = sum(s for _, s in requests[name])
        per_hour = totals["heartbeat"] / seconds * 3600
        print(
            f"  {name:<10} {len(requests[name])} runs, {seconds:.0f} s: {totals['PUT']} PUT, "
            f"{totals['heartbeat']} heartbeats, {totals['DELETE']} DELETE -> {per_hour:.0f} heartbeats/hour "
            "(whole runs, start-up included)"
        )
    stress_seconds = sum(s for _, s in requests[f"on ({STRESS_INTERVAL} s)"])
    stress_beats = sum(c["heartbeat"] for c, _ in requests[f"on ({STRESS_INTERVAL} s)"])
    scaled = stress_beats / stress_seconds * 3600 * STRESS_INTERVAL / DEFAULT_INTERVAL
    print(
        f"  at the default interval ({DEFAULT_INTERVAL} s): {3600 // DEFAULT_INTERVAL} heartbeats/hour "
        f"expected (+1 PUT per start, +1 DELETE per clean stop); the {STRESS_INTERVAL} s runs scaled: "
        f"{scaled:.0f}/hour"
    )
    print(f"  runs and logs: {run_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
