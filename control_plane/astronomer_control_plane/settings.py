"""Settings of the control plane, given on the command line (or by tests) and passed explicitly."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

INSECURE_BIND_FLAG = "--insecure-dev-login-on-public-address"
MIB = 1024 * 1024


class UnsafeBindAddress(ValueError):
    """The control plane was asked to listen beyond this machine without saying it is insecure."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name (or anything else) may resolve to a public address


def check_bind_address(host: str, *, insecure_public: bool) -> None:
    """Its login is a user picker with no password: anyone who reaches it signs in as anyone. So it
    listens on loopback only, unless started with the flag that says so."""
    if not is_loopback(host) and not insecure_public:
        raise UnsafeBindAddress(
            f"refusing to listen on {host}: the reference control plane's login is a development user "
            f"picker without passwords (anyone who reaches it signs in as anyone). Listen on 127.0.0.1, "
            f"or pass {INSECURE_BIND_FLAG} to serve if you really mean it."
        )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str = ""  # empty: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8800
    issuer: str = ""  # empty: http://host:port
    feed_file: Path | None = None  # runtime-feed.json served at /v1/runtime-releases (`astro-runtime feed`)
    user_token_lifetime: dt.timedelta = dt.timedelta(hours=1)
    max_api_token_lifetime: dt.timedelta = dt.timedelta(days=365)
    code_lifetime: dt.timedelta = dt.timedelta(seconds=60)
    max_bundle_bytes: int = 50 * MIB  # a DAG bundle as uploaded (tar.gz)
    max_bundle_unpacked_bytes: int = 500 * MIB  # the sum of its files' sizes once unpacked
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

    @property
    def bundles_dir(self) -> Path:
        """DAG bundles, content-addressed: <sha256>.tar.gz (uploads in progress under .incoming/)."""
        return self.data_dir / "bundles"
