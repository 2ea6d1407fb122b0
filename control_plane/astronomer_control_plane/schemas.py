"""Request and response models of the management API (the agent-facing wire models live in
astronomer_plugins.control_plane.models, shared with the plugin)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from astronomer_plugins.control_plane.models import DagSelector

Scope = Literal["organization", "workspace", "deployment"]
Name = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrganizationIn(_In):
    name: str = Name


class OrganizationOut(_Out):
    id: str
    name: str
    created_at: dt.datetime


class WorkspaceIn(_In):
    name: str = Name


class WorkspaceOut(_Out):
    id: str
    organization_id: str
    name: str
    created_at: dt.datetime


class DeploymentIn(_In):
    name: str = Name
    workspace_id: str = Field(min_length=1, max_length=40)
    runtime_version: str = Field(min_length=1, max_length=64, pattern=r"^\d+\.\d+-\d+$")
    base_url: str = Field(min_length=1, max_length=2048, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    cluster_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="A cluster of the organization (default: its `local` cluster, made when missing).",
    )

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class DeploymentOut(_Out):
    id: str
    organization_id: str
    workspace_id: str
    name: str
    cluster_id: str | None
    cluster: str = Field(description="The cluster's name.")
    region: str = Field(description="The cluster's region.")
    runtime_version: str
    base_url: str
    created_at: dt.datetime


ClusterKind = Literal["local", "kubernetes"]


class ClusterIn(_In):
    name: str = Name
    cloud_provider: str = Field(
        min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["aws"]
    )
    region: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: ClusterKind


class ClusterOut(_Out):
    id: str
    organization_id: str
    name: str
    cloud_provider: str
    region: str
    kind: ClusterKind
    created_at: dt.datetime


class DeploymentCreated(BaseModel):
    deployment: DeploymentOut
    agent_token: str = Field(description="Shown once; only its hash is stored.")


class AgentTokenOut(BaseModel):
    agent_token: str = Field(description="Shown once; the previous agent token stops working.")


class UserIn(_In):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Name


class RoleBindingIn(_In):
    scope: Scope
    scope_id: str = Field(min_length=1, max_length=40)
    role: str = Field(min_length=1, max_length=64)
    dag_id: str | None = Field(default=None, min_length=1, max_length=250)
    dag_prefix: str | None = Field(default=None, min_length=1, max_length=250)
    dag_tag: str | None = Field(default=None, min_length=1, max_length=250)

    @model_validator(mode="after")
    def _one_dag_selector(self) -> RoleBindingIn:
        selectors = [s for s in (self.dag_id, self.dag_prefix, self.dag_tag) if s is not None]
        if len(selectors) > 1:
            raise ValueError("give at most one of dag_id, dag_prefix, dag_tag")
        if selectors and self.scope != "deployment":
            raise ValueError("DAG-level grants need scope 'deployment'")
        return self


class RoleBindingOut(_Out):
    scope: str
    scope_id: str
    role: str
    dag_id: str | None
    dag_prefix: str | None
    dag_tag: str | None


class UserRolesIn(_In):
    roles: list[RoleBindingIn] = Field(max_length=200)


class UserOut(_Out):
    id: str
    organization_id: str
    email: str
    name: str
    created_at: dt.datetime
    roles: list[RoleBindingOut] = []


class ApiTokenIn(_In):
    name: str = Name
    description: str = Field(default="", max_length=1000)
    scope: Scope
    scope_id: str = Field(min_length=1, max_length=40)
    role: str = Field(min_length=1, max_length=64)
    expires_in_days: int = Field(default=30, ge=1, le=365)
    dags: list[DagSelector] = Field(
        default_factory=list, max_length=50, description="Limit the token to these DAGs (empty: no limit)."
    )


class ApiTokenOut(_Out):
    id: str
    organization_id: str
    name: str
    description: str
    scope: str
    scope_id: str
    role: str
    dags: list[DagSelector] = Field(validation_alias="dag_selectors", default_factory=list)
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class ApiTokenCreated(BaseModel):
    token: ApiTokenOut
    secret: str = Field(description="The bearer token. Shown once; only its hash is stored.")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class DeploymentEndpoint(BaseModel):
    """What a token holder may learn about a deployment it can call: where its Airflow is."""

    id: str
    name: str
    base_url: str
    runtime_version: str


GitCommit = Field(default=None, min_length=4, max_length=64, pattern=r"^[0-9a-fA-F]+$")
Description = Field(default="", max_length=1000, pattern=r"^[^\x00]*$")


class ImageDeployIn(_In):
    reference: str = Field(
        min_length=1, max_length=512, pattern=r"^[^\s]+$", description="e.g. registry/app:tag"
    )
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    runtime_version: str = Field(
        pattern=r"^\d+\.\d+-\d+$", description="The image's Runtime label: a catalog release, not yanked."
    )
    description: str = Description
    git_commit: str | None = GitCommit
