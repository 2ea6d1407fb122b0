"""A throwaway redis-server for tests: 127.0.0.1 on a free port, no persistence, always stopped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import free_port, poll, stop_process_group

INSTALL_HINT = "redis-server is not installed: apt-get install redis-server (as .ci/run does)"


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """`redis-server` as a real process: no RDB snapshots, no AOF, nothing left on disk."""

    port: int = field(default_factory=free_port)
    top: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.top = Path(tempfile.mkdtemp(prefix="astro-redis-"))
        command = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.top)]
        log = (self.top / "redis.log").open("a")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        poll(lambda: self._alive() and _pong(self.port), timeout=30, interval=0.1, what="redis-server")
        return self

    def _alive(self) -> bool:
        assert self.process is not None and self.top is not None
        if self.process.poll() is not None:
            log = (self.top / "redis.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{log}")
        return True

    def stop(self) -> None:
        stop_process_group(self.process)
        if self.top is not None:
            shutil.rmtree(self.top, ignore_errors=True)
