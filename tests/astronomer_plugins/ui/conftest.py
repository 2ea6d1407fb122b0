"""A real deployment for the Runtime page: the reference control plane serving a test catalog in
which the running release (3.3-1) is 10 days from its end of maintenance, and an Airflow api-server
with our auth manager and plugin (the UI under test); and one served under a path prefix behind a
proxy that passes only that prefix (hosted deployments' layout)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from astronomer_runtime import paths
from astronomer_runtime.catalog import load_catalog, views
from tests.support.control_plane import Tree, deployment_settings, make_tree
from tests.support.servers import AirflowApiServer, ControlPlaneServer, free_port, poll

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

RUNNING = "3.3-1"
DAYS_TO_END_OF_MAINTENANCE = 10
CONNECTION_PASSWORD = "s3cr3t-connection-password"


def near_end_of_maintenance_catalog(path: Path, release: str, days: int) -> Path:
    """versions.yaml with `release` reaching its end of maintenance `days` from today (written dates win)."""
    data = yaml.safe_load(paths.CATALOG_FILE.read_text())
    end = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)
    for entry in data["releases"]:
        if entry["name"] == release:
            entry["end_of_maintenance"] = end.isoformat()
            entry["end_of_basic_support"] = (end + dt.timedelta(days=180)).isoformat()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_release_files(directory: Path, catalog_file: Path, release: str) -> tuple[Path, Path]:
    """The offline feed and release manifest an image ships, made from `catalog_file`."""
    catalog = load_catalog(catalog_file)
    feed_file, manifest_file = directory / "runtime-feed.json", directory / "runtime-release.json"
    feed_file.write_text(views.feed(catalog).to_json())
    manifest_file.write_text(views.manifest(catalog.get(release)).to_json())
    return feed_file, manifest_file


@dataclass
class UiDeployment:
    control_plane: ControlPlaneServer
    airflow: AirflowApiServer
    tree: Tree


@pytest.fixture(scope="module")
def ui_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiDeployment]:
    base = tmp_path_factory.mktemp("ui")
    catalog_file = near_end_of_maintenance_catalog(base / "versions.yaml", RUNNING, DAYS_TO_END_OF_MAINTENANCE)
    feed_file, manifest_file = write_release_files(base, catalog_file, RUNNING)
    control_plane = ControlPlaneServer(base / "cp", catalog_file=catalog_file).start()
    airflow = AirflowApiServer(home=base / "airflow", environment={})
    try:
        tree = make_tree(control_plane, "ui-tests", base_url=airflow.url)
        (base / "dags").mkdir()
        airflow.environment = {
            "AIRFLOW__CORE__AUTH_MANAGER": "astronomer_plugins.auth.manager.AstronomerAuthManager",
            "AIRFLOW__CORE__DAGS_FOLDER": str(base / "dags"),
            **deployment_settings(control_plane, tree),
            "AIRFLOW__ASTRONOMER__RUNTIME_VERSION": RUNNING,
            "AIRFLOW__ASTRONOMER__OFFLINE_FEED_FILE": str(feed_file),
            "AIRFLOW__ASTRONOMER__RELEASE_MANIFEST_FILE": str(manifest_file),
            "AIRFLOW__ASTRONOMER__HEARTBEAT_INTERVAL": "2",
            "AIRFLOW_CONN_WAREHOUSE": f"postgresql://loader:{CONNECTION_PASSWORD}@db.example.com:5432/warehouse",
        }
        airflow.start()
        yield UiDeployment(control_plane, airflow, tree)
    finally:
        airflow.stop()
        control_plane.stop()


HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"te", b"trailer",
                        b"proxy-connection", b"content-length", b"content-encoding", b"accept-encoding"})  # fmt: skip


class PrefixProxy:
    """A reverse proxy that passes only `prefix` to `upstream`, as hosted deployments are served: paths
    outside the prefix get 404 here, so a link or cookie that forgets the prefix breaks as it would in
    production (Airflow itself also answers unprefixed paths). It keeps the path and the Host header:
    Airflow serves under `[api] base_url`'s path itself (a proxy that strips the prefix breaks the
    apps Airflow mounts, such as the auth manager's). uvicorn in a thread."""

    def __init__(self, prefix: str, upstream: str) -> None:
        self.prefix, self.upstream, self.port = prefix.rstrip("/"), upstream.rstrip("/"), free_port()
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The deployment's external base URL (`[api] base_url`)."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def _app(self):  # noqa: ANN202 - a Starlette app
        import httpx
        from starlette.applications import Starlette
        from starlette.routing import Route

        state: dict[str, httpx.AsyncClient] = {}

        @asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            async with httpx.AsyncClient(timeout=60, follow_redirects=False) as client:
                state["client"] = client
                yield

        async def forward(request: Request) -> Response:
            from starlette.responses import PlainTextResponse, Response

            raw_path = request.scope["raw_path"].decode("latin-1")
            if raw_path != self.prefix and not raw_path.startswith(self.prefix + "/"):
                return PlainTextResponse(f"not under {self.prefix}", status_code=404)
            target = self.upstream + raw_path
            if request.url.query:
                target += "?" + request.url.query
            headers = [(key, value) for key, value in request.headers.raw if key.lower() not in HOP_BY_HOP]
            answer = await state["client"].request(request.method, target, headers=headers, content=await request.body())
            response = Response(answer.content, status_code=answer.status_code)
            response.raw_headers.extend((key, value) for key, value in answer.headers.raw if key.lower() not in HOP_BY_HOP)
            return response

        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)

    def start(self) -> PrefixProxy:
        import uvicorn

        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="prefix-proxy", daemon=True)
        self._thread.start()
        poll(lambda: self._server.started, timeout=20, interval=0.05, what="the prefix proxy to listen")
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


@dataclass
class PrefixedDeployment:
    control_plane: ControlPlaneServer
    airflow: AirflowApiServer
    proxy: PrefixProxy
    tree: Tree


@pytest.fixture(scope="module")
def prefixed_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefixedDeployment]:
    """Our auth manager with `[api] base_url = http://127.0.0.1:<proxy>/some/prefix`, reached only
    through the prefix proxy (the control plane knows the prefixed base URL)."""
    base = tmp_path_factory.mktemp("prefixed")
    control_plane = ControlPlaneServer(base / "cp").start()
    airflow = AirflowApiServer(home=base / "airflow", environment={})
    proxy = PrefixProxy("/some/prefix", airflow.url)
    try:
        proxy.start()
        tree = make_tree(control_plane, "prefixed", base_url=proxy.url)
        (base / "dags").mkdir()
        airflow.environment = {
            "AIRFLOW__CORE__AUTH_MANAGER": "astronomer_plugins.auth.manager.AstronomerAuthManager",
            "AIRFLOW__CORE__DAGS_FOLDER": str(base / "dags"),
            "AIRFLOW__API__BASE_URL": proxy.url,
            **deployment_settings(control_plane, tree),
        }
        airflow.start()
        yield PrefixedDeployment(control_plane, airflow, proxy, tree)
    finally:
        airflow.stop()
        proxy.stop()
        control_plane.stop()
