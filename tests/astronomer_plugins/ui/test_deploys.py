"""The Runtime page's Deploys section: the background sync reads the deployment's deploys from the
real control plane (agent token), the page shows the current DAG deploy and the recent history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from astronomer_plugins.ui.overview import build_overview
from astronomer_plugins.ui.sync import RuntimeInfoSync, Snapshot
from tests.astronomer_plugins.bundles.deploys import Deployer, make_bundle, sha256
from tests.support.control_plane import make_tree
from tests.support.servers import ControlPlaneServer

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
TEMPLATES = Path(__file__).parents[3] / "astronomer_plugins" / "ui" / "templates"


def render(overview: object) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("runtime.html").render(o=overview, user="tester")


def test_the_page_shows_the_current_deploy_and_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ControlPlaneServer(tmp_path / "cp").start()
    try:
        tree = make_tree(server, "ui-deploys")
        monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", server.url)
        monkeypatch.setenv("AIRFLOW__ASTRONOMER__DEPLOYMENT_ID", tree.deployment_id)
        monkeypatch.setenv("AIRFLOW__ASTRONOMER__AGENT_TOKEN", tree.agent_token)
        deployer = Deployer(server, tree)
        v1, v2 = make_bundle({"dags/a.py": "A = 1\n"}), make_bundle({"dags/a.py": "A = 2\n"})
        first = deployer.deploy(v1, description="first <b>deploy</b>")
        deployer.deploy(v2, description="second")
        deployer.rollback(first["id"])
        sync = RuntimeInfoSync()
        sync.refresh(now=0.0)
    finally:
        server.stop()

    overview = build_overview(sync.snapshot, {}, None, None, running="3.3-2", now=NOW)
    deploys = overview.deploys
    assert deploys.problem is None and deploys.checked_at is not None
    assert [(row.kind, row.version, row.rollback_of) for row in deploys.history] == [
        ("dag", sha256(v1), first["id"]),
        ("dag", sha256(v2), None),
        ("dag", sha256(v1), None),
    ]
    assert deploys.current is not None and deploys.current.version == sha256(v1)
    assert deploys.current.author.startswith("workspace-workspace_author")
    html = render(overview)
    assert "Current DAG deploy" in html and sha256(v1)[:12] in html and sha256(v2)[:12] in html
    assert "(rollback)" in html
    assert "first &lt;b&gt;deploy&lt;/b&gt;" in html  # a description is text, never markup
    assert tree.agent_token not in html


def test_an_unreachable_control_plane_is_named_and_nothing_is_invented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__ASTRONOMER__CONTROL_PLANE_URL", "http://127.0.0.1:9")
    snapshot = Snapshot(deploys_problem="GET http://127.0.0.1:9/v1/deployments/dep/deploys: no answer")
    overview = build_overview(snapshot, {}, None, None, running="3.3-2", now=NOW)
    assert overview.deploys.current is None and overview.deploys.history == []
    html = render(overview)
    assert "Deploy history: GET http://127.0.0.1:9/v1/deployments/dep/deploys: no answer" in html
    assert "No DAG deploy yet" in html


def test_without_a_control_plane_the_page_says_where_dags_come_from() -> None:
    overview = build_overview(Snapshot(), {}, None, None, running="3.3-2", now=NOW)
    assert "its DAGs come from the image's dags folder" in render(overview)
