"""A real deployment for auth tests: the reference control plane plus an Airflow api-server running
our auth manager, with three DAGs and a test plugin whose routes use our permission dependency."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from tests.support.control_plane import Tree, deployment_settings, make_tree
from tests.support.servers import AirflowApiServer, ControlPlaneServer

MANAGER = "astronomer_plugins.auth.manager.AstronomerAuthManager"
DAGS = {"etl_orders": ["finance"], "etl_users": ["people"], "report_daily": ["finance"]}
PLUGIN = '''
from fastapi import Depends, FastAPI
from airflow.plugins_manager import AirflowPlugin
from astronomer_plugins.auth.dependencies import requires_permission

app = FastAPI()

@app.get("/hello")
def hello(user=Depends(requires_permission("GET", "Runtime"))):
    return {"user": user.get_name()}

@app.post("/settings")
def change(user=Depends(requires_permission("POST", "Runtime"))):
    return {"changed_by": user.get_name()}

class ProtectedTestPlugin(AirflowPlugin):
    name = "protected_test"
    fastapi_apps = [{"app": app, "url_prefix": "/protected", "name": "protected"}]
'''


def _dag_file(dag_id: str, tags: list[str]) -> str:
    return textwrap.dedent(f"""
        import pendulum
        from airflow.sdk import dag, task

        @dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), tags={tags!r})
        def build():
            @task
            def noop():
                return 1
            noop()

        build()
    """)


@dataclass
class Deployment:
    control_plane: ControlPlaneServer
    airflow: AirflowApiServer
    tree: Tree

    def sign(self, claims: dict, *, kid: str | None = None, headers: dict | None = None) -> str:
        """A token signed with the control plane's real active key (for crafting bad claims)."""
        newest = max((self.control_plane.data_dir / "keys").glob("*.pem"), key=lambda p: p.stat().st_mtime)
        return jwt.encode(
            claims, newest.read_text(), algorithm="RS256", headers={"kid": kid or newest.stem, **(headers or {})}
        )


@contextmanager
def running_deployment(base: Path, **astronomer_settings: str) -> Iterator[Deployment]:
    """The control plane and an api-server with our auth manager, the DAGs and the test plugin;
    `astronomer_settings` are extra AIRFLOW__ASTRONOMER__* variables (e.g. short intervals)."""
    control_plane = ControlPlaneServer(base / "cp").start()
    airflow = AirflowApiServer(home=base / "airflow", environment={})
    try:
        tree = make_tree(control_plane, "auth-tests", base_url=airflow.url)
        dags = base / "dags"
        dags.mkdir()
        for dag_id, tags in DAGS.items():
            (dags / f"{dag_id}.py").write_text(_dag_file(dag_id, tags))
        plugins = base / "plugins"
        plugins.mkdir()
        (plugins / "protected_test.py").write_text(PLUGIN)
        airflow.environment = {
            "AIRFLOW__CORE__AUTH_MANAGER": MANAGER,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            **deployment_settings(control_plane, tree, **astronomer_settings),
        }
        airflow.start()
        yield Deployment(control_plane, airflow, tree)
    finally:
        airflow.stop()
        control_plane.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_deployment(tmp_path_factory.mktemp("auth"), AIRFLOW__ASTRONOMER__AUTH_REVOCATION_POLL_SECONDS="2") as running:
        yield running


@pytest.fixture(scope="module")
def base_claims(deployment: Deployment):
    """Valid API-token claims for this deployment; tests change one thing at a time."""
    import time
    import uuid

    def build(**changes: object) -> dict:
        now = int(time.time())
        claims = {
            "iss": deployment.control_plane.url, "sub": "tok_test", "aud": deployment.tree.deployment_id,
            "iat": now, "nbf": now, "exp": now + 600, "jti": uuid.uuid4().hex, "name": "crafted",
            "astro_kind": "api_token", "astro_org": deployment.tree.organization_id,
            "astro_roles": {"workspace": "WORKSPACE_OPERATOR"},
        }  # fmt: skip
        claims.update(changes)
        return {key: value for key, value in claims.items() if value is not None}

    return build


@pytest.fixture
def api_url(deployment: Deployment) -> str:
    return deployment.airflow.url


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def airflow_log(deployment: Deployment) -> str:
    return Path(deployment.airflow.log_path).read_text()
