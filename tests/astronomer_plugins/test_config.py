"""The [astronomer] section: declared once, read when used, clear errors when missing."""

from __future__ import annotations

import pytest

from astronomer_plugins import config
from astronomer_plugins.errors import AstronomerConfigError


def test_environment_variable_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.get(config.DEPLOYMENT_ID) == ""
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", "dep-123")
    assert config.get(config.DEPLOYMENT_ID) == "dep-123"


def test_missing_required_setting_names_key_and_variable() -> None:
    with pytest.raises(AstronomerConfigError) as raised:
        config.require(config.CONTROL_PLANE_URL)
    assert str(raised.value) == (
        "[astronomer] control_plane_url is not set (AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL)"
    )
    assert isinstance(raised.value, ValueError)


def test_only_the_secrets_are_sensitive() -> None:
    assert [option.key for option in config.OPTIONS if option.sensitive] == ["agent_token", "openlineage_api_key"]


@pytest.mark.parametrize(
    ("option", "raw", "message"),
    [
        (config.HEARTBEAT_INTERVAL, "0", "heartbeat_interval = 0: must be between 1 and 3600 seconds"),
        (config.HEARTBEAT_INTERVAL, "3601", "heartbeat_interval = 3601: must be between 1 and 3600 seconds"),
        (config.AUTH_REVOCATION_POLL_SECONDS, "0", "auth_revocation_poll_seconds = 0: must be between 1 and 3600 seconds"),
        (config.AUTH_LEEWAY_SECONDS, "-1", "auth_leeway_seconds = -1: must be between 0 and 300 seconds"),
        (config.METRICS_BUFFER_SIZE, "0", "metrics_buffer_size = 0: must be at least 1"),
        (config.METRICS_BUFFER_SIZE, "1.5", "metrics_buffer_size = '1.5': expected whole number"),
        (config.STATSD_PORT, "70000", "statsd_port = 70000: must be between 1 and 65535"),
    ],
)
def test_integers_are_checked_against_their_declared_range(
    monkeypatch: pytest.MonkeyPatch, option: config.Option, raw: str, message: str
) -> None:
    monkeypatch.setenv(option.env_var, raw)
    with pytest.raises(AstronomerConfigError) as raised:
        config.get_int(option)
    assert str(raised.value) == f"[astronomer] {message} ({option.env_var})"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0.05", "metrics_push_interval = 0.05: must be at least 0.1 seconds"),
        ("nan", "metrics_push_interval = 'nan': expected a number"),
        ("soon", "metrics_push_interval = 'soon': expected a number of seconds"),
    ],
)
def test_numbers_are_checked_against_their_declared_range(
    monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    option = config.METRICS_PUSH_INTERVAL
    monkeypatch.setenv(option.env_var, raw)
    with pytest.raises(AstronomerConfigError) as raised:
        config.get_float(option)
    assert str(raised.value) == f"[astronomer] {message} ({option.env_var})"


def test_values_in_range_and_defaults_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.get_int(config.HEARTBEAT_INTERVAL) == 30
    monkeypatch.setenv(config.HEARTBEAT_INTERVAL.env_var, " 3600 ")
    assert config.get_int(config.HEARTBEAT_INTERVAL) == 3600
    monkeypatch.setenv(config.METRICS_PUSH_INTERVAL.env_var, "0.1")
    assert config.get_float(config.METRICS_PUSH_INTERVAL) == 0.1
    monkeypatch.setenv(config.EOM_NOTICE_ENABLED.env_var, "Off")
    assert config.get_bool(config.EOM_NOTICE_ENABLED) is False


def test_bad_boolean_names_key_variable_and_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.METRICS_PUSH_ENABLED.env_var, "Maybe")
    with pytest.raises(AstronomerConfigError) as raised:
        config.get_bool(config.METRICS_PUSH_ENABLED)
    assert str(raised.value) == (
        "[astronomer] metrics_push_enabled = 'Maybe': expected true or false (AIRFLOW__ASTRONOMER__METRICS_PUSH_ENABLED)"
    )


@pytest.mark.parametrize("option", config.OPTIONS, ids=lambda option: option.key)
def test_every_declared_default_reads_through_its_accessor(option: config.Option) -> None:
    read = {"integer": config.get_int, "float": config.get_float, "boolean": config.get_bool}.get(option.type, config.get)
    read(option)  # within its own bounds: raises otherwise
    if option.minimum is not None or option.maximum is not None:
        assert option.type in ("integer", "float")


def test_the_heartbeat_interval_is_one_setting_for_registration_and_the_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    from astronomer_plugins.registration import settings
    from astronomer_plugins.ui import sync

    monkeypatch.setenv(config.HEARTBEAT_INTERVAL.env_var, "7200")  # above what the control plane accepts
    with pytest.raises(AstronomerConfigError):
        settings.parse_interval("7200")
    assert sync._refresh_interval() == 30.0  # refused as registration refuses it, not read as 7200 s
    monkeypatch.setenv(config.HEARTBEAT_INTERVAL.env_var, "12")
    assert sync._refresh_interval() == 12.0
