"""The background refresh: the control plane's feed when reachable, the offline feed otherwise,
at most once per interval; files that are missing or broken are named, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_plugins.ui.sync import CONTROL_PLANE_SOURCE, OFFLINE_SOURCE, RuntimeInfoSync, load_manifest
from tests.astronomer_plugins.ui.conftest import RUNNING, near_end_of_maintenance_catalog, write_release_files
from tests.support.control_plane import make_tree
from tests.support.servers import ControlPlaneServer, free_port


@pytest.fixture
def release_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Offline files from a catalog where 3.3-1 is near its end; the control plane will serve the real one."""
    catalog = near_end_of_maintenance_catalog(tmp_path / "versions.yaml", RUNNING, 5)
    feed_file, manifest_file = write_release_files(tmp_path, catalog, RUNNING)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__OFFLINE_FEED_FILE", str(feed_file))
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__RELEASE_MANIFEST_FILE", str(manifest_file))
    return feed_file, manifest_file


def _offline_end(sync: RuntimeInfoSync) -> str:
    return sync.snapshot.feed.runtime_versions_v3[RUNNING].metadata.end_of_maintenance.isoformat()


def test_without_a_control_plane_the_offline_feed_is_used(release_files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", raising=False)
    sync = RuntimeInfoSync()
    sync.refresh()
    assert sync.snapshot.feed_source == OFFLINE_SOURCE and sync.snapshot.feed_problem is None
    assert RUNNING in sync.snapshot.feed.runtime_versions_v3
    assert sync.snapshot.components is None and sync.snapshot.control_plane_problem is None


def test_when_the_control_plane_is_down_the_offline_feed_stays(release_files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", "dep_down")
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__AGENT_TOKEN", "agent-token-for-a-dead-control-plane")
    sync = RuntimeInfoSync()
    offline_end = _offline_end(sync)
    sync.refresh()
    snapshot = sync.snapshot
    assert snapshot.feed_source == OFFLINE_SOURCE and _offline_end(sync) == offline_end
    assert snapshot.feed_problem.startswith("update check failed")
    assert snapshot.control_plane_problem and "agent-token-for-a-dead-control-plane" not in snapshot.control_plane_problem


def test_the_control_plane_feed_is_fetched_at_most_once_per_interval(
    release_files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ControlPlaneServer(tmp_path / "cp").start()
    try:
        tree = make_tree(server, "sync-tests")
        monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", server.url)
        monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", tree.deployment_id)
        monkeypatch.setenv("AIRFLOW__ASTRONOMER__AGENT_TOKEN", tree.agent_token)
        sync = RuntimeInfoSync()
        offline_end = _offline_end(sync)
        sync.refresh(now=0.0)
        fetched = sync.snapshot
        assert fetched.feed_source == CONTROL_PLANE_SOURCE and fetched.feed_checked_at is not None
        assert _offline_end(sync) != offline_end  # the control plane serves the real catalog
        assert fetched.profile.deployment_id == tree.deployment_id and fetched.components == []
    finally:
        server.stop()
    sync.refresh(now=3600.0)  # not due (24 h default): no fetch, so no failure either
    assert sync.snapshot.feed_checked_at == fetched.feed_checked_at and sync.snapshot.feed_problem is None
    assert sync.snapshot.control_plane_problem  # the deployment status, refreshed every round, failed
    sync.refresh(now=24 * 3600.0 + 1)  # due: the fetch fails, the last good feed stays
    assert sync.snapshot.feed_source == CONTROL_PLANE_SOURCE and sync.snapshot.feed_problem.startswith("update check failed")


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "does not exist ([astronomer] release_manifest_file)"), ("{not json", "cannot be read"),
     ('{"name": "3.3-1"}', "is not a release manifest")],
)  # fmt: skip
def test_a_missing_or_broken_manifest_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content, problem) -> None:
    path = tmp_path / "runtime-release.json"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__RELEASE_MANIFEST_FILE", str(path))
    manifest, message = load_manifest()
    assert manifest is None and str(path) in message and problem in message
