"""The Runtime page's content as JSON models (also served at /astronomer/api/runtime).

Built from local facts (settings, installed packages, the shipped manifest, this process's auth
and registration state) and the background snapshot; nothing here touches the network. Nothing
secret is included: no tokens, no connection passwords, only ids, names, versions and times.
"""

from __future__ import annotations

import datetime as dt
import platform
from typing import Literal

from pydantic import BaseModel

from astronomer_plugins import config
from astronomer_plugins.feed import ReleaseManifest
from astronomer_plugins.ui import releases
from astronomer_plugins.ui.sync import Snapshot

ProviderStatus = Literal["curated", "changed", "added", "missing"]


class ReleaseInfo(BaseModel):
    runtime_version: str
    airflow_version: str
    python_version: str
    channel: str | None
    lts: bool | None
    support: str
    end_of_maintenance: dt.date | None
    end_of_basic_support: dt.date | None
    days_to_end_of_maintenance: int | None


class ProviderRow(BaseModel):
    name: str
    installed: str | None
    curated: str | None
    status: ProviderStatus


class UpgradeInfo(BaseModel):
    name: str
    airflow_version: str
    lts: bool
    needs_db_migration: bool


class Upgrades(BaseModel):
    same_line: UpgradeInfo | None
    newest_line: UpgradeInfo | None
    source: str
    checked_at: dt.datetime | None
    problem: str | None


class DeploymentInfo(BaseModel):
    organization_id: str
    organization_name: str | None
    workspace_id: str
    workspace_name: str | None
    deployment_id: str
    deployment_name: str | None
    control_plane_url: str
    deployment_page_url: str | None


class ComponentRow(BaseModel):
    component: str
    hostname: str
    state: str
    runtime_version: str
    last_heartbeat_at: dt.datetime | None
    metrics_last_push_at: str | None


class ConnectionInfo(BaseModel):
    configured: bool
    this_api_server_registered: bool | None
    components: list[ComponentRow]
    components_checked_at: dt.datetime | None
    last_metrics_push_at: str | None
    revocation_list_synced_at: dt.datetime | None
    revocation_list_age_seconds: float | None
    problem: str | None


class DeployRow(BaseModel):
    id: str
    kind: str
    version: str | None  # the bundle's sha256 (DAG deploy) or the image's digest
    image: str | None
    author: str
    created_at: dt.datetime
    description: str
    git_commit: str | None
    rollback_of: str | None


class DeploysInfo(BaseModel):
    """The current DAG deploy, what this Airflow's dag-processor last parsed, and the recent history."""

    current: DeployRow | None
    parsed_version: str | None  # Airflow's own record of the control-plane bundle's version
    history: list[DeployRow]
    checked_at: dt.datetime | None
    problem: str | None


class BannerInfo(BaseModel):
    level: str
    message: str
    end_of_maintenance: dt.date


class RuntimeOverview(BaseModel):
    release: ReleaseInfo
    providers: list[ProviderRow]
    manifest_problem: str | None
    upgrades: Upgrades
    deployment: DeploymentInfo
    connection: ConnectionInfo
    deploys: DeploysInfo
    banner: BannerInfo | None


def provider_rows(installed: dict[str, str], manifest: ReleaseManifest | None) -> list[ProviderRow]:
    """Curated vs installed: a customer's added or changed provider is flagged, so is a missing one."""
    curated = manifest.providers if manifest else {}
    rows = []
    for name in sorted(set(installed) | set(curated)):
        have, want = installed.get(name), curated.get(name)
        if have is None:
            status: ProviderStatus = "missing"
        elif want is None:
            status = "added"
        else:
            status = "curated" if have == want else "changed"
        rows.append(ProviderRow(name=name, installed=have, curated=want, status=status))
    return rows


def _release(running: str, snapshot: Snapshot, today: dt.date) -> tuple[ReleaseInfo, releases.SupportStatus]:
    import airflow

    entry = snapshot.feed.runtime_versions_v3.get(running) if snapshot.feed else None
    status = releases.support_status(entry, today)
    info = ReleaseInfo(
        runtime_version=running or "unknown",
        airflow_version=airflow.__version__,
        python_version=platform.python_version(),
        channel=entry.metadata.channel if entry else None,
        lts=entry.metadata.lts if entry else None,
        support=status.support.value,
        end_of_maintenance=status.end_of_maintenance,
        end_of_basic_support=status.end_of_basic_support,
        days_to_end_of_maintenance=status.days_to_end_of_maintenance,
    )
    return info, status


def _upgrades(running: str, snapshot: Snapshot) -> Upgrades:
    notice = (
        releases.upgrade_notice(snapshot.feed, running)
        if snapshot.feed
        else releases.UpgradeNotice(None, None)
    )

    def info(upgrade: releases.Upgrade | None) -> UpgradeInfo | None:
        return UpgradeInfo(**vars(upgrade)) if upgrade else None

    return Upgrades(
        same_line=info(notice.same_line),
        newest_line=info(notice.newest_line),
        source=snapshot.feed_source or "none",
        checked_at=snapshot.feed_checked_at,
        problem=snapshot.feed_problem,
    )


