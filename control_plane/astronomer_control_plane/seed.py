"""`control-plane seed`: a development organization, workspace, `local` cluster, deployment and one
user per role.

Idempotent: records are found by name and created only when missing. The deployment's settings
are written to a JSON file and its agent token to a 0600 file, for the local runtime to use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from astronomer_control_plane.context import ControlPlane
from astronomer_control_plane.db import Base
from astronomer_control_plane.orm import Deployment, Organization, RoleBinding, User, Workspace
from astronomer_control_plane.secrets_store import digest, new_secret, write_private
from astronomer_control_plane.services.management import local_cluster

R = TypeVar("R", bound=Base)

ORGANIZATION = "Dev Organization"
WORKSPACE = "Dev Workspace"
DEPLOYMENT = "local"

# (email, name, scope, role): one user per role, plus a DAG-level grant example.
USERS = [
    ("owner@example.com", "Olivia Owner", "organization", "ORGANIZATION_OWNER"),
    ("billing@example.com", "Bill Billing", "organization", "ORGANIZATION_BILLING_ADMIN"),
    ("member@example.com", "Mia Member", "organization", "ORGANIZATION_MEMBER"),
    ("ws-owner@example.com", "Wes Owner", "workspace", "WORKSPACE_OWNER"),
    ("operator@example.com", "Opal Operator", "workspace", "WORKSPACE_OPERATOR"),
    ("author@example.com", "Arthur Author", "workspace", "WORKSPACE_AUTHOR"),
    ("viewer@example.com", "Vera Viewer", "workspace", "WORKSPACE_MEMBER"),
    ("deploy-admin@example.com", "Dean Admin", "deployment", "DEPLOYMENT_ADMIN"),
]


@dataclass(frozen=True)
class SeedResult:
    organization_id: str
    workspace_id: str
    deployment_id: str
    agent_token_file: Path
    settings_file: Path


def _get_or_create(
    session: Session, model: type[R], defaults: dict[str, Any] | None = None, **keys: Any
) -> R:
    record = session.scalar(select(model).filter_by(**keys))
    if record is None:
        record = model(**keys, **(defaults or {}))
        session.add(record)
        session.flush()
    return record


def seed(cp: ControlPlane, *, base_url: str, runtime_version: str, out_dir: Path) -> SeedResult:
    agent_token_file = out_dir / "agent-token"
    with cp.transaction() as session:
        organization = _get_or_create(session, Organization, name=ORGANIZATION)
        workspace = _get_or_create(session, Workspace, organization_id=organization.id, name=WORKSPACE)
        cluster = local_cluster(session, organization.id)
        deployment = _get_or_create(
            session,
            Deployment,
            {
                "organization_id": organization.id,
                "runtime_version": runtime_version,
                "base_url": base_url.rstrip("/"),
                "cluster_id": cluster.id,
                "cluster": cluster.name,
                "region": cluster.region,
            },
            workspace_id=workspace.id,
            name=DEPLOYMENT,
        )
        deployment.base_url, deployment.runtime_version = base_url.rstrip("/"), runtime_version
        token_on_disk = agent_token_file.read_text().strip() if agent_token_file.exists() else ""
        if not token_on_disk or digest(token_on_disk) != deployment.agent_token_hash:
            token_on_disk = new_secret("astro_agent")
            deployment.agent_token_hash = digest(token_on_disk)
            write_private(agent_token_file, token_on_disk + "\n")
        scope_ids = {"organization": organization.id, "workspace": workspace.id, "deployment": deployment.id}
        for email, name, scope, role in USERS:
            user = _get_or_create(session, User, {"name": name}, organization_id=organization.id, email=email)
            _get_or_create(
                session, RoleBinding, user_id=user.id, scope=scope, scope_id=scope_ids[scope], role=role
            )
        ids = (organization.id, workspace.id, deployment.id)
    settings_file = out_dir / "deployment.json"
    settings_file.write_text(
        json.dumps(
            {
                "control_plane_url": cp.issuer,
                "organization_id": ids[0],
                "workspace_id": ids[1],
                "deployment_id": ids[2],
                "agent_token_file": str(agent_token_file),
            },
            indent=2,
        )
    )
    return SeedResult(*ids, agent_token_file=agent_token_file, settings_file=settings_file)
