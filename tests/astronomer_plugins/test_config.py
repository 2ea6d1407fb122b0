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


def test_only_the_agent_token_is_sensitive() -> None:
    assert [option.key for option in config.OPTIONS if option.sensitive] == ["agent_token"]
