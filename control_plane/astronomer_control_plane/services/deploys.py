"""Deploy records: DAG deploys (a stored bundle), image deploys (an image the catalog knows), the
history of a deployment, rollbacks, and what a deployment's agent may fetch."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from astronomer_control_plane import bundle_store
from astronomer_control_plane.access import Deployer
from astronomer_control_plane.context import ControlPlane
from astronomer_control_plane.errors import BadRequest, NotFound
from astronomer_control_plane.orm import Bundle, Deployment, DeployRecord, utcnow
from astronomer_control_plane.schemas import ImageDeployIn
from astronomer_plugins.control_plane.models import BundleRef, Deploy, DeployKind, ImageRef

HISTORY_LIMIT = 100


def _bundle_ref(record: DeployRecord, bundle: Bundle) -> BundleRef:
    return BundleRef(
        version=bundle.sha256,
        sha256=bundle.sha256,
        size_bytes=bundle.size_bytes,
        deploy_id=record.id,
        created_at=record.created_at,
        author=record.author,
        description=record.description,
        git_commit=record.git_commit,
    )


def _deploy_out(session: Session, record: DeployRecord) -> Deploy:
    bundle = session.get(Bundle, record.bundle_sha256) if record.bundle_sha256 else None
    image = None
    if record.kind == DeployKind.IMAGE.value:
        image = ImageRef(
            reference=record.image_reference or "",
            digest=record.image_digest or "",
            runtime_version=record.image_runtime_version or "",
        )
    return Deploy(
        id=record.id,
        deployment_id=record.deployment_id,
        kind=DeployKind(record.kind),
        bundle=_bundle_ref(record, bundle) if bundle is not None else None,
        image=image,
        author=record.author,
        created_at=record.created_at,
        description=record.description,
        git_commit=record.git_commit,
        rollback_of=record.rollback_of,
        served_at=record.served_at,
    )


def create_dag_deploy(
    cp: ControlPlane,
    deployer: Deployer,
    stored: bundle_store.StoredBundle,
    *,
    description: str,
    git_commit: str | None,
) -> Deploy:
    """Record a DAG deploy of a bundle already checked and stored; it becomes the current one."""
    with cp.transaction() as session:
        if session.get(Bundle, stored.sha256) is None:
            try:
                # A savepoint: the same bundle uploaded concurrently is recorded once, both deploys stand.
                with session.begin_nested():
                    session.add(
                        Bundle(
                            sha256=stored.sha256,
                            size_bytes=stored.size_bytes,
                            unpacked_bytes=stored.unpacked_bytes,
                        )
                    )
            except IntegrityError:
                pass
        record = DeployRecord(
            deployment_id=deployer.deployment_id,
            kind=DeployKind.DAG.value,
            bundle_sha256=stored.sha256,
            author=deployer.author,
            description=description,
            git_commit=git_commit,
        )
        session.add(record)
        session.flush()
        return _deploy_out(session, record)


def _known_release(cp: ControlPlane, runtime_version: str) -> None:
    """The release is in the update feed and not yanked (422 naming `runtime_version` otherwise)."""
    from pydantic import ValidationError

    from astronomer_plugins.feed import RuntimeFeed

    feed_file = cp.settings.feed_file
    if feed_file is None or not feed_file.is_file():
        raise BadRequest(
            f"image deploys need the release catalog: start the control plane with --feed-file "
            f"(missing: {feed_file})",
            field="runtime_version",
        )
    try:
        feed = RuntimeFeed.model_validate_json(Path(feed_file).read_bytes())
    except ValidationError as exc:
        raise BadRequest(
            f"{feed_file} is not an update feed: {exc.errors()[0]['msg']}", field="feed"
        ) from None
    release = feed.runtime_versions_v3.get(runtime_version)
    if release is None:
        known = ", ".join(sorted(feed.runtime_versions_v3)) or "none"
        raise BadRequest(
            f"runtime_version {runtime_version!r} is not a Runtime release the catalog knows "
            f"(known: {known}); check the image's Runtime label",
            field="runtime_version",
        )
    if release.metadata.yanked:
        raise BadRequest(
            f"runtime_version {runtime_version!r} is yanked: deploy an image built FROM another release",
            field="runtime_version",
        )


def create_image_deploy(cp: ControlPlane, deployer: Deployer, body: ImageDeployIn) -> Deploy:
    """Record an image deploy; the deployment's runtime version follows the image's release."""
    _known_release(cp, body.runtime_version)
    with cp.transaction() as session:
        deployment = session.get(Deployment, deployer.deployment_id)
        if deployment is None:
            raise NotFound(f"deployment {deployer.deployment_id!r} not found", field="deployment_id")
        deployment.runtime_version = body.runtime_version
        record = DeployRecord(
            deployment_id=deployment.id,
            kind=DeployKind.IMAGE.value,
            image_reference=body.reference,
            image_digest=body.digest,
            image_runtime_version=body.runtime_version,
            author=deployer.author,
            description=body.description,
            git_commit=body.git_commit,
        )
        session.add(record)
        session.flush()
        return _deploy_out(session, record)


def history(cp: ControlPlane, deployment_id: str, limit: int = HISTORY_LIMIT) -> list[Deploy]:
    """The deployment's deploys, newest first."""
    with cp.transaction() as session:
        query = (
            select(DeployRecord)
            .where(DeployRecord.deployment_id == deployment_id)
            .order_by(DeployRecord.seq.desc())
            .limit(limit)
        )
        return [_deploy_out(session, record) for record in session.scalars(query)]


