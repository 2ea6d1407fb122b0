"""Registration settings: parsed with errors naming the setting, documented in the provider info."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from astronomer_plugins.errors import AstronomerConfigError
from astronomer_plugins.provider_info import get_provider_info
from astronomer_plugins.registration.settings import (
    Off,
    RegistrationSettings,
    load,
    parse_enabled,
    parse_interval,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30", 30), (" 5 ", 5), ("", 30), ("1", 1), ("3600", 3600)],
)
def test_interval_parses(raw: str, expected: int) -> None:
    assert parse_interval(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "0",
            "[astronomer] heartbeat_interval = 0: must be between 1 and 3600 seconds (AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL)",
        ),
        (
            "3601",
            "[astronomer] heartbeat_interval = 3601: must be between 1 and 3600 seconds (AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL)",
        ),
        (
            "1.5",
            "[astronomer] heartbeat_interval = '1.5': expected whole seconds (AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL)",
        ),
    ],
)
def test_bad_interval_names_the_setting(raw: str, message: str) -> None:
    with pytest.raises(AstronomerConfigError) as raised:
        parse_interval(raw)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("True", True), ("true", True), ("1", True), ("on", True), ("False", False), ("no", False), ("", True)],
)
def test_enabled_parses(raw: str, expected: bool) -> None:
    assert parse_enabled(raw) is expected


def test_bad_enabled_names_the_setting() -> None:
    with pytest.raises(AstronomerConfigError) as raised:
        parse_enabled("yes please")
    assert str(raised.value) == (
        "[astronomer] registration_enabled = 'yes please': expected true or false (AIRFLOW__ASTRONOMER__REGISTRATION_ENABLED)"
    )


def test_load_reads_the_environment_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load() == Off(
        "Control-plane registration is off: [astronomer] control_plane_url is not set "
        "(AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL)"
    )
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", "http://127.0.0.1:9")
    assert load() == Off(
        "Control-plane registration is off because of a configuration error: [astronomer] deployment_id is not "
        "set (AIRFLOW__ASTRONOMER__DEPLOYMENT_ID)",
        logging.ERROR,
    )
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", "dep_1")
    assert load() == RegistrationSettings("http://127.0.0.1:9", "dep_1", 30)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL", "7")
    assert load() == RegistrationSettings("http://127.0.0.1:9", "dep_1", 7)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__REGISTRATION_ENABLED", "False")
    assert load() == Off(
        "Control-plane registration is disabled ([astronomer] registration_enabled = False, "
        "AIRFLOW__ASTRONOMER__REGISTRATION_ENABLED)"
    )


def test_provider_info_documents_the_registration_options() -> None:
    options = get_provider_info()["config"]["astronomer"]["options"]
    assert options["registration_enabled"]["type"] == "boolean"
    assert options["registration_enabled"]["default"] == "True"
    assert options["heartbeat_interval"]["type"] == "integer"
    assert options["heartbeat_interval"]["default"] == "30"
    assert options["image"]["default"] == ""
    for key in ("registration_enabled", "heartbeat_interval", "image"):
        assert options[key]["description"]
        assert "sensitive" not in options[key]


def test_airflow_config_list_shows_the_registration_options(tmp_path: Path) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)}
    result = subprocess.run(
        [airflow, "config", "list", "--section", "astronomer", "--include-descriptions", "--show-values"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "heartbeat_interval = 30" in result.stdout
    assert "registration_enabled = True" in result.stdout
    assert "# Seconds between two heartbeats of a component" in result.stdout
