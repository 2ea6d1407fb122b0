"""The [astronomer] configuration section: every option declared once, read when used.

The declarations feed the provider info (so `airflow config list --section astronomer` documents
them) and the accessors below; nothing is read at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from astronomer_plugins.errors import AstronomerConfigError

SECTION = "astronomer"


@dataclass(frozen=True)
class Option:
    """One documented option of the [astronomer] section."""

    key: str
    description: str
    type: str = "string"
    default: str | None = None
    example: str | None = None
    sensitive: bool = False

    @property
    def env_var(self) -> str:
        return f"AIRFLOW__{SECTION.upper()}__{self.key.upper()}"


CONTROL_PLANE_URL = Option(
    "control_plane_url",
    "Base URL of the control plane this deployment belongs to. Empty means the deployment runs "
    "unconnected (plain local use): no registration, no metrics push, no control-plane login.",
    default="",
    example="https://control-plane.example.com",
)
ORGANIZATION_ID = Option("organization_id", "Id of the organization that owns this deployment.", default="")
WORKSPACE_ID = Option("workspace_id", "Id of the workspace this deployment belongs to.", default="")
DEPLOYMENT_ID = Option(
    "deployment_id",
    "Id of this deployment in the control plane; also the audience of control-plane tokens.",
    default="",
)
AGENT_TOKEN = Option(
    "agent_token",
    "The deployment's agent token, used for registration, heartbeats and metrics. Secret: set it "
    "through AIRFLOW__ASTRONOMER__AGENT_TOKEN_SECRET or _CMD rather than in airflow.cfg.",
    default="",
    sensitive=True,
)
RUNTIME_VERSION = Option(
    "runtime_version",
    "The Astronomer Runtime release this Airflow runs. Images set it from ASTRONOMER_RUNTIME_VERSION; "
    "empty means unknown.",
    default="",
    example="3.3-2",
)

OPTIONS: tuple[Option, ...] = (
    CONTROL_PLANE_URL,
    ORGANIZATION_ID,
    WORKSPACE_ID,
    DEPLOYMENT_ID,
    AGENT_TOKEN,
    RUNTIME_VERSION,
)


def get(option: Option) -> str:
    """The option's current value (environment, airflow.cfg, then the declared default)."""
    from airflow.configuration import conf

    return conf.get(SECTION, option.key, fallback=option.default or "") or ""


def require(option: Option) -> str:
    """The option's value, or one clear error naming the key and its environment variable."""
    value = get(option)
    if not value:
        raise AstronomerConfigError(f"[{SECTION}] {option.key} is not set ({option.env_var})")
    return value
