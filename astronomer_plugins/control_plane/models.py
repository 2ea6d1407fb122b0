"""Wire format of the control-plane contract, defined once.

Both the plugin's client and the reference control plane (`astronomer_control_plane`) import these
models, so the two sides cannot drift apart. Field names are the JSON names.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from astronomer_plugins.control_plane.kinds import ComponentKind

# Size limits of the free-form maps (the control plane answers 413 naming the limit). Generous for
# what the plugin sends: ~100 curated providers, a handful of heartbeat details and metric tags.
MAX_PROVIDERS = 500
MAX_DETAILS = 50
MAX_TAGS = 32
ProviderName = Annotated[str, StringConstraints(max_length=128)]
ProviderVersion = Annotated[str, StringConstraints(max_length=64)]
DetailKey = Annotated[str, StringConstraints(max_length=128)]
DetailText = Annotated[str, StringConstraints(max_length=1024)]
TagKey = Annotated[str, StringConstraints(max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=512)]
# Celery queue names as workers consume them (`airflow celery worker --queues a,b`).
MAX_QUEUES = 64
QueueName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentRegistration(WireModel):
    """PUT /v1/deployments/{id}/components/{instance_id}: idempotent enrolment of one component."""

    component: ComponentKind
    hostname: str = Field(min_length=1, max_length=255)
    pid: int = Field(ge=1)
    runtime_version: str = Field(default="", max_length=64)
    airflow_version: str = Field(min_length=1, max_length=64)
    python_version: str = Field(min_length=1, max_length=32)
    image: str = Field(default="", max_length=512)
    providers: dict[ProviderName, ProviderVersion] = Field(default_factory=dict, max_length=MAX_PROVIDERS)
    base_url: str = Field(default="", max_length=2048)
    started_at: dt.datetime
    heartbeat_interval_seconds: int = Field(default=30, ge=1, le=3600)
    # Celery workers only: the queues the worker consumes and its task slots (pool size).
    queues: list[QueueName] | None = Field(default=None, max_length=MAX_QUEUES)
    concurrency: int | None = Field(default=None, ge=1, le=10_000)


class Heartbeat(WireModel):
    """POST /v1/deployments/{id}/components/{instance_id}/heartbeat."""

    healthy: bool = True
    details: dict[DetailKey, int | float | DetailText | bool] = Field(
        default_factory=dict, max_length=MAX_DETAILS
    )


class ComponentState(str, Enum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    GONE = "gone"


class ComponentStatus(ComponentRegistration):
    """One entry of GET /v1/deployments/{id}/components."""

    instance_id: str
    state: ComponentState
    registered_at: dt.datetime
    last_heartbeat_at: dt.datetime | None
    last_heartbeat: Heartbeat | None


class DeploymentProfile(WireModel):
    """GET /v1/deployments/{id} with the agent token: who this deployment is, for the Runtime page."""

    organization_id: str
    organization_name: str
    workspace_id: str
    workspace_name: str
    deployment_id: str
    deployment_name: str
    runtime_version: str = ""


class MetricPoint(WireModel):
    name: str = Field(min_length=1, max_length=255)
    type: Literal["counter", "gauge", "timer"]
    value: float
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TAGS)
    timestamp: dt.datetime


class MetricBatch(WireModel):
    """POST /v1/deployments/{id}/metrics (gzip Content-Encoding allowed); answered 202.
    `batch_id` makes a retried push count once."""

    batch_id: str = Field(min_length=1, max_length=64)
    component: ComponentKind
    instance_id: str = Field(min_length=1, max_length=128)
    points: list[MetricPoint] = Field(max_length=10_000)
    dropped_points: int = Field(default=0, ge=0)


class MetricBatchAccepted(WireModel):
    accepted: int
    duplicate: bool = False


class RevokedToken(WireModel):
    jti: str
    revoked_at: dt.datetime
    expires_at: dt.datetime | None


class RevokedTokenPage(WireModel):
    """GET /v1/deployments/{id}/revoked-tokens?since=<cursor>: pass `cursor` back as `since`."""

    revoked: list[RevokedToken]
    cursor: str


class ErrorDetail(WireModel):
    """Every error answer of the control plane: {"error": {...}}."""

    code: str
    message: str
    field: str | None = None


class ErrorBody(WireModel):
    error: ErrorDetail


class TokenKind(str, Enum):
    USER = "user"
    API_TOKEN = "api_token"
    DEPLOYMENT_AGENT = "deployment_agent"


class DagSelector(WireModel):
    """Exactly one of dag_id, prefix or tag selects DAGs."""

    dag_id: str | None = Field(default=None, min_length=1, max_length=250)
    prefix: str | None = Field(default=None, min_length=1, max_length=250)
    tag: str | None = Field(default=None, min_length=1, max_length=250)

    @model_validator(mode="after")
    def _exactly_one(self) -> DagSelector:
        if sum(value is not None for value in (self.dag_id, self.prefix, self.tag)) != 1:
            raise ValueError("give exactly one of dag_id, prefix, tag")
        return self


class DagGrant(WireModel):
    """A DAG-level grant: a role on the DAGs one selector matches."""

    role: str
    dag_id: str | None = None
    prefix: str | None = None
    tag: str | None = None


class AstroRoles(WireModel):
    """The `astro_roles` claim: only the grants relevant to the token's deployment.
    `dags` raise access on matching DAGs; with `dags_only` (DAG-scoped API tokens) they are the
    only DAGs the token reaches."""

    organization: str | None = None
    workspace: str | None = None
    deployment: str | None = None
    dags: list[DagGrant] = Field(default_factory=list)
    dags_only: bool = False


# Deploys (issue 16). A DAG bundle is a tar.gz of dags/ (and optionally include/, plugins/), stored
# content-addressed by the control plane: its version is the sha256 of the tar.gz as uploaded.
SHA256_HEX = r"^[0-9a-f]{64}$"


class BundleRef(WireModel):
    """GET /v1/deployments/{id}/bundle (agent token): the bundle of the deployment's current DAG
    deploy; `GET .../bundles/{version}` streams it (header X-Bundle-SHA256)."""

    version: str = Field(pattern=SHA256_HEX, description="The sha256 of the bundle's tar.gz.")
    sha256: str = Field(pattern=SHA256_HEX, description="The same value as version, named for what it is.")
    size_bytes: int = Field(ge=0)
    deploy_id: str
    created_at: dt.datetime
    author: str
    description: str = ""
    git_commit: str | None = None


class BundleServed(WireModel):
    """PUT /v1/deployments/{id}/bundle/served (agent token): the dag-processor serves this version."""

    version: str = Field(pattern=SHA256_HEX)


class DeployKind(str, Enum):
    DAG = "dag"
    IMAGE = "image"


class ImageRef(WireModel):
    """An image deploy's image: where it is, its digest, and the Runtime release its label names."""

    reference: str = Field(min_length=1, max_length=512, pattern=r"^[^\s]+$")
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    runtime_version: str = Field(min_length=1, max_length=64)


class Deploy(WireModel):
    """One deploy record of a deployment (history is newest first). A rollback is a new DAG deploy
    whose bundle is an earlier deploy's, with `rollback_of` naming that deploy."""

    id: str
    deployment_id: str
    kind: DeployKind
    bundle: BundleRef | None = None
    image: ImageRef | None = None
    author: str
    created_at: dt.datetime
    description: str = ""
    git_commit: str | None = None
    rollback_of: str | None = None
    served_at: dt.datetime | None = Field(
        default=None, description="When the deployment's dag-processor first served this DAG deploy's bundle."
    )
