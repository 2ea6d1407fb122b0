"""The image's entrypoint scripts for every role, run on the host against a real PostgreSQL and Redis.

astro-entrypoint, astro-wait-for-db and astro-migrate-db run as the image runs them, but with this
checkout's venv: a bin folder of wrappers puts the repository's scripts on PATH under their image
names (their shebang names the image's venv, absent here), AIRFLOW_CONFIG is the image's airflow.cfg
and the environment starts empty. No container: image builds are slow, and buildah containers share
this machine's network anyway (tests/runtime/image/test_entrypoint.py covers the image itself).
"""

from __future__ import annotations

import fcntl
import functools
import importlib.machinery
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text

from astronomer_runtime.paths import REPO_ROOT
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.servers import free_port, poll

pytestmark = pytest.mark.integration

ROOTFS = REPO_ROOT / "runtime" / "image" / "rootfs"
SCRIPTS = ROOTFS / "usr" / "local" / "bin"
PYTHON_SCRIPTS = ("astro-wait-for-db", "astro-migrate-db")
VENV_BIN = Path(sys.executable).parent
AIRFLOW_HEAD = "d2f4e1b3c5a7"  # airflow.utils.db._REVISION_HEADS_MAP["3.3.0"]; 3.3.2 adds no migration
SECRET = "s3cr3t-pw-77c1"
LOCK_KEY = int.from_bytes(b"astromig", "big")  # astro-migrate-db's advisory lock key


@dataclass
class Host:
    """Runs the entrypoint with the image's layout of scripts and config, on this machine."""

    bin: Path
    home: Path

    def env(self, **settings: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{VENV_BIN}:/usr/bin:/bin",
            "HOME": str(self.home),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW_CONFIG": str(ROOTFS / "etc" / "astronomer" / "airflow.cfg"),
            "LANG": "C.UTF-8",
            "ASTRONOMER_DB_WAIT_TIMEOUT": "10",
            **settings,
        }

    def argv(self, *command: str) -> list[str]:
        return ["bash", str(SCRIPTS / "astro-entrypoint"), *command]

    def run(self, *command: str, timeout: float = 120, **settings: str) -> subprocess.CompletedProcess[str]:
        argv, env = self.argv(*command), self.env(**settings)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=self.home)

    def start(
        self, log: Path, *command: str, new_session: bool = False, **settings: str
    ) -> subprocess.Popen[bytes]:
        """The entrypoint in the background, stdout and stderr into `log` (in its own process group with
        `new_session`, so a test can always clean up whatever it started)."""
        with log.open("wb") as output:
            return subprocess.Popen(
                self.argv(*command),
                env=self.env(**settings),
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=new_session,
            )


@pytest.fixture
def host(tmp_path: Path) -> Host:
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    for name in PYTHON_SCRIPTS:
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SCRIPTS / name}" "$@"\n')
        wrapper.chmod(0o755)
    return Host(bin_dir, home)


@functools.cache
def _script(name: str) -> ModuleType:
    """An image script (no .py suffix) imported as a module, for its pure functions."""
    loader = importlib.machinery.SourceFileLoader(
        f"image_script_{name.replace('-', '_')}", str(SCRIPTS / name)
    )
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# Which commands wait for what.


@pytest.mark.parametrize(
    ("command", "executor", "expected"),
    [
        (["airflow", "celery", "worker"], "LocalExecutor", True),
        (["airflow", "celery", "worker", "--queues", "etl"], "CeleryExecutor", True),
        (["airflow", "scheduler"], "CeleryExecutor", True),
        (["airflow", "scheduler"], "airflow.providers.celery.executors.celery_executor.CeleryExecutor", True),
        (["airflow", "scheduler"], "KubernetesExecutor,CeleryExecutor", True),
        (["airflow", "scheduler"], "LocalExecutor", False),
        (["airflow", "scheduler"], "KubernetesExecutor", False),
        (["airflow", "api-server"], "CeleryExecutor", False),
        (["airflow", "dag-processor"], "CeleryExecutor", False),
        (["airflow", "triggerer"], "CeleryExecutor", False),
        (["bash", "-c", "airflow celery worker"], "CeleryExecutor", False),
        ([], "CeleryExecutor", False),
    ],
)
def test_which_commands_wait_for_the_broker(command: list[str], executor: str, expected: bool) -> None:
    assert _script("astro-wait-for-db").needs_broker(command, executor) is expected


BROKER_URLS = [
    ("redis://redis:6379/0", "redis://redis:6379/0", (("redis", 6379),)),
    (f"redis://:{SECRET}@redis.svc/1", "redis://redis.svc:6379/1", (("redis.svc", 6379),)),
    (
        f"rediss://u:{SECRET}@cache.example.com:6380/0",
        "rediss://cache.example.com:6380/0",
        (("cache.example.com", 6380),),
    ),
    (f"amqp://guest:{SECRET}@rabbit//", "amqp://rabbit:5672//", (("rabbit", 5672),)),
    (
        "sentinel://s1:26379;sentinel://s2:26380",
        "sentinel://s1:26379 or sentinel://s2:26380",
        (("s1", 26379), ("s2", 26380)),
    ),
    (f"sqla+postgresql://airflow:{SECRET}@pg/celery", "sqla+postgresql://pg:5432/celery", (("pg", 5432),)),
]


