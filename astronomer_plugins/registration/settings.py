"""The registration settings of [astronomer], read when a component starts, never at import.

A component that is not configured for registration is plain local use, not an error: `load()`
then returns an `Off` with the one line to log. A value that cannot be understood is an error that
names the setting and its environment variable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from astronomer_plugins import config
from astronomer_plugins.errors import AstronomerConfigError


@dataclass(frozen=True)
class RegistrationSettings:
    """Everything the agent needs besides the token (read on each (re)connect, so it can rotate)."""

    control_plane_url: str
    deployment_id: str
    heartbeat_interval: int


@dataclass(frozen=True)
class Off:
    """Registration is not attempted; `message` is the one line logged at `level`, saying why."""

    message: str
    level: int = logging.INFO


def parse_enabled(raw: str) -> bool:
    """[astronomer] registration_enabled as a boolean; a typo is an error, not a silent default."""
    return config.parse_bool(config.REGISTRATION_ENABLED, raw)


def parse_interval(raw: str) -> int:
    """[astronomer] heartbeat_interval in whole seconds, within what the control plane accepts."""
    return config.parse_int(config.HEARTBEAT_INTERVAL, raw)


def load() -> RegistrationSettings | Off:
    """The settings to register with, or why registration is off (disabled, unconfigured, invalid)."""
    try:
        enabled = config.get_bool(config.REGISTRATION_ENABLED)
        if not enabled:
            option = config.REGISTRATION_ENABLED
            return Off(
                f"Control-plane registration is disabled ([{config.SECTION}] {option.key} = False, "
                f"{option.env_var})"
            )
        url = config.get(config.CONTROL_PLANE_URL).strip()
        if not url:
            option = config.CONTROL_PLANE_URL
            return Off(
                f"Control-plane registration is off: [{config.SECTION}] {option.key} is not set "
                f"({option.env_var})"
            )
        deployment_id = config.require(config.DEPLOYMENT_ID).strip()
        interval = config.get_int(config.HEARTBEAT_INTERVAL)
    except AstronomerConfigError as exc:
        return Off(
            f"Control-plane registration is off because of a configuration error: {exc}", logging.ERROR
        )
    return RegistrationSettings(
        control_plane_url=url, deployment_id=deployment_id, heartbeat_interval=interval
    )
