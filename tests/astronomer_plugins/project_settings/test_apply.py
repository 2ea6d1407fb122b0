"""airflow_settings.yaml applied to a real (sqlite) Airflow database through the CLI the image and
the local runtime use: rows created, re-applying writes nothing, a change updates, and a bad entry
or a database error applies nothing. Each test runs the CLI in a process of its own (Airflow's
settings are process-global) on a copy of a database migrated once for this module."""

from __future__ import annotations

import configparser
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.astronomer_plugins.registration.airflow_stack import migrated_database

pytestmark = pytest.mark.integration

PASSWORD = "pw-never-logged-7731"
EXTRA_SECRET = "extra-never-logged-5120"
VARIABLE_VALUE = "variable-never-logged-9043"
SECRETS = (PASSWORD, EXTRA_SECRET, VARIABLE_VALUE)

SETTINGS = f"""
airflow:
  connections:
    - conn_id: warehouse
      conn_type: postgres
      conn_host: db.example.com
      conn_schema: analytics
      conn_login: loader
      conn_password: {PASSWORD}
      conn_port: 5432
      conn_extra:
        sslmode: require
        api_key: {EXTRA_SECRET}
      conn_description: the warehouse
    - conn_id: api
      conn_type: http
      conn_extra: '{{"timeout": 10, "verify": false}}'
  variables:
    - variable_name: api_token
      variable_value: {VARIABLE_VALUE}
  pools:
    - pool_name: api_calls
      pool_slot: 3
      pool_description: rate-limited API
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AIRFLOW_HOME (airflow.cfg with its fernet key, airflow.db) migrated once for the module."""
    return migrated_database(tmp_path_factory.mktemp("project-settings")).parent


@pytest.fixture
def home(migrated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    copy.mkdir()
    for name in ("airflow.cfg", "airflow.db"):
        shutil.copy(migrated / name, copy / name)
    return copy


def _apply(home: Path, settings: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env["AIRFLOW_HOME"] = str(home)
    command = [sys.executable, "-m", "astronomer_plugins.project_settings", "apply", str(settings)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    return result


def _rows(home: Path) -> dict[str, list[tuple]]:
    """Every stored column, encrypted ones as stored (so a rewrite shows as a new ciphertext)."""
    with sqlite3.connect(home / "airflow.db") as db:
        return {
            "connection": db.execute(
                "SELECT id, conn_id, conn_type, description, host, schema, login, password, port, extra "
                "FROM connection ORDER BY conn_id"
            ).fetchall(),
            "variable": db.execute("SELECT id, key, val, description FROM variable ORDER BY key").fetchall(),
            "slot_pool": db.execute(
                "SELECT id, pool, slots, description FROM slot_pool ORDER BY pool"
            ).fetchall(),
        }


def _decrypt(home: Path, token: str) -> str:
    config = configparser.ConfigParser(interpolation=None)
    config.read(home / "airflow.cfg")
    return Fernet(config["core"]["fernet_key"].encode()).decrypt(token.encode()).decode()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(text)
    return path


def test_apply_creates_every_field_and_reapplying_writes_nothing(home: Path, tmp_path: Path) -> None:
    settings = _write(tmp_path, SETTINGS)
    first = _apply(home, settings)
    assert first.returncode == 0, first.stderr
    assert "connections: 2 created, 0 updated, 0 unchanged; variables: 1 created" in first.stdout
    rows = _rows(home)
    api, warehouse = rows["connection"]
    assert warehouse[1:7] == (
        "warehouse",
        "postgres",
        "the warehouse",
        "db.example.com",
        "analytics",
        "loader",
    )
    assert (_decrypt(home, warehouse[7]), warehouse[8]) == (PASSWORD, 5432)
    assert _decrypt(home, warehouse[9]) == f'{{"sslmode": "require", "api_key": "{EXTRA_SECRET}"}}'
    assert (api[1], api[2], _decrypt(home, api[9])) == ("api", "http", '{"timeout": 10, "verify": false}')
    ((_, key, value, _),) = rows["variable"]
    assert (key, _decrypt(home, value)) == ("api_token", VARIABLE_VALUE)
    assert [row[1:] for row in rows["slot_pool"]] == [
        ("api_calls", 3, "rate-limited API"), ("default_pool", 128, "Default pool"),
    ]  # fmt: skip

    # Same file again: nothing written, not even a fresh ciphertext of the same password.
    second = _apply(home, settings)
    assert second.returncode == 0, second.stderr
    assert "connections: 0 created, 0 updated, 2 unchanged" in second.stdout
    assert "pools: 0 created, 0 updated, 1 unchanged" in second.stdout
    assert _rows(home) == rows

    # A changed value updates its row in place (same id); the others stay as they were.
    changed = SETTINGS.replace("pool_slot: 3", "pool_slot: 5").replace('"timeout": 10', '"timeout": 30')
    third = _apply(home, _write(tmp_path, changed))
    assert third.returncode == 0, third.stderr
    assert "connections: 0 created, 1 updated, 1 unchanged" in third.stdout
    after = _rows(home)
    assert after["slot_pool"][0] == (rows["slot_pool"][0][0], "api_calls", 5, "rate-limited API")
    assert after["connection"][0][:9] == api[:9]
    assert _decrypt(home, after["connection"][0][9]) == '{"timeout": 30, "verify": false}'
    assert after["connection"][1] == warehouse and after["variable"] == rows["variable"]


def test_an_invalid_third_entry_applies_nothing(home: Path, tmp_path: Path) -> None:
    before = _rows(home)
    broken = SETTINGS.replace("    - conn_id: api\n      conn_type: http\n", "    - conn_id: api\n")
    settings = _write(tmp_path, broken + "    - {pool_name: second, pool_slot: 1}\n")
    result = _apply(home, settings)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {settings}: connections[1] (conn_id=api): conn_type: missing; add `conn_type:` to the entry"
    ]
    assert _rows(home) == before


def test_a_database_error_midway_rolls_everything_back(home: Path, tmp_path: Path) -> None:
    # A real refusal from the database, after the connections and the variable went in.
    with sqlite3.connect(home / "airflow.db") as db:
        db.execute(
            "CREATE TRIGGER refuse_pool BEFORE INSERT ON slot_pool WHEN NEW.pool = 'api_calls' "
            "BEGIN SELECT RAISE(ABORT, 'pool refused by the test'); END"
        )
    before = _rows(home)
    settings = _write(tmp_path, SETTINGS)
    result = _apply(home, settings)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {settings}: pools[0] (pool_name=api_calls): the database refused it (pool refused by the "
        "test); nothing was applied"
    )
    assert _rows(home) == before
