"""Etsy's statsd daemon (npm `statsd`) as a real process for tests, read through its output.

`.ci/run` installs it into .local/statsd (`npm install --prefix .local/statsd statsd@0.9.0`);
STATSD_DAEMON_DIR points elsewhere. It listens on 127.0.0.1 only, logs every received line
(dumpMessages) and a JSON backend (statsd_json_backend.js) appends each flush's aggregates.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.servers import free_port, stop_process_group

REPO = Path(__file__).resolve().parents[3]
BACKEND = Path(__file__).with_name("statsd_json_backend.js")


def statsd_entrypoint() -> Path:
    base = Path(os.environ.get("STATSD_DAEMON_DIR", REPO / ".local" / "statsd"))
    return base / "node_modules" / "statsd" / "stats.js"


def require_statsd() -> Path:
    entry = statsd_entrypoint()
    if shutil.which("node") and entry.exists():
        return entry
    pytest.fail(
        f"statsd daemon not installed ({entry}); install it as .ci/run does: "
        "npm install --prefix .local/statsd statsd@0.9.0 (Node.js and npm from Debian: apt-get install nodejs npm)"
    )


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StatsdDaemon:
    workdir: Path
    port: int = field(default_factory=_free_udp_port)
    mgmt_port: int = field(default_factory=free_port)
    flush_ms: int = 500
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "statsd.log"

    @property
    def flushes_path(self) -> Path:
        return self.workdir / "flushes.jsonl"

    def start(self) -> StatsdDaemon:
        entry = require_statsd()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.js"
        config.write_text("module.exports = " + json.dumps({
            "address": "127.0.0.1", "port": self.port, "mgmt_address": "127.0.0.1", "mgmt_port": self.mgmt_port,
            "flushInterval": self.flush_ms, "dumpMessages": True, "backends": [str(BACKEND)],
            "jsonBackendPath": str(self.flushes_path), "deleteIdleStats": True,
        }) + ";\n")  # fmt: skip
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(["node", str(entry), str(config)], stdout=log, stderr=subprocess.STDOUT,
                                            cwd=entry.parent, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"statsd exited: {self.log_path.read_text()[-2000:]}")
            if self.flushes_path.exists():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"statsd did not flush within 20s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        stop_process_group(self.process)

    def received_lines(self) -> list[str]:
        """Every line statsd logged as received (dumpMessages: `<date> - DEBUG: <line>`)."""
        lines = []
        for entry in self.log_path.read_text(errors="replace").splitlines():
            if " - DEBUG: " in entry:
                lines.append(entry.split(" - DEBUG: ", 1)[1])
        return lines

    def counters(self) -> dict[str, float]:
        """Counter totals over every flush so far, by statsd key (`name;tag=value;...`)."""
        totals: dict[str, float] = {}
        if self.flushes_path.exists():
            for line in self.flushes_path.read_text().splitlines():
                for key, value in json.loads(line)["counters"].items():
                    totals[key] = totals.get(key, 0) + value
        return totals
