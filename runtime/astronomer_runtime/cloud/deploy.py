"""Deploy a project to a deployment: parse it, pack and upload its DAG bundle (or record an image),
then optionally wait until the deployment's dag-processor serves that bundle version; history; rollback.

A DAG deploy is Airflow 3's versioned DAG bundle `control-plane`: its version is the bundle's sha256.
The deployment's dag-processor reports each version it starts serving to the control plane, which
records it on the deploy (`served_at`); `--wait` polls that record with the deployer's own login, so
any login that may deploy may wait (the deployment's Airflow is not asked).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from astronomer_control_plane.schemas import DeploymentEndpoint
from astronomer_plugins.control_plane.models import Deploy, ImageRef
from astronomer_runtime.cloud import archive
from astronomer_runtime.cloud.errors import ArchiveRefused, CloudError
from astronomer_runtime.cloud.session import Session

BUNDLE_NAME = "control-plane"  # the [dag_processor] dag_bundle_config_list entry (deploy contract)
RUNTIME_LABELS = ("io.astronomer.docker.runtime.version", "io.astronomer.runtime.version")


def deploys_path(session: Session, deployment_id: str) -> str:
    return f"{session.org_path}/deployments/{deployment_id}/deploys"


def parse_problems(project: Path, runtime_version: str) -> list[str]:
    """One line per DAG file that fails `astro-runtime project parse` (same child, same rules)."""
    from astronomer_runtime.project import parse_report
    from astronomer_runtime.project.parse_exceptions import tolerated_files
    from astronomer_runtime.project.parse_run import run_probe

    results = parse_report.annotate(
        run_probe(project, python=sys.executable, runtime_version=runtime_version), tolerated_files(project)
    )
    return [_problem(result) for result in parse_report.failed(results)]


def _problem(result: dict[str, Any]) -> str:
    errors = result.get("errors") or []
    if not errors:
        return f"{result['file']}: {str(result['status']).replace('_', ' ')}"
    first = errors[0]
    where = f"line {first['line']}: " if first.get("line") else ""
    return f"{result['file']}: {where}{str(first['message']).strip().splitlines()[0]}"


def git_commit(project: Path) -> str | None:
    """The project's HEAD commit when it is a git work tree (recorded with the deploy), else None."""
    if shutil.which("git") is None:
        return None
    found = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "--verify", "HEAD"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    commit = found.stdout.strip()
    return commit if found.returncode == 0 and len(commit) in (40, 64) else None


def upload(
    session: Session, deployment_id: str, bundle: archive.Bundle, description: str, commit: str | None
) -> Deploy:
    params = {"description": description, **({"git_commit": commit} if commit else {})}
    return session.parsed(
        "deploy",
        Deploy.model_validate,
        "POST",
        deploys_path(session, deployment_id),
        expected=(201,),
        data=bundle.data,
        headers={"Content-Type": "application/gzip", "X-Bundle-SHA256": bundle.sha256},
        params=params,
    )


@dataclass(frozen=True)
class ImageFacts:
    reference: str
    digest: str
    runtime_version: str


def inspect_image(reference: str, digest: str | None, runtime_version: str | None) -> ImageFacts:
    """Digest and Runtime label from `skopeo inspect` unless both are given. A reference without a
    transport is a registry reference (docker://)."""
    if digest and runtime_version:
        return ImageFacts(reference, digest, runtime_version)
    if shutil.which("skopeo") is None:
        raise CloudError(
            "skopeo is not installed (apt-get install skopeo), or pass --digest and --runtime-version"
        )
    transports = ("docker://", "oci:", "oci-archive:", "docker-archive:", "containers-storage:", "dir:")
    source = reference if reference.startswith(transports) else f"docker://{reference}"
    found = subprocess.run(
        ["skopeo", "inspect", source], capture_output=True, text=True, timeout=120, check=False
    )
    if found.returncode != 0:
        raise CloudError(f"skopeo inspect {source} failed: {found.stderr.strip()[:300]}")
    facts = json.loads(found.stdout)
    labels = facts.get("Labels") or {}
    version = runtime_version or next((labels[k] for k in RUNTIME_LABELS if labels.get(k)), None)
    if not version:
        raise CloudError(f"{reference} has no {RUNTIME_LABELS[0]} label: pass --runtime-version")
    return ImageFacts(reference, digest or str(facts.get("Digest", "")), version)


def image_deploy(session: Session, deployment_id: str, facts: ImageFacts, description: str) -> Deploy:
    body = {
        "reference": facts.reference,
        "digest": facts.digest,
        "runtime_version": facts.runtime_version,
        "description": description,
    }
    try:  # the wire model's own checks first: one line naming the field, not a 422 round trip
        ImageRef(reference=facts.reference, digest=facts.digest, runtime_version=facts.runtime_version)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise CloudError(f"image {facts.reference}: {field} {first['input']!r}: {first['msg']}") from None
    return session.parsed(
        "deploy image",
        Deploy.model_validate,
        "POST",
        deploys_path(session, deployment_id) + "/image",
        expected=(201,),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


def history(session: Session, deployment_id: str) -> list[Deploy]:
    return session.parsed(
        "list deploys",
        lambda items: [Deploy.model_validate(item) for item in items],
        "GET",
        deploys_path(session, deployment_id),
    )


def rollback(session: Session, deployment_id: str, deploy_id: str) -> Deploy:
    return session.parsed(
        "rollback",
        Deploy.model_validate,
        "POST",
        f"{deploys_path(session, deployment_id)}/{deploy_id}/rollback",
        expected=(201,),
    )


def endpoint(session: Session, deployment_id: str) -> DeploymentEndpoint:
    return session.parsed(
        "find the deployment's Airflow",
        DeploymentEndpoint.model_validate,
        "GET",
        f"/v1/deployments/{deployment_id}/endpoint",
    )


def get_deploy(session: Session, deployment_id: str, deploy_id: str) -> Deploy:
    return session.parsed(
        "read the deploy", Deploy.model_validate, "GET", f"{deploys_path(session, deployment_id)}/{deploy_id}"
    )


def wait_until_served(
    session: Session,
    deployment_id: str,
    record: Deploy,
    *,
    timeout: float,
    interval: float = 1.0,
    progress: Callable[[str], Any] = print,
) -> float:
    """Seconds until the deployment's dag-processor reports serving `record`'s bundle (polls the
    control plane's deploy record with a deadline)."""
    version = record.bundle.version[:12] if record.bundle else "-"
    started = time.monotonic()
    progress(f"Waiting for deployment {deployment_id} to serve bundle {version} (up to {timeout:.0f} s)...")
    while True:
        if get_deploy(session, deployment_id, record.id).served_at is not None:
            return time.monotonic() - started
        if time.monotonic() - started >= timeout:
            raise CloudError(
                f"deployment {deployment_id} did not report serving bundle {version} within {timeout:.0f} s "
                f"(is its dag-processor running with the {BUNDLE_NAME} DAG bundle and reaching the control "
                "plane? its log says why not)"
            )
        time.sleep(interval)


def refuse_on_parse_errors(problems: list[str], force: bool) -> None:
    if problems and not force:
        lines = "\n".join(f"  {line}" for line in problems)
        raise ArchiveRefused(
            f"not deployed: {len(problems)} DAG file(s) fail to import (astro-runtime project parse):\n"
            f"{lines}\nFix them, or deploy anyway with --force"
        )
