"""The logged-in caller: the plugin's control-plane client with the CLI's profile, and the
translation of its errors into one clear line each (not logged in, expired, 403, refused archive)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from astronomer_plugins.control_plane.client import ClientProfile, ControlPlaneClient, RetryPolicy
from astronomer_plugins.errors import (
    ControlPlaneAuthError,
    ControlPlaneResponseError,
    ControlPlaneUnavailable,
)
from astronomer_runtime.cloud.credentials import TOKEN_ENV, Login
from astronomer_runtime.cloud.errors import ArchiveRefused, CloudError, NotAllowed, NotLoggedIn

# A person waits at the terminal: short connects, a long read for an upload, a few retries for reads.
CLI = ClientProfile(
    "cli",
    connect_timeout=5.0,
    read_timeout=120.0,
    retry=RetryPolicy(attempts=3, base_delay=0.5, max_delay=4.0),
)
T = TypeVar("T")
CA_BUNDLE_ENV = "ASTRO_RUNTIME_CA_BUNDLE"


def new_client(url: str, token: str | None, *, read_timeout: float | None = None) -> ControlPlaneClient:
    """The plugin's client with the CLI profile. Not `client_for`: that one reads the CA bundle from
    Airflow's [astronomer] config, and importing Airflow's configuration costs seconds for a command
    that runs outside any Airflow; the CA bundle comes from ASTRO_RUNTIME_CA_BUNDLE instead
    (verification always on; requests also honours REQUESTS_CA_BUNDLE)."""
    return ControlPlaneClient(
        url,
        token,
        connect_timeout=CLI.connect_timeout,
        read_timeout=CLI.read_timeout if read_timeout is None else read_timeout,
        ca_bundle=os.environ.get(CA_BUNDLE_ENV) or None,
        retry=CLI.retry,
    )


def detail(body: str) -> str:
    """The message of the control plane's {"error": {...}} or FastAPI's {"detail": ...}, or the
    body's first line."""
    try:
        value = json.loads(body)
    except ValueError:
        return body.strip().splitlines()[0][:300] if body.strip() else ""
    if isinstance(value, dict) and isinstance(value.get("error"), dict):  # the control plane's errors
        error = value["error"]
        field = f" (field {error['field']})" if error.get("field") else ""
        return f"{error.get('message', '')}{field}"
    found = value.get("detail", value) if isinstance(value, dict) else value
    if isinstance(found, list):  # FastAPI validation errors
        return "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in found
        )
    return str(found)


class Session:
    def __init__(self, login: Login, client: ControlPlaneClient | None = None) -> None:
        if login.token is None:
            raise NotLoggedIn(f"not logged in: run astro-runtime login {login.url} (or set {TOKEN_ENV})")
        self.login = login
        self.client = client or new_client(login.url, login.token)

    @property
    def org_path(self) -> str:
        return f"/v1/organizations/{self.login.organization_id}"

    @contextmanager
    def _translated(self, action: str, management: bool) -> Iterator[None]:
        try:
            yield
        except ControlPlaneAuthError as exc:
            body = detail(str(exc).split(": ", 2)[-1])
            if exc.status == 401 and management and self.login.kind == "user":
                raise NotAllowed(
                    f"{action}: this control plane's management API takes an ORGANIZATION_OWNER API token, "
                    f"not a browser login: set {TOKEN_ENV} (a browser login lists workspaces and "
                    "deployments, deploys, lists deploys and rolls back)"
                ) from None
            if exc.status == 401:
                raise NotLoggedIn(
                    f"the control plane rejected the login (expired or revoked): run astro-runtime login "
                    f"{self.login.url}"
                ) from None
            raise NotAllowed(f"{action}: not allowed for this login ({body})") from None
        except ControlPlaneResponseError as exc:
            body = detail(getattr(exc, "body", ""))
            if action.startswith("deploy") and exc.status in (400, 413):
                raise ArchiveRefused(f"the control plane refused the deploy: {body}") from None
            raise CloudError(f"{action}: HTTP {exc.status}: {body}") from None
        except ControlPlaneUnavailable as exc:
            raise CloudError(f"{action}: control plane unavailable: {exc}") from None

    def call(
        self,
        action: str,
        method: str,
        path: str,
        *,
        expected: tuple[int, ...] = (200,),
        management: bool = False,
        **kwargs: Any,
    ) -> Any:
        """JSON of one call; `action` names it in errors ("deploy", "list workspaces", ...);
        `management`: an organization management call (workspaces, deployments, clusters)."""
        with self._translated(action, management):
            response = self.client.request(
                method, path, idempotent=method == "GET", expected=expected, **kwargs
            )
        try:
            return response.json()
        except ValueError:
            raise CloudError(f"{action}: the control plane's answer is not JSON") from None

    def parsed(self, action: str, parse: Callable[[Any], T], method: str, path: str, **kwargs: Any) -> T:
        value = self.call(action, method, path, **kwargs)
        try:
            return parse(value)
        except (ValueError, TypeError) as exc:
            raise CloudError(f"{action}: unexpected answer from the control plane: {exc}") from None
