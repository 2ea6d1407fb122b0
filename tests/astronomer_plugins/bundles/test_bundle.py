"""ControlPlaneDagBundle in this process against the real control plane over HTTP: what the
dag-processor's refreshes and a task runner's `version=` see, outages and refused downloads."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from astronomer_plugins.bundles import BUNDLE_NAME, ControlPlaneDagBundle
from astronomer_plugins.errors import BundleRefused
from tests.astronomer_plugins.bundles.deploys import Deployer, make_bundle, sha256
from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.usefixtures("connected")
LOGGER = "astronomer_plugins.bundles.bundle"


def bundle_files(message: str) -> dict[str, str]:
    return {"dags/hello.py": f"MESSAGE = {message!r}\n", "include/message.py": f"TEXT = {message!r}\n"}


def processor_bundle() -> ControlPlaneDagBundle:
    """The dag-processor's instance (no version), initialized as Airflow does before refreshing."""
    bundle = ControlPlaneDagBundle(name=BUNDLE_NAME, refresh_interval=1)
    bundle.initialize()
    return bundle


def served(bundle: ControlPlaneDagBundle) -> str | None:
    current = bundle.get_current_version()
    return current.version if current else None


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


def test_no_deploy_yet_is_an_empty_bundle_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    bundle = processor_bundle()
    bundle.refresh()
    bundle.refresh()
    assert served(bundle) is None
    assert bundle.path.is_dir() and list(bundle.path.iterdir()) == []
    assert len(messages(caplog, "no DAG deploy yet")) == 1


def test_each_deploy_becomes_the_served_version_and_older_ones_stay_readable(deployer: Deployer) -> None:
    v1, v2 = make_bundle(bundle_files("v1")), make_bundle(bundle_files("v2"))
    first = deployer.deploy(v1, description="first")
    bundle = processor_bundle()
    bundle.refresh()
    current = bundle.get_current_version()
    assert current is not None and current.version == sha256(v1)
    assert current.data is not None
    assert (current.data["deploy_id"], current.data["description"]) == (first["id"], "first")
    assert (bundle.path / "dags/hello.py").read_text() == "MESSAGE = 'v1'\n"

    deployer.deploy(v2, description="second")
    bundle.refresh()
    assert served(bundle) == sha256(v2)
    assert (bundle.path / "dags/hello.py").read_text() == "MESSAGE = 'v2'\n"
    # A run created on v1 still reads v1's code (the path the task runner gets).
    old = ControlPlaneDagBundle(name=BUNDLE_NAME, version=sha256(v1))
    old.initialize()
    assert (old.path / "include/message.py").read_text() == "TEXT = 'v1'\n"
    assert sys.path[0] == str(old.path)


def test_a_task_runner_on_another_machine_fetches_its_version(
    deployer: Deployer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = make_bundle(bundle_files("v1"))
    deployer.deploy(v1)
    deployer.deploy(make_bundle(bundle_files("v2")))
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "worker-storage"))
    runner = ControlPlaneDagBundle(name=BUNDLE_NAME, version=sha256(v1))
    runner.initialize()
    assert runner.path == tmp_path / "worker-storage" / BUNDLE_NAME / "versions" / sha256(v1)
    assert (runner.path / "dags/hello.py").read_text() == "MESSAGE = 'v1'\n"


def test_rollback_serves_the_earlier_version_again(deployer: Deployer) -> None:
    v1 = make_bundle(bundle_files("v1"))
    first = deployer.deploy(v1)
    bundle = processor_bundle()
    bundle.refresh()
    deployer.deploy(make_bundle(bundle_files("v2")))
    bundle.refresh()
    rollback = deployer.rollback(first["id"])
    bundle.refresh()
    current = bundle.get_current_version()
    assert current is not None and current.version == sha256(v1)
    assert current.data is not None and current.data["deploy_id"] == rollback["id"]
    assert (bundle.path / "dags/hello.py").read_text() == "MESSAGE = 'v1'\n"


def test_the_served_version_is_reported_to_the_control_plane(deployer: Deployer) -> None:
    first = deployer.deploy(make_bundle(bundle_files("reported v1")))
    bundle = processor_bundle()
    assert deployer.get(first["id"])["served_at"] is None
    bundle.refresh()
    assert deployer.get(first["id"])["served_at"] is not None
    v2 = make_bundle(bundle_files("reported v2"))
    second = deployer.deploy(v2)
    assert deployer.get(second["id"])["served_at"] is None  # deployed, not yet served
    bundle.refresh()
    assert deployer.get(second["id"])["served_at"] is not None
    # The same code deployed again (a pipeline redeploying unchanged code) is a deploy of its own.
    again = deployer.deploy(v2)
    assert again["bundle"]["version"] == second["bundle"]["version"] and again["id"] != second["id"]
    bundle.refresh()
    assert deployer.get(again["id"])["served_at"] is not None


