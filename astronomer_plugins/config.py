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
AGENT_TOKEN_FILE = Option(
    "agent_token_file",
    "Path of a file holding the agent token (used when agent_token is empty), e.g. a mounted secret.",
    default="",
    example="/var/run/secrets/astronomer/agent-token",
)
CA_BUNDLE = Option(
    "ca_bundle",
    "CA bundle (PEM) to verify the control plane's TLS certificate with; empty uses the system's. "
    "Verification is never turned off.",
    default="",
    example="/etc/ssl/certs/ca-certificates.crt",
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
    AGENT_TOKEN_FILE,
    CA_BUNDLE,
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


def agent_token() -> str:
    """The agent token from agent_token or agent_token_file; one clear error when neither works."""
    token = get(AGENT_TOKEN)
    if token:
        return token
    path = get(AGENT_TOKEN_FILE)
    if not path:
        raise AstronomerConfigError(
            f"[{SECTION}] {AGENT_TOKEN.key} is not set ({AGENT_TOKEN.env_var}, or {AGENT_TOKEN_FILE.env_var} "
            "naming a file that holds it)"
        )
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
    except OSError as exc:
        raise AstronomerConfigError(
            f"[{SECTION}] {AGENT_TOKEN_FILE.key} = {path}: cannot be read ({exc.strerror})"
        ) from None
    if not token:
        raise AstronomerConfigError(f"[{SECTION}] {AGENT_TOKEN_FILE.key} = {path}: the file is empty")
    return token
