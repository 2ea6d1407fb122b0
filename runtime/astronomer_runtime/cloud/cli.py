"""`astro-runtime login|logout|workspace|deployment|deploy|deploys|rollback`: a project to a deployment.

Habits of Astro's CLI: log in once (browser, or ASTRO_RUNTIME_API_TOKEN in CI), switch to a workspace
and a deployment, then `deploy` from the project folder. Every handler takes (catalog, args) like the
other `astro-runtime` commands and returns the exit status; errors are CloudError (one line, exit 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import webbrowser
from typing import Any

from astronomer_runtime.cloud import credentials
from astronomer_runtime.cloud.errors import CloudError, NothingSelected


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _session() -> Any:
    from astronomer_runtime.cloud.session import Session

    return Session(credentials.current())


def _remember(login: credentials.Login) -> None:
    """Store the choices; a login from ASTRO_RUNTIME_API_TOKEN is stored without its token."""
    from_environment = bool(os.environ.get(credentials.TOKEN_ENV, "").strip())
    credentials.save(login.model_copy(update={"token": None}) if from_environment else login)


def cmd_login(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_plugins.errors import ControlPlaneError
    from astronomer_runtime.cloud import login
    from astronomer_runtime.cloud.session import new_client

    stored = credentials.load()
    url = (args.url or os.environ.get(credentials.URL_ENV) or (stored.url if stored else "")).rstrip("/")
    if not url:
        raise CloudError("which control plane? run astro-runtime login URL")
    env_token = os.environ.get(credentials.TOKEN_ENV, "").strip()
    if env_token:
        found = credentials.login_from_token(url, env_token)
        credentials.save(found.model_copy(update={"token": None}))
        print(
            f"Using the API token in {credentials.TOKEN_ENV} for organization {found.organization_id} "
            f"at {url} (the token is not stored)."
        )
        return 0
    client = new_client(url, None)

    def announce(authorize_url: str) -> None:
        print(
            f"Open this URL in a browser to log in to {url}:\n\n  {authorize_url}\n",
            file=sys.stderr,
            flush=True,
        )
        if not args.no_browser:
            webbrowser.open(authorize_url)

    def exchange(found: login.Endpoints, code: str, redirect_uri: str, verifier: str) -> str:
        return client.exchange_code(
            path=found.token_path,
            code=code,
            redirect_uri=redirect_uri,
            client_id=login.CLIENT_ID,
            code_verifier=verifier,
        )

    try:
        token = login.browser_login(url, client.discovery(), exchange, announce, timeout=args.timeout)
    except ControlPlaneError as exc:
        raise login.LoginFailed(f"login to {url} failed: {exc}") from None
    finally:
        client.close()
    found = credentials.login_from_token(url, token)
    if stored is not None and stored.url == url and stored.organization_id == found.organization_id:
        found.workspace_id, found.deployment_id = stored.workspace_id, stored.deployment_id
    path = credentials.save(found)
    until = f", until {found.expires_at:%Y-%m-%d %H:%M} UTC" if found.expires_at else ""
    print(
        f"Logged in to {url} as {found.name} (organization {found.organization_id}{until}); "
        f"login kept in {path}"
    )
    return 0


def cmd_logout(catalog: Any, args: argparse.Namespace) -> int:
    print("Logged out." if credentials.remove() else "Not logged in.")
    return 0


def cmd_workspace_list(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_control_plane.schemas import WorkspaceOut

    session = _session()
    workspaces = session.parsed(
        "list workspaces",
        lambda items: [WorkspaceOut.model_validate(i) for i in items],
        "GET",
        f"{session.org_path}/workspaces",
        management=True,
    )
    rows = [["", "ID", "NAME"]]
    rows += [["*" if w.id == session.login.workspace_id else "", w.id, w.name] for w in workspaces]
    print(_table(rows))
    return 0


def cmd_workspace_switch(catalog: Any, args: argparse.Namespace) -> int:
    session = _session()
    login = session.login
    login.workspace_id = args.workspace_id
    if login.deployment_id and login.workspace_id != args.workspace_id:
        login.deployment_id = None
    _remember(login)
    print(f"Workspace {args.workspace_id} selected.")
    return 0


def cmd_deployment_list(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_control_plane.schemas import DeploymentOut

    session = _session()
    deployments = session.parsed(
        "list deployments",
        lambda items: [DeploymentOut.model_validate(i) for i in items],
        "GET",
        f"{session.org_path}/deployments",
        management=True,
    )
    workspace = args.workspace_id or session.login.workspace_id
    rows = [["", "ID", "NAME", "WORKSPACE", "CLUSTER", "RUNTIME", "URL"]]
    for d in deployments:
        if workspace and not args.all and d.workspace_id != workspace:
            continue
        mark = "*" if d.id == session.login.deployment_id else ""
        rows.append([mark, d.id, d.name, d.workspace_id, d.cluster, d.runtime_version, d.base_url])
    print(_table(rows))
    return 0


def cmd_deployment_create(catalog: Any, args: argparse.Namespace) -> int:
    session = _session()
    workspace = args.workspace_id or session.login.workspace_id
    if not workspace:
        raise NothingSelected("no workspace: pass --workspace-id or run astro-runtime workspace switch ID")
    cluster = _cluster(session, args.cluster)
    body = {
        "name": args.name,
        "workspace_id": workspace,
        "runtime_version": args.runtime_version or catalog.newest_stable().name,
        "base_url": args.base_url,
        **cluster,
    }
    created = session.call(
        "create deployment",
        "POST",
        f"{session.org_path}/deployments",
        expected=(201,),
        management=True,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    deployment, agent_token = created["deployment"], created["agent_token"]
    token_file = credentials.config_dir() / "agent-tokens" / f"{deployment['id']}.token"
    token_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(agent_token + "\n")
    login = session.login
    login.workspace_id, login.deployment_id = workspace, deployment["id"]
    _remember(login)
    print(
        f"Deployment {deployment['name']} ({deployment['id']}) created on cluster {args.cluster} "
        "and selected; "
        f"its agent token (shown once by the control plane) is in {token_file} "
        "(AIRFLOW__ASTRONOMER__AGENT_TOKEN_FILE)"
    )
    return 0


def _cluster(session: Any, cluster: str) -> dict[str, str]:
    """The deployment's cluster: --cluster is an id or a name of one of the organization's clusters."""
    clusters = session.call("list clusters", "GET", f"{session.org_path}/clusters", management=True)
    for item in clusters:
        if cluster in (item.get("id"), item.get("name")):
            return {"cluster_id": str(item["id"])}
    known = ", ".join(f"{c.get('name')} ({c.get('id')})" for c in clusters) or "none"
    raise CloudError(
        f"--cluster {cluster!r}: no such cluster in organization {session.login.organization_id}; "
        f"known: {known}"
    )


def cmd_deployment_switch(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_runtime.cloud import deploy

    session = _session()
    found = deploy.endpoint(session, args.deployment_id)  # the login can reach it, or one clear error
    login = session.login
    login.deployment_id = found.id
    _remember(login)
    print(f"Deployment {found.name} ({found.id}) selected; its Airflow is {found.base_url}")
    return 0


def _deployment(session: Any, args: argparse.Namespace) -> str:
    chosen = getattr(args, "deployment_id", None) or session.login.deployment_id
    if not chosen:
        raise NothingSelected("no deployment: pass --deployment ID or run astro-runtime deployment switch ID")
    return str(chosen)


def cmd_deploy(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_runtime.cloud import archive, deploy

    session = _session()
    deployment_id = _deployment(session, args)
    if args.image:
        facts = deploy.inspect_image(args.image, args.digest, args.runtime_version)
        record = deploy.image_deploy(session, deployment_id, facts, args.description)
        print(
            f"Image deploy {record.id}: {facts.reference} ({facts.digest}), Runtime {facts.runtime_version}, "
            f"recorded for deployment {deployment_id}"
        )
        return 0
    project = args.project.resolve()
    bundle = archive.build(project)  # refuses a project without dags/ before the slow parse
    problems = deploy.parse_problems(project, catalog.newest_stable().name)
    deploy.refuse_on_parse_errors(problems, args.force)
    if problems:
        print(f"Deploying despite {len(problems)} import error(s) (--force)", file=sys.stderr)
    record = deploy.upload(session, deployment_id, bundle, args.description, deploy.git_commit(project))
    version = record.bundle.version if record.bundle else bundle.sha256
    print(
        f"Deploy {record.id}: bundle {version[:12]} ({bundle.files} files, {bundle.size} bytes) "
        f"to deployment {deployment_id}"
    )
    if args.wait:
        seconds = deploy.wait_until_served(session, deployment_id, record, timeout=args.wait_timeout)
        print(f"Deployment {deployment_id} serves bundle {version[:12]} (reported after {seconds:.1f} s)")
    return 0


def cmd_deploys(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_runtime.cloud import deploy

    session = _session()
    records = deploy.history(session, _deployment(session, args))
    rows = [["ID", "KIND", "VERSION", "CREATED (UTC)", "SERVED (UTC)", "AUTHOR", "DESCRIPTION"]]
    for r in records:
        what = r.bundle.version[:12] if r.bundle else (r.image.reference if r.image else "-")
        note = r.description + (f" (rollback of {r.rollback_of})" if r.rollback_of else "")
        rows.append([r.id, r.kind.value, what, _utc(r.created_at), _utc(r.served_at), r.author, note])
    print(_table(rows))
    return 0


def _utc(moment: dt.datetime | None) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}" if moment else "-"


def cmd_rollback(catalog: Any, args: argparse.Namespace) -> int:
    from astronomer_runtime.cloud import deploy

    session = _session()
    deployment_id = _deployment(session, args)
    record = deploy.rollback(session, deployment_id, args.deploy_id)
    version = record.bundle.version[:12] if record.bundle else "-"
    print(f"Deploy {record.id}: rollback of {args.deploy_id}, bundle {version} is current on {deployment_id}")
    if args.wait and record.bundle:
        seconds = deploy.wait_until_served(session, deployment_id, record, timeout=args.wait_timeout)
        print(f"Deployment {deployment_id} serves bundle {version} (reported after {seconds:.1f} s)")
    return 0


def _wait_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", action="store_true", help="wait until the deployment's dag-processor serves it"
    )
    parser.add_argument(
        "--wait-timeout", type=float, default=300.0, help="seconds --wait waits (default 300)"
    )


def _deployment_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deployment", dest="deployment_id", help="deployment id (default: the selected one)"
    )


def add_commands(commands: Any) -> None:
    """Add login, logout, workspace, deployment, deploy, deploys and rollback to the main parser."""
    from astronomer_runtime.project.cli import project_argument

    login = commands.add_parser(
        "login", help="log in to a control plane (browser, or ASTRO_RUNTIME_API_TOKEN)"
    )
    login.add_argument("url", nargs="?", help="the control plane's URL (default: the last one)")
    login.add_argument("--no-browser", action="store_true", help="print the login URL, do not open a browser")
    login.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the browser (default 300)"
    )
    login.set_defaults(handler=cmd_login)
    commands.add_parser("logout", help="forget the stored login").set_defaults(handler=cmd_logout)

    workspace = commands.add_parser("workspace", help="list and select workspaces")
    ws_verbs = workspace.add_subparsers(dest="verb", required=True, metavar="VERB")
    ws_verbs.add_parser("list", help="the organization's workspaces").set_defaults(handler=cmd_workspace_list)
    switch = ws_verbs.add_parser("switch", help="select a workspace")
    switch.add_argument("workspace_id")
    switch.set_defaults(handler=cmd_workspace_switch)

    deployment = commands.add_parser("deployment", help="list, create and select deployments")
    dep_verbs = deployment.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = dep_verbs.add_parser("list", help="deployments of the selected workspace")
    listing.add_argument("--workspace-id", help="another workspace than the selected one")
    listing.add_argument("--all", action="store_true", help="every workspace of the organization")
    listing.set_defaults(handler=cmd_deployment_list)
    create = dep_verbs.add_parser("create", help="create a deployment on a cluster and select it")
    create.add_argument("--name", required=True)
    create.add_argument("--cluster", required=True, help="cluster id or name (see the control plane)")
    create.add_argument("--workspace-id", help="default: the selected workspace")
    create.add_argument("--runtime-version", help="default: the newest stable release of the catalog")
    create.add_argument("--base-url", required=True, help="where the deployment's Airflow answers")
    create.set_defaults(handler=cmd_deployment_create)
    dep_switch = dep_verbs.add_parser("switch", help="select a deployment")
    dep_switch.add_argument("deployment_id")
    dep_switch.set_defaults(handler=cmd_deployment_switch)

    deploy = commands.add_parser(
        "deploy", help="deploy the project's DAGs (default) or record an image deploy"
    )
    project_argument(deploy)
    _deployment_argument(deploy)
    deploy.add_argument("--description", default="", help="shown in the deploy history")
    deploy.add_argument("--image", help="record an image deploy of this reference instead of uploading DAGs")
    deploy.add_argument("--digest", help="the image's digest (default: from skopeo inspect)")
    deploy.add_argument(
        "--runtime-version", help="the image's Runtime (default: its label, by skopeo inspect)"
    )
    deploy.add_argument("--force", action="store_true", help="deploy even when DAG files fail to import")
    _wait_arguments(deploy)
    deploy.set_defaults(handler=cmd_deploy)

    deploys = commands.add_parser("deploys", help="the deployment's deploy history, newest first")
    _deployment_argument(deploys)
    deploys.set_defaults(handler=cmd_deploys)

    rollback = commands.add_parser("rollback", help="make an earlier DAG deploy current again")
    rollback.add_argument("deploy_id")
    _deployment_argument(rollback)
    _wait_arguments(rollback)
    rollback.set_defaults(handler=cmd_rollback)
