"""What deployments send: registrations, heartbeats, metric batches; and what they poll:
the revocation list. Component state follows heartbeats: silent for 3 intervals is unhealthy,
for 10 intervals (or deregistered) gone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from astronomer_control_plane.context import ControlPlane
from astronomer_control_plane.errors import BadRequest, NotFound
from astronomer_control_plane.orm import (
    ComponentInstance,
    Deployment,
    MetricBatchRecord,
    Organization,
    Revocation,
    Workspace,
    utcnow,
)
from astronomer_plugins.control_plane.models import (
    ComponentRegistration,
    ComponentState,
    ComponentStatus,
    DeploymentProfile,
    Heartbeat,
    MetricBatch,
    MetricBatchAccepted,
    RevokedToken,
    RevokedTokenPage,
)

UNHEALTHY_AFTER_INTERVALS = 3
GONE_AFTER_INTERVALS = 10
INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


def register(cp: ControlPlane, deployment_id: str, instance_id: str, body: ComponentRegistration) -> bool:
    """Idempotent: the same instance registering again replaces its record. True when new."""
    with cp.transaction() as session:
        record = session.get(ComponentInstance, (deployment_id, instance_id))
        created = record is None
        if record is None:
            record = ComponentInstance(deployment_id=deployment_id, instance_id=instance_id, registration={})
            session.add(record)
        record.registration = body.model_dump(mode="json")
        record.registered_at = utcnow()
        record.last_heartbeat_at = utcnow()
        record.last_heartbeat = None
        record.deregistered_at = None
        return created


def heartbeat(cp: ControlPlane, deployment_id: str, instance_id: str, body: Heartbeat) -> None:
    with cp.transaction() as session:
        record = session.get(ComponentInstance, (deployment_id, instance_id))
        if record is None or record.deregistered_at is not None:
            raise NotFound(
                f"instance {instance_id!r} is not registered; register it first", field="instance_id"
            )
        record.last_heartbeat_at = utcnow()
        record.last_heartbeat = body.model_dump(mode="json")


def deregister(cp: ControlPlane, deployment_id: str, instance_id: str) -> None:
    with cp.transaction() as session:
        record = session.get(ComponentInstance, (deployment_id, instance_id))
        if record is not None:
            record.deregistered_at = utcnow()


def state_of(record: ComponentInstance, now: dt.datetime) -> ComponentState:
    if record.deregistered_at is not None:
        return ComponentState.GONE
    interval = dt.timedelta(seconds=record.registration.get("heartbeat_interval_seconds", 30))
    silent = now - (record.last_heartbeat_at or record.registered_at)
    if silent > GONE_AFTER_INTERVALS * interval:
        return ComponentState.GONE
    if silent > UNHEALTHY_AFTER_INTERVALS * interval:
        return ComponentState.UNHEALTHY
    if record.last_heartbeat is not None and not record.last_heartbeat.get("healthy", True):
        return ComponentState.UNHEALTHY
    return ComponentState.HEALTHY


def profile(cp: ControlPlane, deployment_id: str) -> DeploymentProfile:
    """The names behind the deployment's ids (the agent already knows the ids)."""
    with cp.transaction() as session:
        deployment = session.get(Deployment, deployment_id)
        if deployment is None:
            raise NotFound(f"deployment {deployment_id!r} not found", field="deployment_id")
        organization = session.get(Organization, deployment.organization_id)
        workspace = session.get(Workspace, deployment.workspace_id)
        return DeploymentProfile(
            organization_id=deployment.organization_id,
            organization_name=organization.name if organization else "",
            workspace_id=deployment.workspace_id,
            workspace_name=workspace.name if workspace else "",
            deployment_id=deployment.id,
            deployment_name=deployment.name,
            runtime_version=deployment.runtime_version,
        )


def components(cp: ControlPlane, deployment_id: str) -> list[ComponentStatus]:
    now = utcnow()
    with cp.transaction() as session:
        query = (
            select(ComponentInstance)
            .where(ComponentInstance.deployment_id == deployment_id)
            .order_by(ComponentInstance.registered_at)
        )
        return [
            ComponentStatus(
                **record.registration,
                instance_id=record.instance_id,
                state=state_of(record, now),
                registered_at=record.registered_at,
                last_heartbeat_at=record.last_heartbeat_at,
                last_heartbeat=Heartbeat(**record.last_heartbeat) if record.last_heartbeat else None,
            )
            for record in session.scalars(query)
        ]


def ingest_metrics(cp: ControlPlane, deployment_id: str, batch: MetricBatch) -> MetricBatchAccepted:
    """Store a batch once: a retried push with the same batch_id is acknowledged, not stored again."""
    with cp.transaction() as session:
        existing = session.scalar(
            select(MetricBatchRecord).where(
                MetricBatchRecord.deployment_id == deployment_id, MetricBatchRecord.batch_id == batch.batch_id
            )
        )
        if existing is not None:
            return MetricBatchAccepted(accepted=0, duplicate=True)
        session.add(
            MetricBatchRecord(
                deployment_id=deployment_id, batch_id=batch.batch_id, batch=batch.model_dump(mode="json")
            )
        )
    return MetricBatchAccepted(accepted=len(batch.points))


def latest_metric_batches(
    cp: ControlPlane, deployment_id: str, limit: int = 20
) -> list[tuple[dt.datetime, dict]]:
    with cp.transaction() as session:
        query = (
            select(MetricBatchRecord)
            .where(MetricBatchRecord.deployment_id == deployment_id)
            .order_by(MetricBatchRecord.id.desc())
            .limit(limit)
        )
        return [(record.received_at, record.batch) for record in session.scalars(query)]


def revoked_tokens(cp: ControlPlane, deployment_id: str, since: str) -> RevokedTokenPage:
    """Revocations in the deployment's organization after the cursor `since` (empty: from the start)."""
    if since and not since.isdigit():
        raise BadRequest("since must be a cursor returned by this endpoint", field="since")
    with cp.transaction() as session:
        deployment = session.get(Deployment, deployment_id)
        assert deployment is not None  # agent authentication found it
        query = (
            select(Revocation)
            .where(Revocation.organization_id == deployment.organization_id, Revocation.seq > int(since or 0))
            .order_by(Revocation.seq)
            .limit(1000)
        )
        rows = list(session.scalars(query))
        cursor = str(rows[-1].seq) if rows else (since or "0")
        return RevokedTokenPage(
            revoked=[RevokedToken(jti=r.jti, revoked_at=r.revoked_at, expires_at=r.expires_at) for r in rows],
            cursor=cursor,
        )
