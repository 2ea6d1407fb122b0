"""The [astronomer] configuration section: every option declared once, read when used.

The declarations feed the provider info (so `airflow config list --section astronomer` documents
them) and the accessors below; nothing is read at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from astronomer_plugins.errors import AstronomerConfigError

SECTION = "astronomer"
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})


@dataclass(frozen=True)
class Option:
    """One documented option of the [astronomer] section; numbers carry their allowed range."""

    key: str
    description: str
    type: str = "string"
    default: str | None = None
    example: str | None = None
    sensitive: bool = False
    minimum: float | None = None  # numbers only: smallest allowed value
    maximum: float | None = None  # numbers only: largest allowed value
    unit: str = ""  # what a number counts ("seconds"), named in errors

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

# Authentication (the auth manager): how control-plane tokens are verified.
AUTH_LEEWAY_SECONDS = Option(
    "auth_leeway_seconds",
    "Clock skew allowed when checking exp, nbf and iat of control-plane tokens.",
    type="integer",
    default="30",
    minimum=0,
    maximum=300,
    unit="seconds",
)
AUTH_LOGIN_TIMEOUT_SECONDS = Option(
    "auth_login_timeout_seconds",
    "Longest a browser login waits for the control plane to redeem its authorization code. The "
    "exchange runs in a worker thread, so a control plane that never answers fails that one login "
    "(HTTP 504 page) and holds up no other request.",
    type="integer",
    default="10",
    minimum=1,
    maximum=300,
    unit="seconds",
)
AUTH_JWKS_TTL_SECONDS = Option(
    "auth_jwks_ttl_seconds",
    "How long the control plane's signing keys (JWKS) are used before a background refresh is due.",
    type="integer",
    default="600",
    minimum=1,
    unit="seconds",
)
AUTH_JWKS_GRACE_SECONDS = Option(
    "auth_jwks_grace_seconds",
    "When the control plane is unreachable, cached keys keep working this long past their TTL; "
    "after that, control-plane tokens are refused (fail closed).",
    type="integer",
    default="3600",
    minimum=0,
    unit="seconds",
)
AUTH_JWKS_MIN_REFRESH_SECONDS = Option(
    "auth_jwks_min_refresh_seconds",
    "A token with an unknown key id triggers at most one JWKS refresh per this many seconds "
    "(forged key ids cannot cause a refresh storm).",
    type="integer",
    default="30",
    minimum=1,
    unit="seconds",
)
AUTH_REVOCATION_POLL_SECONDS = Option(
    "auth_revocation_poll_seconds",
    "How often the revocation list is polled; a revoked API token is refused within about this delay "
    "(1 to 3600).",
    type="integer",
    default="30",
    minimum=1,
    maximum=3600,
    unit="seconds",
)
AUTH_REVOCATION_MAX_STALENESS_SECONDS = Option(
    "auth_revocation_max_staleness_seconds",
    "When the last successful revocation poll is older than this (control plane unreachable, or the agent "
    "token refused), control-plane tokens and the Airflow sessions made from them are refused with HTTP 503 "
    "and an ERROR log naming what to fix, so a revoked token can never come back. The same holds after "
    "start-up until the first poll succeeds. Between 2 x auth_revocation_poll_seconds and 86400.",
    type="integer",
    default="120",
    minimum=1,
    maximum=86400,
    unit="seconds",
)

# Metrics (astronomer_plugins.metrics): tagged statsd, our listener's metrics and the push.
STATSD_HOST = Option(
    "statsd_host",
    "Host of the statsd daemon (statsd_exporter, Datadog agent, ...) that receives Airflow's and our "
    "metrics with DogStatsD tags. Empty turns tagged statsd off. The image and the local runtime turn "
    "it into Airflow's [metrics] settings (statsd_on, statsd_host, statsd_port, "
    "statsd_custom_client_path, statsd_influxdb_enabled).",
    default="",
    example="statsd-exporter.monitoring.svc",
)
STATSD_PORT = Option(
    "statsd_port",
    "UDP port of the statsd daemon named by statsd_host.",
    type="integer",
    default="8125",
    minimum=1,
    maximum=65535,
)
# Lineage (astronomer_plugins.lineage_settings): Airflow's OpenLineage provider, pointed at the
# deployment's backend.
OPENLINEAGE_URL = Option(
    "openlineage_url",
    "Base URL of the OpenLineage HTTP backend that receives this deployment's lineage events (Marquez, "
    "a lineage service...). The image and the local runtime turn it into Airflow's [openlineage] "
    "transport; empty keeps OpenLineage disabled.",
    default="",
    example="https://lineage.example.com",
)
OPENLINEAGE_ENDPOINT = Option(
    "openlineage_endpoint", "Path of the lineage endpoint under openlineage_url.", default="api/v1/lineage"
)
OPENLINEAGE_API_KEY = Option(
    "openlineage_api_key",
    "API key sent as a Bearer token to openlineage_url (empty: no authentication). Secret: set it "
    "through the environment or a secrets backend, never in airflow.cfg.",
    default="",
    sensitive=True,
)
OPENLINEAGE_NAMESPACE = Option(
    "openlineage_namespace",
    "Namespace of this deployment's lineage events; empty uses deployment_id (or 'default').",
    default="",
)
METRICS_EXTRA_TAGS = Option(
    "metrics_extra_tags",
    "Constant tags added to every metric besides organization, workspace, deployment, component and "
    "runtime_version, as comma-separated key:value pairs. Keys and values are sanitised.",
    default="",
    example="team:data,env:prod",
)
METRICS_LISTENER_ENABLED = Option(
    "metrics_listener_enabled",
    "Count task and DAG-run outcomes and durations in memory (statsd metrics and the control-plane push).",
    type="boolean",
    default="True",
)
METRICS_PUSH_ENABLED = Option(
    "metrics_push_enabled",
    "Push aggregated metrics to the control plane from long-lived components (scheduler, dag-processor, "
    "triggerer); needs control_plane_url, deployment_id and the agent token. Task processes never push.",
    type="boolean",
    default="True",
)
METRICS_PUSH_INTERVAL = Option(
    "metrics_push_interval",
    "Seconds between two metric pushes to the control plane (at least 0.1).",
    type="float",
    default="60",
    minimum=0.1,
    unit="seconds",
)
METRICS_BUFFER_SIZE = Option(
    "metrics_buffer_size",
    "Metric points kept in memory while the control plane cannot be reached; the oldest are dropped "
    "beyond it and the drops are counted (astronomer.metrics.dropped_points).",
    type="integer",
    default="10000",
    minimum=1,
)

# Registration (astronomer_plugins.registration): enrolment and heartbeats of long-lived components.
REGISTRATION_ENABLED = Option(
    "registration_enabled",
    "Whether the scheduler, dag-processor, triggerer and api-server enroll with the control plane and "
    "send heartbeats (needs control_plane_url, deployment_id and the agent token). Task processes never "
    "register.",
    type="boolean",
    default="True",
)
HEARTBEAT_INTERVAL = Option(
    "heartbeat_interval",
    "Seconds between two heartbeats of a component (1 to 3600; each wait is jittered by +/-10 %). The "
    "control plane shows a component as unhealthy after 3 missed heartbeats.",
    type="integer",
    default="30",
    minimum=1,
    maximum=3600,  # the wire model's bound (ComponentRegistration.heartbeat_interval_seconds)
    unit="seconds",
)
IMAGE = Option(
    "image",
    "Reference of the image this Airflow runs from (e.g. with its digest), reported at registration; "
    "set by the deployment system. Empty means unknown.",
    default="",
    example="registry.example.com/runtime:3.3-2@sha256:...",
)

# The Runtime page and its notices (astronomer_plugins/ui/).
OFFLINE_FEED_FILE = Option(
    "offline_feed_file",
    "The update feed shipped with the image (runtimeVersionsV3 JSON): support dates and upgrades "
    "when no control plane is reachable, e.g. in air-gapped installs.",
    default="/etc/astronomer/runtime-feed.json",
)
RELEASE_MANIFEST_FILE = Option(
    "release_manifest_file",
    "What this release curates (JSON: name, airflowVersion, providers), shipped with the image; the "
    "Runtime page compares it with the installed providers.",
    default="/etc/astronomer/runtime-release.json",
)
UPDATE_CHECK_INTERVAL_HOURS = Option(
    "update_check_interval_hours",
    "How often the api-server fetches the control plane's release feed, in the background (never on "
    "a page request). At least 1.",
    type="float",
    default="24",
    minimum=1,
    unit="hours",
)
EOM_NOTICE_ENABLED = Option(
    "eom_notice_enabled",
    "Show the end-of-maintenance banner on the Airflow dashboard.",
    type="boolean",
    default="True",
)
EOM_NOTICE_DAYS = Option(
    "eom_notice_days",
    "Show the end-of-maintenance banner from this many days before the release's end of maintenance.",
    type="integer",
    default="30",
    minimum=0,
    unit="days",
)
EOM_DISMISS_DAYS = Option(
    "eom_dismiss_days",
    "Days a user's dismissal of the end-of-maintenance banner lasts.",
    type="integer",
    default="7",
    minimum=0,
    unit="days",
)

# DAG deploys (astronomer_plugins/bundles/): the control-plane DAG bundle's download limits.
BUNDLE_MAX_BYTES = Option(
    "bundle_max_bytes",
    "Largest DAG bundle (compressed tar.gz, in bytes) the control-plane DAG bundle downloads; a larger "
    "one is refused and the previous version stays in use. Matches the control plane's upload limit.",
    type="integer",
    default="52428800",
    minimum=1,
    unit="bytes",
)
BUNDLE_MAX_UNPACKED_BYTES = Option(
    "bundle_max_unpacked_bytes",
    "Largest total size of a DAG bundle's files once unpacked, in bytes (a gzip bomb is refused while "
    "it is read, before it fills the disk).",
    type="integer",
    default="536870912",
    minimum=1,
    unit="bytes",
)

# AstroKubernetesPodOperator: this deployment's pod defaults and limits.
KPO_NAMESPACE = Option(
    "kpo_namespace", "Namespace of pods started by AstroKubernetesPodOperator.", default="default"
)
KPO_SERVICE_ACCOUNT = Option(
    "kpo_service_account", "Service account of those pods (empty: the namespace's default).", default=""
)
KPO_CPU_REQUEST = Option("kpo_cpu_request", "Default CPU request of a pod.", default="250m")
KPO_MEMORY_REQUEST = Option("kpo_memory_request", "Default memory request of a pod.", default="256Mi")
KPO_CPU_LIMIT = Option("kpo_cpu_limit", "Default CPU limit of a pod.", default="1")
KPO_MEMORY_LIMIT = Option("kpo_memory_limit", "Default memory limit of a pod.", default="1Gi")
KPO_MAX_CPU = Option(
    "kpo_max_cpu",
    "Largest CPU request or limit a DAG may ask for; more is refused when the DAG is parsed.",
    default="4",
)
KPO_MAX_MEMORY = Option(
    "kpo_max_memory",
    "Largest memory request or limit a DAG may ask for; more is refused when the DAG is parsed.",
    default="8Gi",
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
    AUTH_LEEWAY_SECONDS,
    AUTH_LOGIN_TIMEOUT_SECONDS,
    AUTH_JWKS_TTL_SECONDS,
    AUTH_JWKS_GRACE_SECONDS,
    AUTH_JWKS_MIN_REFRESH_SECONDS,
    AUTH_REVOCATION_POLL_SECONDS,
    AUTH_REVOCATION_MAX_STALENESS_SECONDS,
    STATSD_HOST,
    STATSD_PORT,
    OPENLINEAGE_URL,
    OPENLINEAGE_ENDPOINT,
    OPENLINEAGE_API_KEY,
    OPENLINEAGE_NAMESPACE,
    METRICS_EXTRA_TAGS,
    METRICS_LISTENER_ENABLED,
    METRICS_PUSH_ENABLED,
    METRICS_PUSH_INTERVAL,
    METRICS_BUFFER_SIZE,
    REGISTRATION_ENABLED,
    HEARTBEAT_INTERVAL,
    IMAGE,
    OFFLINE_FEED_FILE,
    RELEASE_MANIFEST_FILE,
    UPDATE_CHECK_INTERVAL_HOURS,
    EOM_NOTICE_ENABLED,
    EOM_NOTICE_DAYS,
    EOM_DISMISS_DAYS,
    BUNDLE_MAX_BYTES,
    BUNDLE_MAX_UNPACKED_BYTES,
    KPO_NAMESPACE,
    KPO_SERVICE_ACCOUNT,
    KPO_CPU_REQUEST,
    KPO_MEMORY_REQUEST,
    KPO_CPU_LIMIT,
    KPO_MEMORY_LIMIT,
    KPO_MAX_CPU,
    KPO_MAX_MEMORY,
)


def get(option: Option) -> str:
    """The option's current value (environment, airflow.cfg, then the declared default)."""
    from airflow.configuration import conf

    return conf.get(SECTION, option.key, fallback=option.default or "") or ""


