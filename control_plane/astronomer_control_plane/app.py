"""`create_app(settings)`: a new control-plane app (nothing is built at import time)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from astronomer_control_plane import bundle_store, errors
from astronomer_control_plane.context import ControlPlane
from astronomer_control_plane.db import create_schema, make_engine, make_private_sqlite_files
from astronomer_control_plane.keys import KeyStore
from astronomer_control_plane.limits import BodyLimitMiddleware
from astronomer_control_plane.orm import AdminCredential
from astronomer_control_plane.secrets_store import digest, make_private_dir, new_secret, write_private
from astronomer_control_plane.settings import Settings


def bootstrap(settings: Settings) -> ControlPlane:
    """Create the schema, a signing key and the admin token (0600 file) on first start. The data
    directory is made 0700 and the SQLite files 0600 on every start, also when they exist wider."""
    make_private_dir(settings.data_dir)
    make_private_dir(settings.keys_dir)
    bundle_store.prepare(settings)
    make_private_sqlite_files(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    create_schema(engine)
    cp = ControlPlane(settings, engine, sessionmaker(engine, expire_on_commit=False), KeyStore(settings))
    with cp.transaction() as session:
        cp.keys.active(session)
        if session.scalar(select(AdminCredential)) is None or not settings.admin_token_file.exists():
            admin_token = new_secret("astro_admin")
            write_private(settings.admin_token_file, admin_token + "\n")
            for old in session.scalars(select(AdminCredential)):
                session.delete(old)
            session.add(AdminCredential(token_hash=digest(admin_token)))
    return cp


def create_app(settings: Settings) -> FastAPI:
    from astronomer_control_plane.routes import deployments, deploys, feed, identity, management

    app = FastAPI(
        title="Astronomer reference control plane",
        version="1",
        description="Identity, management API, registration, metrics ingest and update feed of the "
        "reference control plane. Agent endpoints take the deployment's agent token; management "
        "endpoints take the admin token or an ORGANIZATION_OWNER API token; a deployment's deploys "
        "also take user and API tokens with a role on it (to deploy: WORKSPACE_AUTHOR and above, "
        "DEPLOYMENT_ADMIN).",
    )
    app.state.control_plane = bootstrap(settings)
    errors.install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bundle_bytes=settings.max_bundle_bytes)
    for router in (
        identity.router,
        management.router,
        deployments.router,
        deploys.router,
        deploys.agent_router,
        deployments.status_router,
        feed.router,
    ):
        app.include_router(router)

    @app.get("/health", tags=["status"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
