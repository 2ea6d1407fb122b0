"""`astro-runtime control-plane serve` listens on loopback only, unless told its login is insecure."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_control_plane.settings import INSECURE_BIND_FLAG, UnsafeBindAddress, check_bind_address
from tests.support.servers import ControlPlaneServer


@pytest.mark.parametrize(
    ("host", "allowed_without_flag"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("10.0.0.5", False), ("example.com", False),
     ("127.0.0.1.example.com", False), ("", False)],
)  # fmt: skip
def test_only_loopback_without_the_flag(host: str, allowed_without_flag: bool) -> None:
    check_bind_address(host, insecure_public=True)  # the flag allows anything
    if allowed_without_flag:
        check_bind_address(host, insecure_public=False)
    else:
        with pytest.raises(UnsafeBindAddress, match=INSECURE_BIND_FLAG):
            check_bind_address(host, insecure_public=False)


@pytest.mark.integration
def test_serve_refuses_a_public_address_before_touching_anything(tmp_path: Path) -> None:
    result = ControlPlaneServer(tmp_path / "data").run("--host", "0.0.0.0", "serve")
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr and "--insecure-dev-login-on-public-address" in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.integration
def test_the_flag_lets_serve_past_the_check(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface: past our check, the bind itself fails, so the test
    # never listens beyond loopback.
    result = ControlPlaneServer(tmp_path / "data").run("--host", "192.0.2.1", "serve", "--insecure-dev-login-on-public-address")
    assert result.returncode != 0
    assert "refusing" not in result.stderr
    assert "WARNING: listening on 192.0.2.1 with a development login" in result.stderr
    assert "192.0.2.1" in result.stderr and "error while attempting to bind" in result.stderr.lower()


@pytest.mark.integration
def test_its_own_entry_point_serves_the_feed_file_it_is_given(tmp_path: Path) -> None:
    """`astro-control-plane` needs no catalog: the feed comes from --feed-file, checked against the
    plugin's wire model; without one the route says how to provide it."""
    import json
    import shutil
    import subprocess

    import requests

    from tests.support.servers import free_port, stop_process_group, wait_until_healthy

    feed = {"runtimeVersionsV3": {"9.9-1": {
        "metadata": {"airflowVersion": "9.9.0", "channel": "stable", "releaseDate": "2026-11-01",
                     "endOfMaintenance": "2027-05-31", "endOfBasicSupport": "2027-11-30", "LTS": False,
                     "yanked": False, "pythonVersions": ["3.11"], "defaultPythonVersion": "3.11"},
        "migrations": {"airflowDatabase": False},
    }}}
    feed_file = tmp_path / "feed.json"
    feed_file.write_text(json.dumps(feed))
    command = shutil.which("astro-control-plane") or str(Path(__import__("sys").executable).with_name("astro-control-plane"))
    for feed_args, expected in (([], 404), (["--feed-file", str(feed_file)], 200)):
        port = free_port()
        log = tmp_path / f"cp-{port}.log"
        with log.open("w") as out:
            process = subprocess.Popen([command, "--data-dir", str(tmp_path / "data"), "--port", str(port), *feed_args,
                                        "serve"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}/health", process, log)
            response = requests.get(f"http://127.0.0.1:{port}/v1/runtime-releases", timeout=10)
            assert response.status_code == expected, response.text
            if expected == 200:
                assert response.json() == feed
            else:
                assert "--feed-file" in response.json()["error"]["message"]
        finally:
            stop_process_group(process, timeout=10)


def test_seed_without_a_release_is_refused_by_its_own_entry_point(tmp_path: Path) -> None:
    from astronomer_control_plane.cli import main

    assert main(["--data-dir", str(tmp_path / "data"), "seed"]) == 2