def get(cp: ControlPlane, deployment_id: str, deploy_id: str) -> Deploy:
    with cp.transaction() as session:
        record = session.scalar(select(DeployRecord).where(DeployRecord.id == deploy_id))
        if record is None or record.deployment_id != deployment_id:
            raise NotFound(f"deploy {deploy_id!r} not found in this deployment", field="deploy_id")
        return _deploy_out(session, record)


def rollback(cp: ControlPlane, deployer: Deployer, deploy_id: str, *, description: str) -> Deploy:
    """A new DAG deploy of an earlier deploy's bundle (the history keeps both)."""
    with cp.transaction() as session:
        earlier = session.scalar(select(DeployRecord).where(DeployRecord.id == deploy_id))
        if earlier is None or earlier.deployment_id != deployer.deployment_id:
            raise NotFound(f"deploy {deploy_id!r} not found in this deployment", field="deploy_id")
        if earlier.kind != DeployKind.DAG.value or earlier.bundle_sha256 is None:
            raise BadRequest(
                f"deploy {deploy_id!r} is an image deploy: only DAG deploys can be rolled back "
                "(deploy the earlier image again instead)",
                field="deploy_id",
            )
        record = DeployRecord(
            deployment_id=deployer.deployment_id,
            kind=DeployKind.DAG.value,
            bundle_sha256=earlier.bundle_sha256,
            author=deployer.author,
            description=description or f"rollback to {earlier.id}",
            git_commit=earlier.git_commit,
            rollback_of=earlier.id,
        )
        session.add(record)
        session.flush()
        return _deploy_out(session, record)


def current_bundle(cp: ControlPlane, deployment_id: str) -> BundleRef:
    """The bundle of the deployment's newest DAG deploy (404 before the first one)."""
    with cp.transaction() as session:
        record = session.scalar(
            select(DeployRecord)
            .where(DeployRecord.deployment_id == deployment_id, DeployRecord.kind == DeployKind.DAG.value)
            .order_by(DeployRecord.seq.desc())
            .limit(1)
        )
        bundle = session.get(Bundle, record.bundle_sha256) if record and record.bundle_sha256 else None
        if record is None or bundle is None:
            raise NotFound(
                f"deployment {deployment_id!r} has no DAG deploy yet: deploy one with `astro-runtime deploy`",
                field="deployment_id",
            )
        return _bundle_ref(record, bundle)


def mark_served(cp: ControlPlane, deployment_id: str, version: str) -> None:
    """The deployment's dag-processor serves `version`: the newest DAG deploy of that bundle records
    when (the first report counts; more dag-processors, or a restart, report again)."""
    with cp.transaction() as session:
        record = session.scalar(
            select(DeployRecord)
            .where(
                DeployRecord.deployment_id == deployment_id,
                DeployRecord.kind == DeployKind.DAG.value,
                DeployRecord.bundle_sha256 == version,
            )
            .order_by(DeployRecord.seq.desc())
            .limit(1)
        )
        if record is None:
            raise NotFound(f"bundle {version!r} was never deployed to this deployment", field="version")
        if record.served_at is None:
            record.served_at = utcnow()


def deployed_bundle(cp: ControlPlane, deployment_id: str, version: str) -> Path:
    """The file of a bundle version that was deployed to this deployment; 404 for any other
    (a deployment cannot read another's bundles, even by their content address)."""
    missing = NotFound(f"bundle {version!r} was never deployed to this deployment", field="version")
    if not bundle_store.SHA256_HEX.match(version):
        raise missing
    with cp.transaction() as session:
        deployed = session.scalar(
            select(DeployRecord.id)
            .where(DeployRecord.deployment_id == deployment_id, DeployRecord.bundle_sha256 == version)
            .limit(1)
        )
        bundle = session.get(Bundle, version)
        if deployed is None or bundle is None:
            raise missing
    path = bundle_store.bundle_path(cp.settings, version)
    if not path.is_file():  # deleted by hand from the data directory: say so, not a 500 mid-stream
        raise NotFound(
            f"bundle {version!r} is recorded but its file is gone from the control plane", field="version"
        )
    return path
