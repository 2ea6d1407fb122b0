"""DAG deploys over real HTTP: upload, the agent's current bundle and download, the archive checks
(each refusal names its reason and stores nothing), who may deploy, history and rollback."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.bundles import Member, dag_bundle, directory, file, hardlink, sha256, symlink, tar_gz
from tests.support.control_plane import (
    Tree,
    cli_login_token,
    create_api_token,
    create_user,
    make_tree,
    user_token,
)
from tests.support.servers import ControlPlaneServer, poll

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


YANKED = "3.1-1"  # yanked in the feed this module's control plane serves


@dataclass
class SmallLimitsControlPlane(ControlPlaneServer):
    """The control plane with 1 MiB bundles, 2 MiB unpacked (the limits are reached with small
    bodies), serving the catalog's feed with one release yanked."""

    feed_file: Path | None = None

    def command(self, *args: str) -> list[str]:
        limits = ["--max-bundle-mib", "1", "--max-bundle-unpacked-mib", "2"]
        feed = ["--feed-file", str(self.feed_file)] if self.feed_file else []
        return super().command(*limits, *feed, *args)


def yanked_feed(path: Path) -> Path:
    """The catalog's update feed (as `astro-runtime feed` prints it) with YANKED marked yanked."""
    printed = subprocess.run(
        [sys.executable, "-m", "astronomer_runtime", "feed"], capture_output=True, text=True, timeout=60
    )
    assert printed.returncode == 0, printed.stderr
    feed = json.loads(printed.stdout)
    feed["runtimeVersionsV3"][YANKED]["metadata"]["yanked"] = True
    path.write_text(json.dumps(feed))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneServer]:
    base = tmp_path_factory.mktemp("cp")
    instance = SmallLimitsControlPlane(base / "data", feed_file=yanked_feed(base / "feed.json"))
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def deploys_url(server: ControlPlaneServer, tree: Tree) -> str:
    return f"{server.url}/v1/organizations/{tree.organization_id}/deployments/{tree.deployment_id}/deploys"


def upload(
    server: ControlPlaneServer, tree: Tree, body: bytes, token: str | None = None, **params: str
) -> requests.Response:
    headers = {"Content-Type": "application/gzip", "Authorization": f"Bearer {token or server.admin_token}"}
    return requests.post(deploys_url(server, tree), data=body, params=params, headers=headers, timeout=30)


def agent_get(
    server: ControlPlaneServer, tree: Tree, path: str, token: str | None = None
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or tree.agent_token}"}
    return requests.get(
        f"{server.url}/v1/deployments/{tree.deployment_id}{path}", headers=headers, timeout=30
    )


def stored_files(server: ControlPlaneServer) -> list[str]:
    """Everything under bundles/ (stored bundles and uploads in progress)."""
    root = server.data_dir / "bundles"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_deploy_then_agent_fetches_and_verifies(server: ControlPlaneServer, tree: Tree) -> None:
    body = dag_bundle("first")
    assert agent_get(server, tree, "/bundle").status_code == 404  # no DAG deploy yet
    created = upload(server, tree, body, description="first deploy", git_commit="abc1234")
    assert created.status_code == 201, created.text
    deploy = created.json()
    assert (deploy["kind"], deploy["author"], deploy["description"], deploy["git_commit"]) == (
        "dag",
        "admin",
        "first deploy",
        "abc1234",
    )
    assert deploy["bundle"]["version"] == deploy["bundle"]["sha256"] == sha256(body)
    assert deploy["bundle"]["size_bytes"] == len(body) and deploy["image"] is None

    current = agent_get(server, tree, "/bundle")
    assert current.status_code == 200, current.text
    assert current.json() == deploy["bundle"]
    download = agent_get(server, tree, f"/bundles/{sha256(body)}")
    assert download.status_code == 200
    assert download.content == body
    assert download.headers["X-Bundle-SHA256"] == sha256(body)
    assert download.headers["Content-Type"] == "application/gzip"
    assert download.headers["Content-Length"] == str(len(body))
    stored = server.data_dir / "bundles" / f"{sha256(body)}.tar.gz"
    assert stored.read_bytes() == body and stored.stat().st_mode & 0o077 == 0


