"""`create_app(settings)`: a new control-plane app (nothing is built at import time)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from astronomer_control_plane import errors
from astronomer_control_plane.context import ControlPlane
from astronomer_control_plane.db import create_schema, make_engine
from astronomer_control_plane.keys import KeyStore
from astronomer_control_plane.orm import AdminCredential
from astronomer_control_plane.secrets_store import digest, new_secret, write_private
from astronomer_control_plane.settings import Settings


def bootstrap(settings: Settings) -> ControlPlane:
    """Create the schema, a signing key and the admin token (0600 file) on first start."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    from astronomer_control_plane.routes import deployments, feed, identity, management

    app = FastAPI(
        title="Astronomer reference control plane",
        version="1",
        description="Identity, management API, registration, metrics ingest and update feed of the "
        "reference control plane. Agent endpoints take the deployment's agent token; management "
        "endpoints take the admin token or an ORGANIZATION_OWNER API token.",
    )
    app.state.control_plane = bootstrap(settings)
    errors.install_handlers(app)
    for router in (identity.router, management.router, deployments.router, deployments.status_router, feed.router):
        app.include_router(router)

    @app.get("/health", tags=["status"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
