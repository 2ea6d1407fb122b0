"""`astro-runtime`: the catalog, locks and the local runtime from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from astronomer_runtime import locks, paths
from astronomer_runtime.catalog import Catalog, load_catalog, views
from astronomer_runtime.errors import RuntimeToolError


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def cmd_list(catalog: Catalog, args: argparse.Namespace) -> int:
    on: dt.date = args.on
    rows = [["RELEASE", "AIRFLOW", "PYTHON", "CHANNEL", "LTS", "STATUS", "END OF MAINTENANCE", "DAYS LEFT"]]
    for release in catalog.releases:
        lifecycle = catalog.lifecycle(release)
        python = ", ".join(f"{p}*" if p == release.python.default else p for p in release.python.supported)
        rows.append(
            [
                release.name,
                release.airflow,
                python,
                release.channel.value,
                "yes" if release.lts else "no",
                catalog.status(release, on).value,
                lifecycle.end_of_maintenance.isoformat(),
                str((lifecycle.end_of_maintenance - on).days),
            ]
        )
    print(_table(rows))
    print(f"\n* default Python. Status as of {on.isoformat()}.")
    return 0


def cmd_show(catalog: Catalog, args: argparse.Namespace) -> int:
    release = catalog.get(args.release)
    lifecycle = catalog.lifecycle(release)
    lines = [
        f"Runtime {release.name}",
        f"  Airflow:              {release.airflow}",
        f"  Python:               {', '.join(release.python.supported)} (default {release.python.default})",
        f"  Channel:              {release.channel.value}{' (LTS)' if release.lts else ''}",
        f"  Released:             {release.release_date}",
        f"  End of maintenance:   {lifecycle.end_of_maintenance}",
        f"  End of basic support: {lifecycle.end_of_basic_support}",
        f"  Status today:         {catalog.status(release, args.on).value}",
        f"  Yanked:               {'yes' if release.yanked else 'no'}",
        f"  DB migration needed:  {'yes' if release.db_migration else 'no'} (from the previous release)",
        "  Providers:",
        *(f"    {name}=={version}" for name, version in sorted(release.providers.items())),
    ]
    for title, entries in (("Features", release.changelog.features), ("Fixes", release.changelog.fixes)):
        if entries:
            lines += [f"  {title}:", *(f"    - {entry}" for entry in entries)]
    if release.changelog.security:
        lines += ["  Security:", *(f"    - {fix.cve}: {fix.summary}" for fix in release.changelog.security)]
    print("\n".join(lines))
    return 0


def cmd_diff(catalog: Catalog, args: argparse.Namespace) -> int:
    result = views.diff(catalog, catalog.get(args.old), catalog.get(args.new))
    print(f"Runtime {result.old.name} -> {result.new.name}")
    for kind in ("upgraded", "downgraded", "added", "removed"):
        changes = result.by_kind(kind)
        if changes:
            print(f"  {kind.capitalize()}:")
            for change in changes:
                print(f"    {change.name}: {change.old or '-'} -> {change.new or '-'}")
    print(f"  Unchanged: {len(result.by_kind('unchanged'))} distributions")
    print(f"  Database migration: {'needed (airflow db migrate)' if result.db_migration else 'not needed'}")
    return 0


def cmd_feed(catalog: Catalog, args: argparse.Namespace) -> int:
    print(views.feed(catalog).to_json())
    return 0


def cmd_lock(catalog: Catalog, args: argparse.Namespace) -> int:
    lock_targets = locks.targets(catalog, args.release)
    if args.offline:
        problems = [problem for target in lock_targets for problem in locks.offline_problems(target)]
        problems += locks.index_problems(catalog)
    else:
        print(f"Resolving {len(lock_targets)} lock(s) against PyPI...", file=sys.stderr)
        problems = locks.regenerate(lock_targets, check=args.check)
        if args.check:
            problems += locks.index_problems(catalog)
        else:
            locks.INDEX_FILE.write_text(locks.index_text(catalog))
            for stale in locks.unknown_lock_files(catalog) if not args.release else []:
                stale.unlink()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(
            "locks are up to date" if (args.check or args.offline) else f"wrote {len(lock_targets)} lock(s)"
        )
    return 1 if problems else 0


def cmd_audit(catalog: Catalog, args: argparse.Namespace) -> int:
    from astronomer_runtime import audit

    return audit.run(catalog, args.release)


def cmd_dev(catalog: Catalog, args: argparse.Namespace) -> int:
    from astronomer_runtime.local import runner
    from astronomer_runtime.local.control_plane import LocalControlPlane
    from astronomer_runtime.local.home import LocalHome, write_release_files

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    release = catalog.newest_stable(python)
    home = LocalHome(path=args.home.resolve(), project=args.project.resolve(), port=args.port)
    write_release_files(home, views.feed(catalog).to_json(), views.manifest(release).to_json())
    control_plane = (
        None
        if args.without_control_plane
        else LocalControlPlane(
            data_dir=home.path.parent / "control-plane",
            port=args.control_plane_port,
            catalog_file=args.catalog.resolve(),
            bundle_storage=home.path / "dag-bundles" if args.deploys else None,
        )
    )
    celery = None
    if args.executor == "celery":
        from astronomer_runtime.local.celery import LocalCelery

        ports = {"postgres_port": args.postgres_port, "redis_port": args.redis_port}
        celery = LocalCelery(root=home.path.parent / "celery", workers=args.workers, **ports)
    return runner.run(home, runtime_version=release.name, control_plane=control_plane, celery=celery)


def cmd_control_plane(catalog: Catalog, args: argparse.Namespace) -> int:
    """The control plane's own command, with the feed and the seeded release taken from our catalog.
    Unless --feed-file names one, the feed is written content-addressed under .local/feeds/ (the data
    directory is the control plane's to create, after its own checks; a killed server leaves nothing
    that grows)."""
    import hashlib

    if getattr(args, "runtime_version", None) == "":
        args.runtime_version = catalog.newest_stable().name
    if args.feed_file is None:
        document = views.feed(catalog).to_json() + "\n"
        args.feed_file = (
            paths.LOCAL_DIR / "feeds" / f"{hashlib.sha256(document.encode()).hexdigest()[:16]}.json"
        )
        if not args.feed_file.is_file():
            args.feed_file.parent.mkdir(parents=True, exist_ok=True)
            partial = args.feed_file.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(document)
            partial.replace(args.feed_file)  # atomic: a concurrent reader never sees half a file
    return args.run(args)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-28") from None


def build_parser() -> argparse.ArgumentParser:
    from astronomer_runtime.local import control_plane as local_control_plane

    parser = argparse.ArgumentParser(prog="astro-runtime", description=__doc__)
    parser.add_argument(
        "--catalog", type=Path, default=paths.CATALOG_FILE, help="catalog file (default: versions.yaml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    versions = commands.add_parser("versions", help="list, show and compare Runtime releases")
    versions_commands = versions.add_subparsers(dest="versions_command", required=True)
    listing = versions_commands.add_parser("list", help="every release with its support status")
    listing.set_defaults(handler=cmd_list)
    show = versions_commands.add_parser("show", help="one release in full")
    show.add_argument("release")
    show.set_defaults(handler=cmd_show)
    for sub in (listing, show):
        sub.add_argument(
            "--on", type=_date, default=dt.date.today(), help="status as of this date (default today)"
        )
    compare = versions_commands.add_parser("diff", help="what changes from one release to another")
    compare.add_argument("old")
    compare.add_argument("new")
    compare.set_defaults(handler=cmd_diff)

    commands.add_parser("feed", help="the update feed as Astro-compatible JSON").set_defaults(
        handler=cmd_feed
    )

    lock = commands.add_parser("lock", help="regenerate the locks under runtime/locks from PyPI")
    lock.add_argument(
        "--check", action="store_true", help="regenerate in memory; fail if a committed lock differs"
    )
    lock.add_argument(
        "--offline", action="store_true", help="check committed locks against the catalog, no network"
    )
    lock.add_argument("--release", action="append", help="only this release (repeatable)")
    lock.set_defaults(handler=cmd_lock)

    audit = commands.add_parser(
        "audit", help="pip-audit every lock; findings must be in the release's changelog"
    )
    audit.add_argument("--release", action="append", help="only this release (repeatable)")
    audit.set_defaults(handler=cmd_audit)

    dev = commands.add_parser(
        "dev", help="run the local runtime (api-server, scheduler, dag-processor, triggerer)"
    )
    dev.add_argument("--port", type=int, default=8080)
    dev.add_argument(
        "--home", type=Path, default=paths.LOCAL_DIR / "airflow", help="AIRFLOW_HOME (default .local/airflow)"
    )
    dev.add_argument("--control-plane-port", type=int, default=8800, help="reference control plane port")
    dev.add_argument(
        "--project",
        type=Path,
        default=paths.REPO_ROOT,
        help="Astro-layout project to run: its dags/, plugins/ and include/ (default: this checkout)",
    )
    dev.add_argument("--without-control-plane", action="store_true", help="plain Airflow, no control plane")
    dev.add_argument("--deploys", action="store_true", help=local_control_plane.DEPLOYS_HELP)
    dev.add_argument(
        "--executor",
        choices=("local", "celery"),
        default="local",
        help="local: LocalExecutor on SQLite (default); celery: CeleryExecutor with PostgreSQL, Redis and "
        "Celery workers (Debian's postgresql and redis-server packages)",
    )
    dev.add_argument("--workers", type=int, default=2, help="Celery workers (--executor celery)")
    dev.add_argument("--postgres-port", type=int, default=8832, help="PostgreSQL port (--executor celery)")
    dev.add_argument("--redis-port", type=int, default=8879, help="Redis port (--executor celery)")
    dev.set_defaults(handler=cmd_dev)

    from astronomer_control_plane.cli import add_commands as add_control_plane_commands

    add_control_plane_commands(commands).set_defaults(handler=cmd_control_plane)
    from astronomer_runtime.image.cli import add_commands as add_image_commands

    add_image_commands(commands)
    from astronomer_runtime.project.cli import add_commands as add_project_commands

    add_project_commands(commands)
    from astronomer_runtime.cloud.cli import add_commands as add_cloud_commands

    add_cloud_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(load_catalog(args.catalog), args)
    except RuntimeToolError as exc:
        print(exc, file=sys.stderr)
        return 1