def test_declared_sha256_must_match(server: ControlPlaneServer, tree: Tree) -> None:
    body = dag_bundle("declared")
    before = stored_files(server)
    headers = {"Content-Type": "application/gzip", "Authorization": f"Bearer {server.admin_token}"}
    wrong = requests.post(
        deploys_url(server, tree), data=body, headers={**headers, "X-Bundle-SHA256": "0" * 64}, timeout=30
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "X-Bundle-SHA256"
    assert sha256(body) in wrong.json()["error"]["message"]
    assert stored_files(server) == before
    right = requests.post(
        deploys_url(server, tree), data=body, headers={**headers, "X-Bundle-SHA256": sha256(body)}, timeout=30
    )
    assert right.status_code == 201, right.text


def _random(size: int) -> bytes:
    return os.urandom(size)


REFUSED = [
    ("dotdot", [directory("dags"), file("dags/../../etc/cron.d/x")], 400, "'..'"),
    ("absolute", [directory("dags"), file("/etc/passwd")], 400, "absolute"),
    (
        "symlink out",
        [directory("dags"), symlink("dags/passwd", "../../etc/passwd")],
        400,
        "out of the bundle",
    ),
    ("symlink absolute", [directory("dags"), symlink("dags/passwd", "/etc/passwd")], 400, "absolute path"),
    ("symlink to the root", [directory("dags"), symlink("dags/up", "..")], 400, "outside dags/"),
    ("the root itself", [directory("."), directory("dags")], 400, "the bundle's root itself"),
    ("twice", [directory("dags"), file("dags/a.py"), file("dags/a.py")], 400, "appears twice"),
    (
        "symlink climbing through a link",
        [directory("dags"), symlink("dags/up", "../include"), symlink("dags/x", "up/../..")],
        400,
        "'..' after a directory",
    ),
    (
        "member under a symlink",
        [directory("dags"), symlink("dags/up", "../include"), file("dags/up/x.py")],
        400,
        "under the symlink",
    ),
    ("hardlink out", [directory("dags"), hardlink("dags/shadow", "../etc/shadow")], 400, "'..'"),
    ("hardlink absolute", [directory("dags"), hardlink("dags/shadow", "/etc/shadow")], 400, "absolute"),
    ("hardlink to nothing", [directory("dags"), hardlink("dags/shadow", "dags/missing.py")], 400, "hardlink"),
    (
        "hardlink to a later file",
        [directory("dags"), hardlink("dags/early", "dags/late.py"), file("dags/late.py")],
        400,
        "not a file earlier",
    ),
    ("device", [directory("dags"), Member("dags/null", type=tarfile.CHRTYPE)], 400, "device file"),
    ("block device", [directory("dags"), Member("dags/sda", type=tarfile.BLKTYPE)], 400, "device file"),
    ("fifo", [directory("dags"), Member("dags/pipe", type=tarfile.FIFOTYPE)], 400, "fifo"),
    ("outside the roots", [directory("dags"), file("secrets.env")], 400, "only dags/"),
    ("missing dags", [directory("include"), file("include/x.py")], 400, "no dags/ directory"),
    ("dags is a file", [file("dags")], 400, "must be a directory"),
    (
        "gzip bomb",
        [directory("dags"), file("dags/zeros.bin", b"\0" * (3 * MIB))],
        413,
        "unpacks to more than",
    ),
]


@pytest.mark.parametrize(
    ("members", "status", "reason"), [case[1:] for case in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_malicious_archive_is_refused_and_nothing_stored(
    server: ControlPlaneServer, tree: Tree, members: list[Member], status: int, reason: str
) -> None:
    before = stored_files(server)
    body = tar_gz(members, compresslevel=9)
    assert len(body) < MIB  # the bomb is small as sent
    response = upload(server, tree, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert reason in error["message"], error
    named = [m.name for m in members if reason not in ("no dags/ directory", "unpacks to more than")]
    assert not named or any(repr(name) in error["message"] for name in named), error["message"]
    assert stored_files(server) == before
    assert agent_get(server, tree, "/bundle").status_code == 404  # no deploy recorded


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"", "application/gzip", 400, "body"),
        (b"not a tar.gz at all", "application/gzip", 400, "body"),
        (dag_bundle(), "application/json", 415, "Content-Type"),
    ],
    ids=["empty", "not gzip", "wrong content type"],
)
def test_bad_bodies_are_refused(
    server: ControlPlaneServer, tree: Tree, body: bytes, content_type: str, status: int, field: str
) -> None:
    before = stored_files(server)
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {server.admin_token}"}
    response = requests.post(deploys_url(server, tree), data=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert stored_files(server) == before


def test_oversize_compressed_bundle_is_refused(server: ControlPlaneServer, tree: Tree) -> None:
    body = tar_gz([directory("dags"), file("dags/noise.bin", _random(MIB + 4096))])
    assert MIB < len(body) < 2 * MIB
    before = stored_files(server)
    declared = upload(server, tree, body)
    assert declared.status_code == 413 and "1 MiB" in declared.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts what arrives
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {"Content-Type": "application/gzip", "Authorization": f"Bearer {server.admin_token}"}
    streamed = requests.post(deploys_url(server, tree), data=chunks(), headers=headers, timeout=30)
    assert streamed.status_code == 413, streamed.text
    assert stored_files(server) == before


def test_agent_of_another_deployment_cannot_fetch(server: ControlPlaneServer, tree: Tree) -> None:
    other = make_tree(server, "deploys-other-org")
    body = dag_bundle("mine")
    assert upload(server, tree, body).status_code == 201
    # B's agent on A's path: its token is not A's.
    assert agent_get(server, tree, f"/bundles/{sha256(body)}", token=other.agent_token).status_code == 403
    assert agent_get(server, tree, "/bundle", token=other.agent_token).status_code == 403
    # B's agent on its own path, asking for A's content address: never deployed to B.
    foreign = requests.get(
        f"{server.url}/v1/deployments/{other.deployment_id}/bundles/{sha256(body)}",
        headers={"Authorization": f"Bearer {other.agent_token}"},
        timeout=30,
    )
    assert foreign.status_code == 404 and foreign.json()["error"]["field"] == "version"
    assert agent_get(server, tree, "/bundles/..%2F..%2Fadmin-token").status_code == 404
    assert agent_get(server, tree, f"/bundles/{sha256(body)}", token="astro_agent_wrong").status_code == 401


def _token_for(server: ControlPlaneServer, tree: Tree, who: str) -> str:
    """A bearer token of each kind of caller: API tokens by (scope, role), users through a real login."""
    scope, _, role = who.partition(":")
    if scope == "user":
        user_id = create_user(
            server,
            tree,
            f"{role.lower()}@example.com",
            [{"scope": "workspace", "scope_id": tree.workspace_id, "role": role}],
        )
        return user_token(server, tree, user_id)
    if role == "DAG_LIMITED":
        return create_api_token(server, tree, "workspace", "WORKSPACE_OPERATOR", dags=[{"prefix": "etl_"}])[1]
    return create_api_token(server, tree, scope, role)[1]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("organization:ORGANIZATION_OWNER", 201),
        ("workspace:WORKSPACE_OWNER", 201),
        ("workspace:WORKSPACE_OPERATOR", 201),
        ("workspace:WORKSPACE_AUTHOR", 201),
        ("deployment:DEPLOYMENT_ADMIN", 201),
        ("user:WORKSPACE_AUTHOR", 201),
        ("workspace:WORKSPACE_MEMBER", 403),
        ("organization:ORGANIZATION_MEMBER", 403),
        ("organization:ORGANIZATION_BILLING_ADMIN", 403),
        ("workspace:DAG_LIMITED", 403),
        ("user:WORKSPACE_MEMBER", 403),
    ],
)
def test_who_may_deploy(server: ControlPlaneServer, tree: Tree, who: str, status: int) -> None:
    token = _token_for(server, tree, who)
    response = upload(server, tree, dag_bundle(who), token=token)
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["author"] != "admin"
        assert response.json()["author"].endswith("@example.com") == who.startswith("user:")
    else:
        assert "WORKSPACE_AUTHOR" in response.json()["error"]["message"]
        assert agent_get(server, tree, "/bundle").status_code == 404
    rollback = requests.post(
        f"{deploys_url(server, tree)}/dpl_unknown/rollback",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert rollback.status_code == (404 if status == 201 else 403)


def test_members_read_history_and_strangers_see_nothing(server: ControlPlaneServer, tree: Tree) -> None:
    assert upload(server, tree, dag_bundle("history")).status_code == 201
    member = create_api_token(server, tree, "workspace", "WORKSPACE_MEMBER")[1]
    listing = requests.get(
        deploys_url(server, tree), headers={"Authorization": f"Bearer {member}"}, timeout=30
    )
    assert listing.status_code == 200 and len(listing.json()) == 1
    other = make_tree(server, "deploys-stranger-org")
    stranger = create_api_token(server, other, "organization", "ORGANIZATION_OWNER")[1]
    for method in ("GET", "POST"):
        response = requests.request(
            method, deploys_url(server, tree), headers={"Authorization": f"Bearer {stranger}"}, timeout=30
        )
        assert response.status_code == 404, response.text
    assert requests.get(deploys_url(server, tree), timeout=30).status_code == 401


def test_history_is_newest_first_and_rollback_serves_the_old_bundle(
    server: ControlPlaneServer, tree: Tree
) -> None:
    first, second = dag_bundle("one"), dag_bundle("two")
    one = upload(server, tree, first, description="one").json()
    two = upload(server, tree, second, description="two").json()
    assert agent_get(server, tree, "/bundle").json()["version"] == sha256(second)

    rolled = requests.post(
        f"{deploys_url(server, tree)}/{one['id']}/rollback",
        params={"description": "back to one"},
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )
    assert rolled.status_code == 201, rolled.text
    back = rolled.json()
    assert back["id"] not in (one["id"], two["id"])
    assert (back["kind"], back["rollback_of"], back["description"]) == ("dag", one["id"], "back to one")
    assert back["bundle"]["version"] == sha256(first) and back["bundle"]["deploy_id"] == back["id"]

    current = agent_get(server, tree, "/bundle").json()
    assert (current["version"], current["deploy_id"]) == (sha256(first), back["id"])
    assert agent_get(server, tree, f"/bundles/{sha256(first)}").content == first
    listing = server.admin().get(deploys_url(server, tree), timeout=30).json()
    assert [d["id"] for d in listing] == [back["id"], two["id"], one["id"]]
    agent_listing = agent_get(server, tree, "/deploys").json()
    assert [d["id"] for d in agent_listing] == [back["id"], two["id"], one["id"]]
    assert stored_files(server).count(f"{sha256(first)}.tar.gz") == 1  # stored once, deployed twice


def image_body(runtime_version: str, **extra: str) -> dict[str, str]:
    return {
        "reference": "registry.example.com/acme/airflow:2026-12-01",
        "digest": "sha256:" + "ab" * 32,
        "runtime_version": runtime_version,
        **extra,
    }


@pytest.mark.parametrize(
    ("runtime_version", "reason"),
    [("9.9-9", "not a Runtime release the catalog knows"), (YANKED, "is yanked")],
)
def test_image_deploy_of_unknown_or_yanked_release_is_refused(
    server: ControlPlaneServer, tree: Tree, runtime_version: str, reason: str
) -> None:
    response = server.admin().post(
        f"{deploys_url(server, tree)}/image", json=image_body(runtime_version), timeout=30
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "runtime_version"
    assert reason in response.json()["error"]["message"]
    assert server.admin().get(deploys_url(server, tree), timeout=30).json() == []
    deployment = server.admin().get(
        f"{server.url}/v1/organizations/{tree.organization_id}/deployments/{tree.deployment_id}", timeout=30
    )
    assert deployment.json()["runtime_version"] == "3.3-2"


def test_image_deploy_moves_the_runtime_version_and_cannot_be_rolled_back(
    server: ControlPlaneServer, tree: Tree
) -> None:
    author = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")[1]
    headers = {"Authorization": f"Bearer {author}"}
    created = requests.post(
        f"{deploys_url(server, tree)}/image",
        json=image_body("3.2-1", description="pin 3.2"),
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    deploy = created.json()
    assert (deploy["kind"], deploy["bundle"], deploy["description"]) == ("image", None, "pin 3.2")
    assert deploy["image"] == {k: image_body("3.2-1")[k] for k in ("reference", "digest", "runtime_version")}
    deployment = server.admin().get(
        f"{server.url}/v1/organizations/{tree.organization_id}/deployments/{tree.deployment_id}", timeout=30
    )
    assert deployment.json()["runtime_version"] == "3.2-1"
    assert agent_get(server, tree, "").json()["runtime_version"] == "3.2-1"
    assert agent_get(server, tree, "/bundle").status_code == 404  # an image deploy is no DAG deploy
    refused = requests.post(
        f"{deploys_url(server, tree)}/{deploy['id']}/rollback", headers=headers, timeout=30
    )
    assert refused.status_code == 422 and "only DAG deploys" in refused.json()["error"]["message"]
    member = create_api_token(server, tree, "workspace", "WORKSPACE_MEMBER")[1]
    forbidden = requests.post(
        f"{deploys_url(server, tree)}/image",
        json=image_body("3.2-1"),
        headers={"Authorization": f"Bearer {member}"},
        timeout=30,
    )
    assert forbidden.status_code == 403


@pytest.mark.parametrize(("role", "status"), [("WORKSPACE_AUTHOR", 201), ("WORKSPACE_MEMBER", 403)])
def test_command_line_login_deploys_by_the_users_current_role(
    server: ControlPlaneServer, tree: Tree, role: str, status: int
) -> None:
    binding = [{"scope": "workspace", "scope_id": tree.workspace_id, "role": role}]
    user_id = create_user(server, tree, f"cli-{role.lower()}@example.com", binding)
    token = cli_login_token(server, user_id)
    response = upload(server, tree, dag_bundle(f"cli-{role}"), token=token, description="from the CLI")
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["author"] == f"cli-{role.lower()}@example.com"


def test_an_interrupted_upload_leaves_nothing(server: ControlPlaneServer, tree: Tree) -> None:
    """The client goes away mid-body: the partial file is deleted, no deploy is recorded."""
    body = dag_bundle("interrupted")
    url = urlsplit(deploys_url(server, tree))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.putrequest("POST", url.path)
    for name, value in (
        ("Content-Type", "application/gzip"),
        ("Content-Length", str(len(body) + 100_000)),
        ("Authorization", f"Bearer {server.admin_token}"),
    ):
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(body)

    def receiving() -> list[Path]:
        return list((server.data_dir / "bundles" / ".incoming").iterdir())

    poll(receiving, timeout=20, interval=0.05, what="the upload to start streaming to disk")
    connection.close()
    poll(lambda: not receiving(), timeout=20, interval=0.1, what="the partial upload to be deleted")
    assert f"{sha256(body)}.tar.gz" not in stored_files(server)
    assert agent_get(server, tree, "/bundle").status_code == 404


def test_the_same_bundle_uploaded_at_once_is_stored_once(server: ControlPlaneServer, tree: Tree) -> None:
    body = dag_bundle("concurrent")
    start = threading.Barrier(4)

    def deploy(_: int) -> int:
        start.wait(timeout=30)
        return upload(server, tree, body).status_code

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(deploy, range(4))) == [201] * 4
    listing = server.admin().get(deploys_url(server, tree), timeout=30).json()
    assert [d["bundle"]["version"] for d in listing] == [sha256(body)] * 4
    assert stored_files(server).count(f"{sha256(body)}.tar.gz") == 1
    assert not list((server.data_dir / "bundles" / ".incoming").iterdir())


def agent_served(server: ControlPlaneServer, tree: Tree, version: str, token: str | None = None) -> int:
    response = requests.put(
        f"{server.url}/v1/deployments/{tree.deployment_id}/bundle/served",
        json={"version": version},
        headers={"Authorization": f"Bearer {token or tree.agent_token}"},
        timeout=30,
    )
    return response.status_code


def served_at(server: ControlPlaneServer, tree: Tree, deploy_id: str) -> str | None:
    found = server.admin().get(f"{deploys_url(server, tree)}/{deploy_id}", timeout=30)
    assert found.status_code == 200, found.text
    return found.json()["served_at"]


def test_the_dag_processor_reports_the_version_it_serves(server: ControlPlaneServer) -> None:
    tree = make_tree(server, "deploys-served")
    first, second = dag_bundle("served one"), dag_bundle("served two")
    one = upload(server, tree, first).json()
    two = upload(server, tree, second).json()
    assert one["served_at"] is None and served_at(server, tree, one["id"]) is None

    assert agent_served(server, tree, sha256(second)) == 204
    recorded = served_at(server, tree, two["id"])
    assert recorded is not None
    assert agent_served(server, tree, sha256(second)) == 204  # a restart, or a second dag-processor
    assert served_at(server, tree, two["id"]) == recorded  # the first report counts
    assert served_at(server, tree, one["id"]) is None

    # A rollback is a new deploy of the old bundle: serving that bundle marks the rollback.
    back = server.admin().post(f"{deploys_url(server, tree)}/{one['id']}/rollback", timeout=30).json()
    assert agent_served(server, tree, sha256(first)) == 204
    assert served_at(server, tree, back["id"]) is not None

    other = make_tree(server, "deploys-served-other")
    assert agent_served(server, tree, sha256(first), token=other.agent_token) == 403
    assert agent_served(server, other, sha256(first), token=other.agent_token) == 404  # not deployed there
    assert agent_served(server, tree, sha256(first), token="astro_agent_wrong") == 401
    assert agent_served(server, tree, "../" + "a" * 61) == 422
    stranger = server.admin().get(f"{deploys_url(server, other)}/{one['id']}", timeout=30)
    assert stranger.status_code == 404 and stranger.json()["error"]["field"] == "deploy_id"
