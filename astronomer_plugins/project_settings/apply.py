"""Applies validated project settings to Airflow's metadata database, in one transaction.

Each entry creates its row or brings the row's fields to what the file says (the file states the
whole entry: a field left out is emptied). A field is written only when it differs, so applying the
same file again writes nothing, not even a re-encrypted password. Rows the file does not name are
left alone. Any database error rolls everything back and names the entry, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from astronomer_plugins.errors import ProjectSettingsError
from astronomer_plugins.project_settings.models import (
    SECTIONS,
    ConnectionEntry,
    PoolEntry,
    ProjectSettings,
    VariableEntry,
    entry_label,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class AppliedSettings:
    """What applying did, per section: the names created, updated and left unchanged."""

    outcomes: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {section: {CREATED: [], UPDATED: [], UNCHANGED: []} for section in SECTIONS}
    )

    def summary(self) -> str:
        parts = []
        for section, outcome in self.outcomes.items():
            counts = ", ".join(f"{len(names)} {what}" for what, names in outcome.items())
            parts.append(f"{section}: {counts}")
        return "; ".join(parts)


def _update(row: Any, wanted: dict[str, Any]) -> str:
    changed = False
    for attribute, value in wanted.items():
        if getattr(row, attribute) != value:
            setattr(row, attribute, value)
            changed = True
    return UPDATED if changed else UNCHANGED


def _connection(session: Session, entry: ConnectionEntry) -> str:
    import json

    from airflow.models.connection import Connection
    from sqlalchemy import select

    password = entry.conn_password.get_secret_value() if entry.conn_password else None
    wanted: dict[str, Any] = {
        "conn_type": entry.conn_type,
        "description": entry.conn_description,
        "host": entry.conn_host,
        "schema": entry.conn_schema,
        "login": entry.conn_login,
        "port": entry.conn_port,
        "password": password,
    }
    row = session.scalar(select(Connection).where(Connection.conn_id == entry.conn_id))
    if row is None:
        session.add(Connection(conn_id=entry.conn_id, extra=entry.extra_json(), **wanted))
        return CREATED
    outcome = _update(row, wanted)
    # Compared as data: the same mapping is the same extra, whatever its key order or spacing.
    if (json.loads(row.extra) if row.extra else None) != entry.conn_extra:
        row.extra = entry.extra_json()
        outcome = UPDATED
    return outcome


def _variable(session: Session, entry: VariableEntry) -> str:
    from airflow.models.variable import Variable
    from sqlalchemy import select

    wanted = {"val": entry.variable_value.get_secret_value(), "description": entry.variable_description}
    row = session.scalar(select(Variable).where(Variable.key == entry.variable_name))
    if row is None:
        session.add(Variable(key=entry.variable_name, **wanted))
        return CREATED
    return _update(row, wanted)


def _pool(session: Session, entry: PoolEntry) -> str:
    from airflow.models.pool import Pool
    from sqlalchemy import select

    wanted = {"slots": entry.pool_slot, "description": entry.pool_description}
    row = session.scalar(select(Pool).where(Pool.pool == entry.pool_name))
    if row is None:
        session.add(Pool(pool=entry.pool_name, include_deferred=False, **wanted))
        return CREATED
    return _update(row, wanted)


def _steps(settings: ProjectSettings) -> Iterable[tuple[str, int, str, Callable[..., str]]]:
    for index, connection in enumerate(settings.connections):
        yield "connections", index, connection.conn_id, partial(_connection, entry=connection)
    for index, variable in enumerate(settings.variables):
        yield "variables", index, variable.variable_name, partial(_variable, entry=variable)
    for index, pool in enumerate(settings.pools):
        yield "pools", index, pool.pool_name, partial(_pool, entry=pool)


def apply_settings(settings: ProjectSettings, *, source: str) -> AppliedSettings:
    """Create or update every connection, variable and pool in one transaction: all or nothing.

    Needs an initialised Airflow (`import airflow` in a process whose AIRFLOW_HOME points at a
    migrated database); `source` names the file in errors."""
    from airflow.utils.session import create_session
    from sqlalchemy.exc import SQLAlchemyError

    applied = AppliedSettings()
    label = "the final commit"
    try:
        with create_session() as session:
            for section, index, name, step in _steps(settings):
                label = entry_label(section, index, name)
                outcome = step(session=session)
                session.flush()  # a refused row is reported against its own entry
                applied.outcomes[section][outcome].append(name)
            label = "the final commit"
    except SQLAlchemyError as exc:
        # The DBAPI's own message (a constraint, a lock) only: SQLAlchemy's text adds the statement's
        # parameters, which hold the (encrypted or, without a fernet key, plain) secrets. Hence no chain.
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
        raise ProjectSettingsError(
            f"{source}: {label}: the database refused it ({reason}); nothing was applied"
        ) from None
    return applied
