"""Bringing an existing database up to the current tables, at every start (idempotent).

`create_all` makes missing tables but never changes an existing one, so each change to an existing
table is one step here, checked against the database itself (no version table to drift from it):

- clusters became records (issue 16): `deployments.cluster_id` is added, and each deployment made
  before gets the cluster of its organization named by its old free-text `cluster` (created when
  missing: `local` as kind local, any other name as kind kubernetes with an unknown provider);
- a deploy records when the deployment's dag-processor first served it: `deploys.served_at`.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from astronomer_control_plane.db import Base


def upgrade(engine: Engine) -> None:
    from astronomer_control_plane import orm

    Base.metadata.create_all(engine)
    _add_column(engine, "deployments", "cluster_id", "VARCHAR(40) REFERENCES clusters (id)")
    _add_column(engine, "deploys", "served_at", "TIMESTAMP")
    with Session(engine) as session, session.begin():
        for deployment in session.scalars(select(orm.Deployment).where(orm.Deployment.cluster_id.is_(None))):
            cluster = session.scalar(
                select(orm.Cluster).where(
                    orm.Cluster.organization_id == deployment.organization_id,
                    orm.Cluster.name == deployment.cluster,
                )
            )
            if cluster is None:
                local = deployment.cluster == "local"
                cluster = orm.Cluster(
                    organization_id=deployment.organization_id,
                    name=deployment.cluster,
                    cloud_provider="local" if local else "unknown",
                    region=deployment.region,
                    kind="local" if local else "kubernetes",
                )
                session.add(cluster)
                session.flush()
            deployment.cluster_id = cluster.id


def _add_column(engine: Engine, table: str, column: str, definition: str) -> None:
    if column not in {found["name"] for found in inspect(engine).get_columns(table)}:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {definition}"))
