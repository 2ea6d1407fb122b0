"""API request cost under our auth manager vs Airflow's SimpleAuthManager, same run.

Two api-servers (one worker each) on the same database layout: one with SimpleAuthManager and its own
token, one with our manager and a control-plane API token. `GET /api/v2/dags?limit=1` is driven by
keep-alive connections in alternating rounds; the ratio compares requests/s (target >= 0.99).
Also the microseconds our token verification takes in-process, next to Airflow's own validator.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.control_plane import create_api_token, deployment_settings, make_tree
from tests.support.servers import AirflowApiServer, ControlPlaneServer

REPO = Path(__file__).resolve().parents[1]

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = 4
PATH = "/api/v2/dags?limit=1"


def drive(url: str, token: str, seconds: float) -> float:
    """Requests per second from CONNECTIONS keep-alive connections for `seconds`."""
    host = urlsplit(url)
    counts = [0] * CONNECTIONS
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}
        while time.perf_counter() < deadline:
            connection.request("GET", PATH, headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:  # a benchmark of refusals would measure nothing: say why, stop
                failures.append(f"{url}{PATH} answered {response.status}: {body[:300]!r}")
                break
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(failures[0])
    return sum(counts) / (time.perf_counter() - started)


def simple_token(server: AirflowApiServer) -> str:
    passwords = json.loads((server.home / "passwords.json").read_text())
    body = json.dumps({"username": "admin", "password": passwords["admin"]})
    host = urlsplit(server.url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    connection.request("POST", "/auth/token", body=body, headers={"Content-Type": "application/json"})
    return json.loads(connection.getresponse().read())["access_token"]


def verification_microseconds(ours: AirflowApiServer, token: str) -> tuple[float, float]:
    """In-process: our verifier on a control-plane token vs Airflow's validator on its own token."""
    os.environ.update(ours.env())
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    from astronomer_plugins.auth.manager import AstronomerAuthManager

    manager = AstronomerAuthManager()
    manager.context.sync_once()  # keys and revocations, as the api-server's background thread does
    verifier = manager.context.verifier
    airflow_token = SimpleAuthManager()._get_token_signer().generate({"sub": "admin", "role": "ADMIN"})
    validator = SimpleAuthManager._get_token_validator()

    def per_call(function, runs: int = 2000) -> float:
        function()
        started = time.perf_counter()
        for _ in range(runs):
            function()
        return (time.perf_counter() - started) / runs * 1e6

    ours = per_call(lambda: verifier.verify(token))
    airflows = per_call(lambda: validator.validated_claims(airflow_token))
    return ours, airflows


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as workdir:
        base = Path(workdir)
        control_plane = ControlPlaneServer(base / "cp").start()
        simple = AirflowApiServer(base / "simple", {})
        ours = AirflowApiServer(base / "ours", {})
        try:
            tree = make_tree(control_plane, "bench", base_url=ours.url)
            simple.environment = {
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(base / "simple" / "passwords.json"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            }
            ours.environment = {
                "AIRFLOW__CORE__AUTH_MANAGER": "astronomer_plugins.auth.manager.AstronomerAuthManager",
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                **deployment_settings(control_plane, tree),
            }
            simple.start()
            ours.start()
            _, cp_token = create_api_token(control_plane, tree, "workspace", "WORKSPACE_OPERATOR")
            tokens = {"simple": (simple.url, simple_token(simple)), "ours": (ours.url, cp_token)}
            for url, token in tokens.values():
                drive(url, token, 2)  # warm-up
            rates: dict[str, list[float]] = {"simple": [], "ours": []}
            for _ in range(ROUNDS):
                for name, (url, token) in tokens.items():
                    rates[name].append(drive(url, token, SECONDS))
            simple_rate, our_rate = statistics.median(rates["simple"]), statistics.median(rates["ours"])
            print(
                f"auth_requests: GET {PATH} median {simple_rate:.1f} req/s SimpleAuthManager, "
                f"{our_rate:.1f} req/s ours; ratio {our_rate / simple_rate:.3f} "
                f"(target >= 0.99; {ROUNDS} alternating rounds of {SECONDS:.0f} s)"
            )
            ours_us, airflow_us = verification_microseconds(ours, cp_token)
            print(
                f"auth_requests: token verification {ours_us:.0f} us (ours, RS256 + claims) "
                f"vs {airflow_us:.0f} us (Airflow's validator, HS512); "
                f"difference {ours_us - airflow_us:+.0f} us per request"
            )
        finally:
            simple.stop()
            ours.stop()
            control_plane.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
