"""`astro-runtime` as a real process for these tests, and the browser's part of a login."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.control_plane import pick_user
from tests.support.servers import ControlPlaneServer

REPO = Path(__file__).resolve().parents[3]


def cli_env(config_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTRO_RUNTIME_")}
    return {**env, "XDG_CONFIG_HOME": str(config_home), **extra}


def run_cli(
    config_home: Path, *args: str, timeout: float = 180, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astronomer_runtime", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=cli_env(config_home, **extra),
    )


def start_login(config_home: Path, url: str, *extra_args: str) -> tuple[subprocess.Popen[str], str]:
    """`astro-runtime login URL --no-browser` running, and the authorize URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "astronomer_runtime", "login", url, "--no-browser", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=cli_env(config_home),
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.strip().startswith(f"{url}/authorize?"):
            return process, line.strip()
    process.kill()
    raise AssertionError(f"no authorize URL printed; stderr so far: {''.join(lines)}")


def browser(server: ControlPlaneServer, authorize_url: str, user_id: str) -> requests.Response:
    """What the browser does: the picker, then the redirect back to the command's loopback listener."""
    location = pick_user(server, authorize_url, user_id)
    return requests.get(location, timeout=30, allow_redirects=False)


def log_in(config_home: Path, server: ControlPlaneServer, user_id: str) -> None:
    """A finished browser login of `user_id` kept in `config_home`."""
    process, authorize_url = start_login(config_home, server.url)
    assert browser(server, authorize_url, user_id).status_code == 200
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
