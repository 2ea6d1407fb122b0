"""`astro-runtime deploy|deploys|rollback` and the workspace/deployment commands against the real
control plane over HTTP: the bundle uploaded is the one the deployment's agent is told about."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from astronomer_runtime.cloud import archive
from tests.runtime.cloud.cli_support import log_in, run_cli
from tests.support.control_plane import Tree, create_api_token, create_user, make_tree
from tests.support.servers import ControlPlaneServer

HELLO = """\
from airflow.sdk import dag, task


@dag(schedule=None)
def cli_deploy_hello():
    @task
    def say() -> str:
        return "{text}"

    say()


cli_deploy_hello()
"""


def write_project(root: Path, text: str = "v1") -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "include").mkdir()
    (root / "dags" / "hello.py").write_text(HELLO.format(text=text))
    (root / "include" / "helpers.py").write_text(f"VALUE = {text!r}\n")
    return root


@pytest.fixture(scope="module")
def tree(server: ControlPlaneServer) -> Tree:
    return make_tree(server, "org-cli-deploy")


def _workspace_role(tree: Tree, role: str) -> list[dict[str, str]]:
    return [{"scope": "workspace", "scope_id": tree.workspace_id, "role": role}]


@pytest.fixture(scope="module")
def author_home(server: ControlPlaneServer, tree: Tree, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("author-config")
    log_in(
        home,
        server,
        create_user(server, tree, "author@example.com", _workspace_role(tree, "WORKSPACE_AUTHOR")),
    )
    return home


@pytest.fixture(scope="module")
def member_home(server: ControlPlaneServer, tree: Tree, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("member-config")
    log_in(
        home,
        server,
        create_user(server, tree, "member@example.com", _workspace_role(tree, "WORKSPACE_MEMBER")),
    )
    return home


def current_bundle(server: ControlPlaneServer, tree: Tree) -> dict[str, object]:
    """What the deployment's agent is told (agent token), as the DAG bundle asks."""
    answer = requests.get(
        f"{server.url}/v1/deployments/{tree.deployment_id}/bundle",
        headers={"Authorization": f"Bearer {tree.agent_token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def history(server: ControlPlaneServer, tree: Tree) -> list[dict[str, object]]:
    answer = server.admin().get(
        f"{server.url}/v1/organizations/{tree.organization_id}/deployments/{tree.deployment_id}/deploys",
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def deploy_id(stdout: str) -> str:
    found = re.search(r"^Deploy (\S+):", stdout, re.MULTILINE)
    assert found, stdout
    return found.group(1)


def test_deploy_uploads_the_project_bundle_and_history_shows_it(
    server: ControlPlaneServer, tree: Tree, author_home: Path, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project")
    expected = archive.build(project).sha256
    result = run_cli(
        author_home,
        "deploy",
        "--project",
        str(project),
        "--deployment",
        tree.deployment_id,
        "--description",
        "first",
    )
    assert result.returncode == 0, result.stderr
    assert f"bundle {expected[:12]} (2 files" in result.stdout
    bundle = current_bundle(server, tree)
    assert (bundle["version"], bundle["author"], bundle["description"]) == (
        expected,
        "author@example.com",
        "first",
    )
    assert bundle["deploy_id"] == deploy_id(result.stdout)

    listed = run_cli(author_home, "deploys", "--deployment", tree.deployment_id)
    assert listed.returncode == 0, listed.stderr
    first_row = listed.stdout.splitlines()[1].split()
    assert first_row[:3] == [deploy_id(result.stdout), "dag", expected[:12]]
    assert "author@example.com" in first_row and first_row[-1] == "first"


def test_import_errors_refuse_the_deploy_unless_forced(
    server: ControlPlaneServer, tree: Tree, author_home: Path, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project", text="broken-project")
    (project / "dags" / "broken.py").write_text(
        "from airflow.sdk import dag\nimport not_a_module_for_cli_tests\n"
    )
    before = len(history(server, tree))
    refused = run_cli(author_home, "deploy", "--project", str(project), "--deployment", tree.deployment_id)
    assert refused.returncode == 1
    assert "not deployed: 1 DAG file(s) fail to import (astro-runtime project parse):" in refused.stderr
    assert "dags/broken.py: line 2: " in refused.stderr and "not_a_module_for_cli_tests" in refused.stderr
    assert "deploy anyway with --force" in refused.stderr
    assert len(history(server, tree)) == before

    forced = run_cli(
        author_home, "deploy", "--project", str(project), "--deployment", tree.deployment_id, "--force"
    )
    assert forced.returncode == 0, forced.stderr
    assert "Deploying despite 1 import error(s) (--force)" in forced.stderr
    assert current_bundle(server, tree)["version"] == archive.build(project).sha256


def test_a_member_gets_one_clear_403_line(
    server: ControlPlaneServer, tree: Tree, member_home: Path, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project", text="member")
    result = run_cli(member_home, "deploy", "--project", str(project), "--deployment", tree.deployment_id)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "deploy: not allowed for this login (deploying needs WORKSPACE_AUTHOR or above"
    )


def test_rollback_makes_the_earlier_bundle_current_again(
    server: ControlPlaneServer, tree: Tree, author_home: Path, tmp_path: Path
) -> None:
    first = write_project(tmp_path / "one", text="rollback-1")
    second = write_project(tmp_path / "two", text="rollback-2")
    one = run_cli(author_home, "deploy", "--project", str(first), "--deployment", tree.deployment_id)
    two = run_cli(author_home, "deploy", "--project", str(second), "--deployment", tree.deployment_id)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert current_bundle(server, tree)["version"] == archive.build(second).sha256

    back = run_cli(author_home, "rollback", deploy_id(one.stdout), "--deployment", tree.deployment_id)
    assert back.returncode == 0, back.stderr
    assert (
        f"rollback of {deploy_id(one.stdout)}, bundle {archive.build(first).sha256[:12]} is current"
        in back.stdout
    )
    assert current_bundle(server, tree)["version"] == archive.build(first).sha256
    newest = history(server, tree)[0]
    assert (newest["id"], newest["rollback_of"]) == (deploy_id(back.stdout), deploy_id(one.stdout))


def test_a_revoked_api_token_says_log_in_again(
    server: ControlPlaneServer, tree: Tree, config_home: Path
) -> None:
    token_id, secret = create_api_token(server, tree, "workspace", "WORKSPACE_AUTHOR")
    revoke = server.admin().delete(
        f"{server.url}/v1/organizations/{tree.organization_id}/tokens/{token_id}", timeout=10
    )
    assert revoke.status_code == 200, revoke.text
    result = run_cli(
        config_home,
        "deploys",
        "--deployment",
        tree.deployment_id,
        ASTRO_RUNTIME_API_TOKEN=secret,
        ASTRO_RUNTIME_URL=server.url,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"the control plane rejected the login (expired or revoked): run astro-runtime login {server.url}"
    )
    assert secret not in result.stderr


def _oci_image(root: Path, runtime_version: str) -> str:
    layout = root / "oci"
    for command in (
        ["umoci", "init", "--layout", str(layout)],
        ["umoci", "new", "--image", f"{layout}:app"],
        [
            "umoci",
            "config",
            "--image",
            f"{layout}:app",
            f"--config.label=io.astronomer.docker.runtime.version={runtime_version}",
        ],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    return f"oci:{layout}:app"


def test_an_image_deploy_reads_digest_and_runtime_label_with_skopeo(
    server: ControlPlaneServer, tree: Tree, author_home: Path, tmp_path: Path
) -> None:
    reference = _oci_image(tmp_path, "3.3-2")
    result = run_cli(author_home, "deploy", "--image", reference, "--deployment", tree.deployment_id)
    assert result.returncode == 0, result.stderr
    assert re.search(
        rf"Image deploy \S+: {re.escape(reference)} \(sha256:[0-9a-f]{{64}}\), Runtime 3.3-2", result.stdout
    )
    newest = history(server, tree)[0]
    assert newest["kind"] == "image" and newest["image"]["runtime_version"] == "3.3-2"


def test_an_image_of_an_unknown_release_is_refused_in_one_line(
    server: ControlPlaneServer, tree: Tree, author_home: Path, tmp_path: Path
) -> None:
    reference = _oci_image(tmp_path, "9.9-1")
    result = run_cli(author_home, "deploy", "--image", reference, "--deployment", tree.deployment_id)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deploy image: HTTP 422: ") and "9.9-1" in lines[0]


def test_a_browser_login_lists_what_its_roles_reach_and_is_told_which_token_creates(
    server: ControlPlaneServer, tree: Tree, author_home: Path
) -> None:
    workspaces = run_cli(author_home, "workspace", "list")
    assert workspaces.returncode == 0, workspaces.stderr
    assert [line.split()[0] for line in workspaces.stdout.splitlines()[1:]] == [tree.workspace_id]
    deployments = run_cli(author_home, "deployment", "list", "--all")
    assert deployments.returncode == 0, deployments.stderr
    assert tree.deployment_id in deployments.stdout
    created = run_cli(
        author_home, "deployment", "create", "--name", "by-author", "--cluster", "local",
        "--workspace-id", tree.workspace_id, "--base-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert created.returncode == 1
    assert "management API takes an ORGANIZATION_OWNER API token" in created.stderr, created.stderr


def test_workspace_and_deployment_selection_with_an_owner_token(
    server: ControlPlaneServer, tree: Tree, config_home: Path
) -> None:
    _, secret = create_api_token(server, tree, "organization", "ORGANIZATION_OWNER")
    env = {"ASTRO_RUNTIME_API_TOKEN": secret, "ASTRO_RUNTIME_URL": server.url}
    assert run_cli(config_home, "login", **env).returncode == 0
    workspaces = run_cli(config_home, "workspace", "list", **env)
    assert workspaces.returncode == 0, workspaces.stderr
    assert workspaces.stdout.splitlines()[1].split() == [tree.workspace_id, "ws"]
    assert run_cli(config_home, "workspace", "switch", tree.workspace_id, **env).returncode == 0
    switched = run_cli(config_home, "deployment", "switch", tree.deployment_id, **env)
    assert switched.returncode == 0, switched.stderr
    assert (
        switched.stdout.strip()
        == f"Deployment dep ({tree.deployment_id}) selected; its Airflow is {tree.base_url}"
    )
    deployments = run_cli(config_home, "deployment", "list", **env)
    assert deployments.stdout.splitlines()[1].split()[:3] == ["*", tree.deployment_id, "dep"]
    listed = run_cli(config_home, "deploys", **env)  # the selected deployment
    assert listed.returncode == 0, listed.stderr
    assert secret not in (config_home / "astro-runtime" / "config.json").read_text()


def test_a_bad_digest_is_named_before_any_call(tree: Tree, author_home: Path) -> None:
    result = run_cli(
        author_home,
        "deploy",
        "--image",
        "registry.example/app:1",
        "--digest",
        "md5:abc",
        "--runtime-version",
        "3.3-2",
        "--deployment",
        tree.deployment_id,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(
        "image registry.example/app:1: digest 'md5:abc': String should match"
    )


class LimitedControlPlane(ControlPlaneServer):
    """The real control plane with a 1 MiB limit on an uploaded bundle."""

    def command(self, *args: str) -> list[str]:
        argv = super().command(*args)
        return [*argv[:-1], "--max-bundle-mib", "1", argv[-1]] if args == ("serve",) else argv


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[ControlPlaneServer]:
    (tmp_path / "limited-cp").mkdir()
    instance = LimitedControlPlane(tmp_path / "limited-cp" / "data")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def test_a_refused_archive_is_one_line_naming_the_reason_and_nothing_is_stored(
    limited: ControlPlaneServer, config_home: Path, tmp_path: Path
) -> None:
    tree = make_tree(limited, "org-limited")
    _, secret = create_api_token(limited, tree, "workspace", "WORKSPACE_AUTHOR")
    project = write_project(tmp_path / "project", text="too-big")
    (project / "include" / "blob.bin").write_bytes(os.urandom(2 * 1024 * 1024))  # does not compress
    env = {"ASTRO_RUNTIME_API_TOKEN": secret, "ASTRO_RUNTIME_URL": limited.url}
    result = run_cli(
        config_home, "deploy", "--project", str(project), "--deployment", tree.deployment_id, **env
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("the control plane refused the deploy: ")
    assert "larger than the limit of 1048576 bytes (1 MiB)" in lines[0]
    assert history(limited, tree) == []
    assert not list((limited.data_dir / "bundles").glob("*.tar.gz"))


def test_deployment_create_on_a_cluster_selects_it_and_keeps_its_agent_token_0600(
    server: ControlPlaneServer, tree: Tree, config_home: Path
) -> None:
    _, secret = create_api_token(server, tree, "organization", "ORGANIZATION_OWNER")
    env = {"ASTRO_RUNTIME_API_TOKEN": secret, "ASTRO_RUNTIME_URL": server.url}
    org_url = f"{server.url}/v1/organizations/{tree.organization_id}"
    made = server.admin().post(
        f"{org_url}/clusters",
        json={"name": "edge", "cloud_provider": "local", "region": "local", "kind": "local"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    created = run_cli(
        config_home,
        "deployment",
        "create",
        "--name",
        "made-by-cli",
        "--cluster",
        "edge",
        "--workspace-id",
        tree.workspace_id,
        "--base-url",
        "http://127.0.0.1:8793",
        **env,
    )
    assert created.returncode == 0, created.stderr
    found = re.search(
        r"^Deployment made-by-cli \((dep_\w+)\) created on cluster edge and selected", created.stdout
    )
    assert found, created.stdout
    token_file = config_home / "astro-runtime" / "agent-tokens" / f"{found.group(1)}.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip() not in created.stdout + created.stderr
    listed = run_cli(config_home, "deployment", "list", **env)
    row = next(line.split() for line in listed.stdout.splitlines() if found.group(1) in line)
    assert row[:3] == ["*", found.group(1), "made-by-cli"] and "edge" in row

    unknown = run_cli(
        config_home,
        "deployment",
        "create",
        "--name",
        "x",
        "--cluster",
        "nowhere",
        "--base-url",
        "http://127.0.0.1:1",
        **env,
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip().startswith(
        f"--cluster 'nowhere': no such cluster in organization {tree.organization_id}"
    )
