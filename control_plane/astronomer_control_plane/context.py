"""The running control plane's shared objects, created by `create_app` (no module-level state)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from astronomer_control_plane.db import transaction
from astronomer_control_plane.keys import KeyStore
from astronomer_control_plane.settings import Settings


@dataclass
class ControlPlane:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyStore

    @property
    def issuer(self) -> str:
        return self.settings.resolved_issuer

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session


def control_plane(request: Request) -> ControlPlane:
    """FastAPI dependency: the app's ControlPlane."""
    return request.app.state.control_plane