def _error(option: Option, value: str, problem: str) -> AstronomerConfigError:
    return AstronomerConfigError(f"[{SECTION}] {option.key} = {value}: {problem} ({option.env_var})")


def _range(option: Option) -> str:
    unit = f" {option.unit}" if option.unit else ""
    low, high = option.minimum, option.maximum
    if low is not None and high is not None:
        return f"must be between {low:g} and {high:g}{unit}"
    if low is not None:
        return f"must be at least {low:g}{unit}"
    return f"must be at most {high:g}{unit}"


def _bounded(option: Option, value: float, text: str) -> None:
    if (option.minimum is not None and value < option.minimum) or (
        option.maximum is not None and value > option.maximum
    ):
        raise _error(option, text, _range(option))


def parse_int(option: Option, raw: str) -> int:
    """`raw` (empty: the default) as a whole number within the option's declared range."""
    text = (raw or option.default or "").strip()
    try:
        value = int(text)
    except ValueError:
        raise _error(option, repr(text), f"expected whole {option.unit or 'number'}") from None
    _bounded(option, value, text)
    return value


def parse_float(option: Option, raw: str) -> float:
    """`raw` (empty: the default) as a number within the option's declared range."""
    text = (raw or option.default or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise _error(
            option, repr(text), f"expected a number{f' of {option.unit}' if option.unit else ''}"
        ) from None
    if value != value:  # NaN passes no range
        raise _error(option, repr(text), "expected a number")
    _bounded(option, value, text)
    return value


def parse_bool(option: Option, raw: str) -> bool:
    """`raw` (empty: the default) as a boolean; a typo is an error naming the setting, not a default."""
    text = (raw or option.default or "").strip()
    if text.lower() in TRUE_WORDS:
        return True
    if text.lower() in FALSE_WORDS:
        return False
    raise _error(option, repr(text), "expected true or false")


def get_int(option: Option) -> int:
    """An integer option, within its declared range, or one error naming key, variable, value and range."""
    return parse_int(option, get(option))


def get_float(option: Option) -> float:
    """A numeric option, within its declared range, or one error naming key, variable, value and range."""
    return parse_float(option, get(option))


def get_bool(option: Option) -> bool:
    """A boolean option; an unreadable value is an error naming the setting, not a silent default."""
    return parse_bool(option, get(option))


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
