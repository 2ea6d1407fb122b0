"""The reference control plane's commands: serve, seed, rotate-keys, openapi.

Its own entry point is `astro-control-plane` (this distribution knows nothing of the catalog: the
update feed comes from `--feed-file`). `astro-runtime control-plane ...` adds the same commands to the
build tooling's CLI and fills in the feed and the seeded release from its catalog.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astronomer_control_plane.settings import Settings

DEFAULT_DATA_DIR = Path(".local/control-plane")
MIB = 1024 * 1024
OPENAPI_FILE = Path(__file__).resolve().parents[1] / "openapi.json"


def _settings(args: argparse.Namespace) -> Settings:
    from astronomer_control_plane.settings import Settings

    return Settings(
        data_dir=args.data_dir.resolve(),
        database_url=args.database_url,
        host=args.host,
        port=args.port,
        issuer=args.issuer,
        feed_file=args.feed_file.resolve() if args.feed_file else None,
        code_lifetime=dt.timedelta(seconds=args.code_lifetime),
        max_bundle_bytes=args.max_bundle_mib * MIB,
        max_bundle_unpacked_bytes=args.max_bundle_unpacked_mib * MIB,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from astronomer_control_plane.app import create_app
    from astronomer_control_plane.settings import UnsafeBindAddress, check_bind_address, is_loopback

    settings = _settings(args)
    try:
        check_bind_address(settings.host, insecure_public=args.insecure_dev_login_on_public_address)
    except UnsafeBindAddress as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(settings.host):
        print(
            f"WARNING: listening on {settings.host} with a development login (no passwords)",
            file=sys.stderr,
            flush=True,
        )
    app = create_app(settings)
    print(
        f"control plane: {settings.resolved_issuer} (admin token in {settings.admin_token_file})", flush=True
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from astronomer_control_plane.app import bootstrap
    from astronomer_control_plane.seed import seed

    if not args.runtime_version:
        print(
            "error: seed needs --runtime-version (the Runtime release the seeded deployment runs)",
            file=sys.stderr,
        )
        return 2
    settings = _settings(args)
    result = seed(
        bootstrap(settings),
        base_url=args.base_url,
        runtime_version=args.runtime_version,
        out_dir=settings.data_dir,
    )
    print(result.settings_file.read_text())
    return 0


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    from astronomer_control_plane.app import bootstrap

    cp = bootstrap(_settings(args))
    with cp.transaction() as session:
        key = cp.keys.create(session)
        published = [k.kid for k in cp.keys.published(session)]
    print(f"new signing key {key.kid}; published keys: {', '.join(published)}")
    return 0


def openapi_document() -> str:
    from astronomer_control_plane.app import create_app
    from astronomer_control_plane.settings import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir)))
        app.state.control_plane.engine.dispose()
        return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    document = openapi_document()
    if args.write:
        OPENAPI_FILE.write_text(document)
        print(f"wrote {OPENAPI_FILE}")
    else:
        print(document, end="")
    return 0


def _code_lifetime(value: str) -> int:
    seconds = int(value)
    if not 1 <= seconds <= 600:
        raise argparse.ArgumentTypeError("--code-lifetime must be 1-600 seconds")
    return seconds


def _mebibytes(value: str) -> int:
    mib = int(value)
    if not 1 <= mib <= 10_240:
        raise argparse.ArgumentTypeError("a bundle limit is 1-10240 MiB")
    return mib


def add_commands(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `control-plane` to another CLI; each subcommand's `run(args)` is its handler."""
    parser = commands.add_parser("control-plane", help="the reference control plane (development and tests)")
    _add_options(parser)
    return parser


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="keys, admin token, SQLite file"
    )
    parser.add_argument("--database-url", default="", help="SQLAlchemy URL (default: SQLite in --data-dir)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--issuer", default="", help="public URL (default http://HOST:PORT)")
    parser.add_argument(
        "--feed-file",
        type=Path,
        default=None,
        help="runtime-feed.json served at /v1/runtime-releases (`astro-runtime feed`)",
    )
    parser.add_argument(
        "--code-lifetime",
        type=_code_lifetime,
        default=60,
        metavar="SECONDS",
        help="how long an unused authorization code stays valid (1-600, default 60)",
    )
    parser.add_argument(
        "--max-bundle-mib",
        type=_mebibytes,
        default=50,
        metavar="MIB",
        help="largest DAG bundle (tar.gz) a deploy may upload (default 50)",
    )
    parser.add_argument(
        "--max-bundle-unpacked-mib",
        type=_mebibytes,
        default=500,
        metavar="MIB",
        help="largest total size of a DAG bundle's files once unpacked (default 500)",
    )
    sub = parser.add_subparsers(dest="control_plane_command", required=True)
    serve = sub.add_parser("serve", help="run the service (on 127.0.0.1 unless told otherwise)")
    serve.add_argument(
        "--insecure-dev-login-on-public-address",
        action="store_true",
        help="allow a non-loopback --host: its login is a password-less user picker, for development only",
    )
    serve.set_defaults(run=cmd_serve)
    seed = sub.add_parser("seed", help="create the development organization, deployment and users")
    seed.add_argument("--base-url", default="http://127.0.0.1:8080", help="the local Airflow's base URL")
    seed.add_argument(
        "--runtime-version",
        default="",
        help="Runtime release of the seeded deployment (astro-runtime: default newest stable)",
    )
    seed.set_defaults(run=cmd_seed)
    sub.add_parser("rotate-keys", help="new signing key; old ones stay published").set_defaults(
        run=cmd_rotate_keys
    )
    openapi = sub.add_parser("openapi", help="print (or --write) the OpenAPI document")
    openapi.add_argument("--write", action="store_true", help=f"write {OPENAPI_FILE.name} in control_plane/")
    openapi.set_defaults(run=cmd_openapi)


def main(argv: list[str] | None = None) -> int:
    """`astro-control-plane [options] serve|seed|rotate-keys|openapi`."""
    parser = argparse.ArgumentParser(prog="astro-control-plane", description=__doc__.splitlines()[0])
    _add_options(parser)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