def test_airflows_stale_bundle_cleanup_removes_old_deploys_never_the_served_one(
    deployer: Deployer, storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's own cleanup (as the dag-processor runs it every stale_bundle_cleanup_interval), with
    no minimum count and no age threshold: the version no longer served goes, the served one stays."""
    from airflow.dag_processing.bundles import base

    monkeypatch.setattr(base, "STALE_BUNDLE_TRACKING_FOLDER", storage / "_tracking")  # set at import
    classpath = f"{ControlPlaneDagBundle.__module__}.ControlPlaneDagBundle"
    config = [{"name": BUNDLE_NAME, "classpath": classpath, "kwargs": {}}]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(config))
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__STALE_BUNDLE_CLEANUP_MIN_VERSIONS", "0")
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__STALE_BUNDLE_CLEANUP_AGE_THRESHOLD", "0")
    v1, v2 = make_bundle(bundle_files("old")), make_bundle(bundle_files("new"))
    bundle = processor_bundle()
    deployer.deploy(v1)
    bundle.refresh()
    deployer.deploy(v2)
    bundle.refresh()
    assert sorted(path.name for path in (storage / "_tracking" / BUNDLE_NAME).iterdir()) == sorted(
        [sha256(v1), sha256(v2)]
    )

    base.BundleUsageTrackingManager().remove_stale_bundle_versions()
    versions = storage / BUNDLE_NAME / "versions"
    assert sorted(path.name for path in versions.iterdir()) == [sha256(v2)]
    assert (bundle.path / "dags/hello.py").read_text() == "MESSAGE = 'new'\n"
    bundle.refresh()
    assert served(bundle) == sha256(v2)


def test_an_outage_keeps_the_last_good_version_and_is_logged_once(
    deployer: Deployer, control_plane: ControlPlaneServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    v1 = make_bundle(bundle_files("v1"))
    deployer.deploy(v1)
    bundle = processor_bundle()
    bundle.refresh()
    control_plane.stop()
    try:
        for _ in range(3):
            bundle.refresh()
        assert served(bundle) == sha256(v1)
        assert (bundle.path / "dags/hello.py").read_text() == "MESSAGE = 'v1'\n"
        assert len(messages(caplog, "refresh failed, keeping version " + sha256(v1))) == 1
        # A dag-processor restarted during the outage serves the same version from its storage.
        restarted = processor_bundle()
        restarted.refresh()
        assert served(restarted) == sha256(v1)
    finally:
        control_plane.start()
    bundle.refresh()
    assert len(messages(caplog, "refresh works again")) == 1


def test_a_corrupt_download_is_refused_and_the_previous_version_kept(
    deployer: Deployer, control_plane: ControlPlaneServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    v1, v2 = make_bundle(bundle_files("v1")), make_bundle(bundle_files("v2"))
    deployer.deploy(v1)
    bundle = processor_bundle()
    bundle.refresh()
    deployer.deploy(v2)
    # The control plane's stored copy rots on its disk: same size, other bytes.
    stored = control_plane.data_dir / "bundles" / f"{sha256(v2)}.tar.gz"
    stored.write_bytes(v2[:-8] + bytes(8))
    bundle.refresh()
    bundle.refresh()
    assert served(bundle) == sha256(v1)
    assert (bundle.path / "dags/hello.py").read_text() == "MESSAGE = 'v1'\n"
    refused = messages(caplog, "corrupt download")
    assert len(refused) == 1 and f"bundle {sha256(v2)[:12]}: corrupt download, its sha256 is" in refused[0]
    assert not (bundle.versions_dir / sha256(v2)).exists()
    assert list((bundle.base_dir / "tmp").iterdir()) == []


def test_a_bundle_over_the_size_limit_is_refused(
    deployer: Deployer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    data = make_bundle(bundle_files("v1"))
    deployer.deploy(data)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__BUNDLE_MAX_BYTES", "100")
    bundle = processor_bundle()
    bundle.refresh()
    assert served(bundle) is None
    refused = messages(caplog, "refresh failed")
    assert len(refused) == 1
    assert f"{len(data)} bytes exceeds 100 ([astronomer] bundle_max_bytes)" in refused[0]


@pytest.mark.parametrize("version", ["../../etc", "v1", "A" * 64])
def test_a_version_that_is_not_a_digest_is_never_a_path(version: str) -> None:
    with pytest.raises(BundleRefused, match="is not a sha256 hex digest"):
        _ = ControlPlaneDagBundle(name=BUNDLE_NAME, version=version).path


def test_without_a_control_plane_the_bundle_is_the_dags_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow import settings

    monkeypatch.delenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL")
    bundle = ControlPlaneDagBundle(name=BUNDLE_NAME)
    bundle.initialize()
    bundle.refresh()
    assert bundle.path == Path(settings.DAGS_FOLDER)
    assert bundle.get_current_version() is None
