"""Settings of the control plane, given on the command line (or by tests) and passed explicitly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str = ""  # empty: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8800
    issuer: str = ""  # empty: http://host:port
    catalog_file: Path | None = None  # versions.yaml for /v1/runtime-releases
    user_token_lifetime: dt.timedelta = dt.timedelta(hours=1)
    max_api_token_lifetime: dt.timedelta = dt.timedelta(days=365)
    code_lifetime: dt.timedelta = dt.timedelta(seconds=60)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'control-plane.db'}"

    @property
    def resolved_issuer(self) -> str:
        return (self.issuer or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def admin_token_file(self) -> Path:
        return self.data_dir / "admin-token"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"