def _deployment(snapshot: Snapshot) -> DeploymentInfo:
    url = config.get(config.CONTROL_PLANE_URL).rstrip("/")
    deployment_id = config.get(config.DEPLOYMENT_ID)
    profile = snapshot.profile
    return DeploymentInfo(
        organization_id=config.get(config.ORGANIZATION_ID),
        organization_name=profile.organization_name if profile else None,
        workspace_id=config.get(config.WORKSPACE_ID),
        workspace_name=profile.workspace_name if profile else None,
        deployment_id=deployment_id,
        deployment_name=profile.deployment_name if profile else None,
        control_plane_url=url,
        deployment_page_url=f"{url}/deployments/{deployment_id}/status" if url and deployment_id else None,
    )


def _revocations_synced_at() -> dt.datetime | None:
    """When this api-server's auth manager last synced the revocation list (ours only)."""
    try:
        from airflow.api_fastapi.app import get_auth_manager

        from astronomer_plugins.auth.manager import AstronomerAuthManager

        manager = get_auth_manager()
    except Exception:  # noqa: BLE001 - no auth manager yet (e.g. outside an api-server)
        return None
    if not isinstance(manager, AstronomerAuthManager):
        return None
    return manager.context.verifier.revocations.synced_at


def _this_api_server_registered() -> bool | None:
    from astronomer_plugins.agent import lifecycle
    from astronomer_plugins.registration.job import RegistrationJob

    agent = lifecycle.current()
    job = agent.job(RegistrationJob.name) if agent is not None else None
    return job.registered if isinstance(job, RegistrationJob) else None


def _connection(snapshot: Snapshot, now: dt.datetime) -> ConnectionInfo:
    rows = [
        ComponentRow(
            component=c.component.value,
            hostname=c.hostname,
            state=c.state.value,
            runtime_version=c.runtime_version,
            last_heartbeat_at=c.last_heartbeat_at,
            metrics_last_push_at=str(c.last_heartbeat.details.get("metrics_last_push_at"))
            if c.last_heartbeat and "metrics_last_push_at" in c.last_heartbeat.details
            else None,
        )
        for c in snapshot.components or []
    ]
    pushes = [row.metrics_last_push_at for row in rows if row.metrics_last_push_at]
    synced = _revocations_synced_at()
    return ConnectionInfo(
        configured=bool(config.get(config.CONTROL_PLANE_URL)),
        this_api_server_registered=_this_api_server_registered(),
        components=rows,
        components_checked_at=snapshot.components_checked_at,
        last_metrics_push_at=max(pushes) if pushes else None,
        revocation_list_synced_at=synced,
        revocation_list_age_seconds=round((now - synced).total_seconds(), 1) if synced else None,
        problem=snapshot.control_plane_problem,
    )


def _parsed_bundle_version() -> str | None:
    """The control-plane bundle's version as the dag-processor recorded it in Airflow's database."""
    try:
        from airflow.models.dagbundle import DagBundleModel
        from airflow.utils.session import create_session
        from sqlalchemy import select

        from astronomer_plugins.bundles import BUNDLE_NAME

        with create_session() as session:
            query = select(DagBundleModel.version).where(DagBundleModel.name == BUNDLE_NAME)
            return session.scalar(query)
    except Exception:  # noqa: BLE001 - no database here (e.g. a unit test): the page shows "unknown"
        return None


def _deploys(snapshot: Snapshot) -> DeploysInfo:
    rows = [
        DeployRow(
            id=d.id,
            kind=d.kind.value,
            version=d.bundle.version if d.bundle else (d.image.digest if d.image else None),
            image=d.image.reference if d.image else None,
            author=d.author,
            created_at=d.created_at,
            description=d.description,
            git_commit=d.git_commit,
            rollback_of=d.rollback_of,
        )
        for d in snapshot.deploys or []
    ]
    return DeploysInfo(
        current=next((row for row in rows if row.kind == "dag"), None),
        parsed_version=_parsed_bundle_version() if config.get(config.CONTROL_PLANE_URL) else None,
        history=rows,
        checked_at=snapshot.deploys_checked_at,
        problem=snapshot.deploys_problem,
    )


def banner_for(running: str, status: releases.SupportStatus) -> BannerInfo | None:
    """The end-of-maintenance banner, unless turned off by setting."""
    if not config.get_bool(config.EOM_NOTICE_ENABLED):
        return None
    banner = releases.end_of_maintenance_banner(
        running, status, warn_days=config.get_int(config.EOM_NOTICE_DAYS)
    )
    return BannerInfo(**vars(banner)) if banner else None


def build_overview(
    snapshot: Snapshot,
    installed: dict[str, str],
    manifest: ReleaseManifest | None,
    manifest_problem: str | None,
    *,
    running: str,
    now: dt.datetime,
) -> RuntimeOverview:
    release, status = _release(running, snapshot, now.date())
    return RuntimeOverview(
        release=release,
        providers=provider_rows(installed, manifest),
        manifest_problem=manifest_problem,
        upgrades=_upgrades(running, snapshot),
        deployment=_deployment(snapshot),
        connection=_connection(snapshot, now),
        deploys=_deploys(snapshot),
        banner=banner_for(running, status),
    )
