"""A throwaway PostgreSQL 15 server for tests: initdb in a temporary directory, 127.0.0.1 on a free
port, its unix socket in that directory, always stopped and removed. One per test session is
enough (CPU is scarce); each user takes its own database with `create_database`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import free_port, poll, stop_process_group

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INSTALL_HINT = "PostgreSQL 15 is not installed: apt-get install postgresql (as .ci/run does)"


def _as_postgres(*argv: str) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` user the Debian package creates."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


@dataclass
class PostgresServer:
    """`postgres` as a real process; superuser `postgres`, trust authentication on loopback only."""

    port: int = field(default_factory=free_port)
    top: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        assert self.top is not None, "start() the server first"
        return self.top / "data"

    def start(self) -> PostgresServer:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(INSTALL_HINT)
        # Not under pytest's tmp_path: that is private to root, and PostgreSQL refuses to run as root.
        self.top = Path(tempfile.mkdtemp(prefix="astro-pg-"))
        self.top.chmod(0o755)
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
        init = subprocess.run(_as_postgres(*initdb), capture_output=True, text=True, timeout=120)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stderr[-3000:]}")
        # No fsync: a test database that a crash loses costs nothing, and fsync costs seconds here.
        server = [str(PG_BIN / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port)]
        server += ["-k", str(self.data), "-c", "fsync=off", "-c", "max_connections=200"]
        log = (self.top / "postgres.log").open("a")
        self.process = subprocess.Popen(
            _as_postgres(*server), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        ready = [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)]
        poll(
            lambda: self._alive() and subprocess.run(ready, capture_output=True).returncode == 0,
            timeout=30,
            interval=0.2,
            what="PostgreSQL to accept connections",
        )
        return self

    def _alive(self) -> bool:
        assert self.process is not None and self.top is not None
        if self.process.poll() is not None:
            log = (self.top / "postgres.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{log}")
        return True

    def create_database(self, name: str, template: str = "") -> str:
        """A new database (name made safe), empty or a copy of `template`; its SQLAlchemy URL
        (psycopg2 driver). A template saves a second `airflow db migrate`."""
        safe = re.sub(r"[^a-z0-9_]", "_", name.lower())[:60]
        createdb = [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", safe]
        createdb += ["-T", template] if template else []
        create = subprocess.run(createdb, capture_output=True, text=True, timeout=30)
        if create.returncode != 0:
            raise RuntimeError(f"createdb {safe} failed: {create.stderr.strip()}")
        return self.url(safe)

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        stop_process_group(self.process)
        if self.top is not None:
            shutil.rmtree(self.top, ignore_errors=True)
