"""Tables of the reference control plane."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from astronomer_control_plane.db import Base


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("org"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ws"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Cluster(Base):
    """Where an organization's deployments run (a `local` one for development)."""

    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cls"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    cloud_provider: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # local | kubernetes
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dep"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(200))
    # Nullable only for databases made before clusters were records (migrations.py fills it in).
    cluster_id: Mapped[str | None] = mapped_column(ForeignKey("clusters.id"), default=None)
    # The cluster's name and region when the deployment was created (kept for existing readers).
    cluster: Mapped[str] = mapped_column(String(200), default="local")
    region: Mapped[str] = mapped_column(String(100), default="local")
    runtime_version: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(2048))
    agent_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organization_id", "email"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("usr"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RoleBinding(Base):
    """A user's role at one scope; with a DAG selector it is a DAG-level grant in a deployment."""

    __tablename__ = "role_bindings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(20))  # organization | workspace | deployment
    scope_id: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(64))
    dag_id: Mapped[str | None] = mapped_column(String(250), default=None)
    dag_prefix: Mapped[str | None] = mapped_column(String(250), default=None)
    dag_tag: Mapped[str | None] = mapped_column(String(250), default=None)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("tok"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    scope: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    dag_selectors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # limits the token
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Revocation(Base):
    """Append-only revocation log; `seq` is the cursor of the revoked-tokens endpoint."""

    __tablename__ = "revocations"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]


class IssuedUserToken(Base):
    """User tokens handed out, so a change of the user's roles can revoke them."""

    __tablename__ = "issued_user_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    expires_at: Mapped[dt.datetime]


class SigningKey(Base):
    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)
    # Latest `exp` of any token this key signed: the key stays published until then.
    last_token_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # None for the command line's client (identity.CLI_CLIENT_ID), whose token is organization-wide.
    deployment_id: Mapped[str | None] = mapped_column(ForeignKey("deployments.id"), default=None)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    code_challenge: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]
    used: Mapped[bool] = mapped_column(default=False)


class AdminCredential(Base):
    __tablename__ = "admin_credentials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ComponentInstance(Base):
    __tablename__ = "component_instances"
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    registration: Mapped[dict[str, Any]] = mapped_column(JSON)
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_heartbeat: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    deregistered_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class MetricBatchRecord(Base):
    __tablename__ = "metric_batches"
    __table_args__ = (UniqueConstraint("deployment_id", "batch_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"))
    batch_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    batch: Mapped[dict[str, Any]] = mapped_column(JSON)


class Bundle(Base):
    """A stored DAG bundle: bundles/<sha256>.tar.gz under the data directory, written once."""

    __tablename__ = "bundles"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    unpacked_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeployRecord(Base):
    """One deploy of a deployment; `seq` orders the history (timestamps can tie)."""

    __tablename__ = "deploys"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("dpl"))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # dag | image
    bundle_sha256: Mapped[str | None] = mapped_column(ForeignKey("bundles.sha256"), default=None)
    image_reference: Mapped[str | None] = mapped_column(String(512), default=None)
    image_digest: Mapped[str | None] = mapped_column(String(71), default=None)
    image_runtime_version: Mapped[str | None] = mapped_column(String(64), default=None)
    author: Mapped[str] = mapped_column(String(400))
    description: Mapped[str] = mapped_column(String(1000), default="")
    git_commit: Mapped[str | None] = mapped_column(String(64), default=None)
    rollback_of: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    served_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # its dag-processor serves it