@pytest.mark.parametrize(("url", "where", "addresses"), BROKER_URLS)
def test_broker_urls_become_addresses_without_credentials(url: str, where: str, addresses: tuple) -> None:
    target = _script("astro-wait-for-db").broker_target(url)
    assert (target.where, target.addresses) == (where, addresses)
    assert SECRET not in repr(target)


@pytest.mark.parametrize("url", ["sqs://", "memory://", "redis+socket:///run/redis.sock", ""])
def test_brokers_without_a_tcp_address_are_not_waited_for(url: str) -> None:
    assert _script("astro-wait-for-db").broker_target(url) is None


# ---------------------------------------------------------------------------------------------
# The wait, against the real servers.


@pytest.fixture
def database_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database; the URL carries a password (trust auth ignores it) that must never show."""
    url = postgres_server.create_database(f"ep_{request.node.name}")
    return url.replace("postgres@", f"postgres:{SECRET}@")


def test_celery_worker_waits_for_the_broker_and_names_it_without_credentials(
    host: Host, database_url: str
) -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = host.run(
        "airflow",
        "celery",
        "worker",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url,
        AIRFLOW__CELERY__BROKER_URL=f"redis://:{SECRET}@127.0.0.1:{port}/0",
        ASTRONOMER_DB_WAIT_TIMEOUT="2",
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"waiting up to 2 s for the Celery broker at redis://127.0.0.1:{port}/0" in output
    assert f"the Celery broker at redis://127.0.0.1:{port}/0 did not accept connections within 2 s" in output
    assert "AIRFLOW__CELERY__BROKER_URL" in output and "ASTRONOMER_DB_WAIT_TIMEOUT" in output
    assert "metadata database" not in output  # the database answered: no wait, no message
    assert SECRET not in output
    assert elapsed < 60, elapsed  # 2 s of waiting plus Python starts, never the default 60 s


def test_the_broker_url_cmd_form_is_read_and_never_echoed(host: Host, database_url: str) -> None:
    port = free_port()
    result = host.run(
        "airflow",
        "celery",
        "worker",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url,
        AIRFLOW__CELERY__BROKER_URL_CMD=f"echo redis://:{SECRET}@127.0.0.1:{port}/3",
        ASTRONOMER_DB_WAIT_TIMEOUT="1",
    )
    assert result.returncode == 1
    assert (
        f"the Celery broker at redis://127.0.0.1:{port}/3 did not accept connections within 1 s"
        in result.stderr
    )
    assert SECRET not in result.stdout + result.stderr


def test_an_unreachable_database_is_named_before_the_broker(host: Host, redis_server: RedisServer) -> None:
    port = free_port()
    result = host.run(
        "airflow",
        "celery",
        "worker",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql://airflow:{SECRET}@127.0.0.1:{port}/airflow",
        AIRFLOW__CELERY__BROKER_URL=redis_server.url,
        ASTRONOMER_DB_WAIT_TIMEOUT="1",
    )
    assert result.returncode == 1
    where = f"postgresql://127.0.0.1:{port}/airflow"
    assert f"the metadata database at {where} did not accept connections within 1 s" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_a_celery_worker_starts_once_database_and_broker_answer_and_stops_warm(
    host: Host, tmp_path: Path, database_url: str, redis_server: RedisServer
) -> None:
    """`airflow celery worker` through the entrypoint with the image's airflow.cfg: no wait message,
    the worker consumes its queue, and SIGTERM (what Kubernetes sends) ends it with a warm shutdown."""
    log = tmp_path / "worker.log"
    worker = host.start(
        log,
        "airflow",
        "celery",
        "worker",
        "--concurrency",
        "1",
        "--queues",
        "entrypoint-test",
        "--skip-serve-logs",
        new_session=True,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url,
        AIRFLOW__CELERY__BROKER_URL=redis_server.url,
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
    )
    try:
        poll(
            lambda: worker.poll() is None and " ready." in log.read_text(errors="replace"),
            timeout=180,
            interval=0.5,
            what="the Celery worker to be ready",
        )
        worker.send_signal(signal.SIGTERM)  # to the exec'd airflow process, as tini forwards it
        assert worker.wait(timeout=60) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    output = log.read_text(errors="replace")
    assert "waiting" not in output
    assert "entrypoint-test" in output and "Warm shutdown" in output
    assert SECRET not in output


# ---------------------------------------------------------------------------------------------
# _AIRFLOW_DB_MIGRATE=true in several containers at once.


def _alembic_versions(url: str) -> list[str]:
    engine = create_engine(url.replace(f":{SECRET}", ""))
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


@pytest.fixture
def held_postgres_lock(database_url: str) -> Iterator[callable]:
    """The migration lock, taken by the test before any container starts; call the result to release it."""
    engine = create_engine(database_url.replace(f":{SECRET}", ""))
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    assert connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()

    def release() -> None:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})

    try:
        yield release
    finally:
        connection.close()
        engine.dispose()


def _waiting_for_advisory_lock(url: str) -> int:
    engine = create_engine(url.replace(f":{SECRET}", ""))
    try:
        with engine.connect() as connection:
            query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            return connection.execute(text(query)).scalar_one()
    finally:
        engine.dispose()


def _finish(processes: list[subprocess.Popen[bytes]], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=max(1.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
    return codes


def test_concurrent_starts_on_postgresql_migrate_exactly_once(
    host: Host, tmp_path: Path, database_url: str, held_postgres_lock
) -> None:
    """Three containers start with _AIRFLOW_DB_MIGRATE=true while the lock is held: all three wait on
    it; once released, one migrates and the other two find the database at head and start."""
    logs = [tmp_path / f"container-{n}.log" for n in range(3)]
    settings = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url, "_AIRFLOW_DB_MIGRATE": "true"}
    processes = [host.start(log, "bash", "-c", "echo role-started", **settings) for log in logs]
    try:
        poll(
            lambda: _waiting_for_advisory_lock(database_url) == 3,
            timeout=120,
            interval=0.5,
            what="three containers waiting for the migration lock",
        )
        held_postgres_lock()
        codes = _finish(processes, timeout=600)
    finally:
        for process in processes:
            process.kill()
    outputs = [log.read_text(errors="replace") for log in logs]
    assert codes == [0, 0, 0], outputs
    migrated = [
        out
        for out in outputs
        if "running airflow db migrate (this container holds the migration lock)" in out
    ]
    skipped = [out for out in outputs if "is already at this Airflow's head revision: not migrating" in out]
    assert (len(migrated), len(skipped)) == (1, 2), outputs
    assert all("another container is migrating" in out and "role-started" in out for out in outputs), outputs
    assert all(SECRET not in out for out in outputs)
    assert _alembic_versions(database_url) == [AIRFLOW_HEAD]


def test_a_migrated_database_is_not_migrated_again(host: Host, database_url: str) -> None:
    settings = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url, "_AIRFLOW_DB_MIGRATE": "true"}
    first = host.run("true", timeout=600, **settings)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "running airflow db migrate" in first.stderr
    second = host.run("true", timeout=600, **settings)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "running airflow db migrate" not in second.stderr
    assert "already at this Airflow's head revision" in second.stderr


def test_a_lock_held_too_long_fails_clearly(host: Host, database_url: str, held_postgres_lock) -> None:
    result = host.run(
        "true",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url,
        _AIRFLOW_DB_MIGRATE="true",
        ASTRONOMER_DB_MIGRATE_TIMEOUT="2",
    )
    assert result.returncode == 1
    name = database_url.rsplit("/", 1)[1]
    port = database_url.rsplit(":", 1)[1].split("/")[0]
    expected = f"the migration lock on postgresql://127.0.0.1:{port}/{name} was not released within 2 s"
    assert expected in result.stderr
    assert "ASTRONOMER_DB_MIGRATE_TIMEOUT" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_concurrent_starts_on_sqlite_migrate_exactly_once(host: Host, tmp_path: Path) -> None:
    """The same on SQLite, where the lock is an flock on a file next to the database."""
    database = tmp_path / "airflow.db"
    lock_path = Path(f"{database}.migrate-lock")
    logs = [tmp_path / f"container-{n}.log" for n in range(2)]
    settings = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{database}", "_AIRFLOW_DB_MIGRATE": "true"}
    with lock_path.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        processes = [host.start(log, "bash", "-c", "echo role-started", **settings) for log in logs]
        try:
            poll(
                lambda: all(
                    "another process is migrating" in log.read_text(errors="replace") for log in logs
                ),
                timeout=120,
                interval=0.5,
                what="both starts waiting for the migration lock",
            )
        except BaseException:
            for process in processes:
                process.kill()
            raise
        fcntl.flock(held, fcntl.LOCK_UN)
    try:
        codes = _finish(processes, timeout=600)
    finally:
        for process in processes:
            process.kill()
    outputs = [log.read_text(errors="replace") for log in logs]
    assert codes == [0, 0], outputs
    assert sum("running airflow db migrate" in out for out in outputs) == 1, outputs
    assert sum("already at this Airflow's head revision" in out for out in outputs) == 1, outputs
    assert all("role-started" in out for out in outputs)
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == AIRFLOW_HEAD
        )
    engine.dispose()


def test_the_image_ships_the_scripts_executable() -> None:
    """The Dockerfile makes them executable (a checkout on Windows loses the mode)."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for name in ("astro-entrypoint", *PYTHON_SCRIPTS):
        assert os.access(SCRIPTS / name, os.X_OK), name
        assert f"/usr/local/bin/{name}" in dockerfile, name
