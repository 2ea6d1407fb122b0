"""Where a login lives: $XDG_CONFIG_HOME/astro-runtime/config.json (directory 0700, file 0600).

One file holds the control plane's URL, the token of a browser login and the selected workspace and
deployment. An API token from ASTRO_RUNTIME_API_TOKEN (CI) is used as given and never written. The
token is never printed: `Login` hides it from repr and the commands only show who and until when.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import stat
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from astronomer_runtime.cloud.errors import CloudError, NotLoggedIn

TOKEN_ENV = "ASTRO_RUNTIME_API_TOKEN"
URL_ENV = "ASTRO_RUNTIME_URL"
CONFIG_NAME = "config.json"


class Login(BaseModel):
    """The stored state. `token` is None for an environment token's login (the URL and choices only)."""

    url: str
    token: str | None = Field(default=None, repr=False)
    organization_id: str = ""
    subject: str = ""
    kind: str = ""  # the token's astro_kind: user (browser login) or api_token
    name: str = ""
    expires_at: dt.datetime | None = None
    workspace_id: str | None = None
    deployment_id: str | None = None


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "astro-runtime"


def config_file() -> Path:
    return config_dir() / CONFIG_NAME


def token_claims(token: str) -> dict[str, object]:
    """The claims of a JWT, NOT verified: only to learn the organization and expiry to show and
    check locally; the control plane verifies every request."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        raise NotLoggedIn(f"{TOKEN_ENV} does not hold a control-plane token (not a JWT)") from None
    if not isinstance(claims, dict):
        raise NotLoggedIn(f"{TOKEN_ENV} does not hold a control-plane token (no claims)")
    return claims


def login_from_token(url: str, token: str) -> Login:
    claims = token_claims(token)
    exp = claims.get("exp")
    return Login(
        url=url.rstrip("/"),
        token=token,
        organization_id=str(claims.get("astro_org") or ""),
        subject=str(claims.get("sub") or ""),
        kind=str(claims.get("astro_kind") or ""),
        name=str(claims.get("name") or claims.get("sub") or ""),
        expires_at=dt.datetime.fromtimestamp(exp, dt.UTC) if isinstance(exp, int | float) else None,
    )


def load() -> Login | None:
    """The stored login, or None. A file others can read is refused (fail closed), not used."""
    path = config_file()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CloudError(f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}")
    try:
        return Login.model_validate_json(path.read_bytes())
    except ValidationError:
        raise CloudError(
            f"{path} is not a valid astro-runtime login; run astro-runtime login again"
        ) from None


def save(login: Login) -> Path:
    """Write atomically, created 0600 from the start (never world-readable, even for an instant)."""
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / CONFIG_NAME
    partial = directory / f".{CONFIG_NAME}.{os.getpid()}.tmp"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(login.model_dump_json(indent=2))
    partial.replace(path)
    return path


def remove() -> bool:
    try:
        config_file().unlink()
    except FileNotFoundError:
        return False
    return True


def current(now: dt.datetime | None = None) -> Login:
    """The login every command uses: ASTRO_RUNTIME_API_TOKEN (with ASTRO_RUNTIME_URL or the stored URL)
    before a stored browser login. Raises NotLoggedIn with the fix."""
    stored = load()
    env_token = os.environ.get(TOKEN_ENV, "").strip()
    if env_token:
        url = os.environ.get(URL_ENV, "").strip() or (stored.url if stored else "")
        if not url:
            raise NotLoggedIn(
                f"{TOKEN_ENV} is set but no control plane: set {URL_ENV} or run astro-runtime login URL"
            )
        login = login_from_token(url, env_token)
        if stored is not None and stored.url == login.url and stored.organization_id == login.organization_id:
            login.workspace_id, login.deployment_id = stored.workspace_id, stored.deployment_id
    elif stored is None or stored.token is None:
        raise NotLoggedIn(f"not logged in: run astro-runtime login URL (or set {TOKEN_ENV})")
    else:
        login = stored
    moment = now or dt.datetime.now(dt.UTC)
    if login.expires_at is not None and login.expires_at <= moment:
        source = TOKEN_ENV if env_token else f"the login to {login.url}"
        raise NotLoggedIn(
            f"{source} expired at {login.expires_at:%Y-%m-%d %H:%M} UTC: run astro-runtime login {login.url}"
        )
    return login
