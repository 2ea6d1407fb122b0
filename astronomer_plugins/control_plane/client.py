"""The plugin's one control-plane client.

Every call has connect and read timeouts; idempotent calls retry on connection errors, timeouts,
429 and 5xx with capped exponential backoff and full jitter; each status is mapped to one of the
exceptions in astronomer_plugins.errors. TLS verification stays on (a custom CA bundle may be given).
The token is sent only in the Authorization header and is scrubbed from any text we raise or log.
"""

from __future__ import annotations

import gzip
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError

from astronomer_plugins.control_plane.models import (
    BundleRef,
    BundleServed,
    ComponentRegistration,
    ComponentStatus,
    Deploy,
    DeploymentProfile,
    Heartbeat,
    MetricBatch,
    MetricBatchAccepted,
    RevokedTokenPage,
)
from astronomer_plugins.errors import (
    ControlPlaneAuthError,
    ControlPlaneResponseError,
    ControlPlaneUnavailable,
)

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)
BODY_EXCERPT = 500
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class ClientProfile:
    """The timeouts and retry policy of one kind of caller: each caller names its profile instead of
    inventing numbers, so a caller's patience is read in one place."""

    name: str
    connect_timeout: float
    read_timeout: float
    retry: RetryPolicy


# The component agent's registration and heartbeats: one attempt per call, the agent does its own
# backoff with jitter (capped at the heartbeat interval).
REGISTRATION = ClientProfile(
    "registration", connect_timeout=3.05, read_timeout=5.0, retry=RetryPolicy(attempts=1)
)
# The component agent's metrics push: a failed push keeps its batch for the next one anyway.
METRICS = ClientProfile(
    "metrics",
    connect_timeout=3.05,
    read_timeout=5.0,
    retry=RetryPolicy(attempts=2, base_delay=0.5, max_delay=2.0),
)
# The api-server's Runtime page sync (profile, components, feed) in its background thread.
UI_SYNC = ClientProfile("ui-sync", connect_timeout=3.0, read_timeout=5.0, retry=RetryPolicy(attempts=2))
# The auth manager's discovery, background JWKS refresh and revocation polls, and (with timeouts
# cut to fit the login's deadline) its code exchange: auth/context.py builds all of them here.
AUTH = ClientProfile(
    "auth",
    connect_timeout=2.0,
    read_timeout=5.0,
    retry=RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0),
)

# The control-plane DAG bundle (astronomer_plugins/bundles/): its refresh runs in the dag-processor's
# loop, so an unreachable control plane must cost seconds, not minutes; a download's read timeout
# applies to each chunk, not to the whole body.
BUNDLE = ClientProfile(
    "bundle",
    connect_timeout=3.05,
    read_timeout=10.0,
    retry=RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0),
)


def client_for(
    profile: ClientProfile,
    *,
    url: str | None = None,
    token: str | None | bool = True,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
) -> ControlPlaneClient:
    """The one client factory: a client for the configured control plane (or `url`) with `profile`'s
    timeouts and retries; `token=True` reads the agent token now (so a rotated token file is picked
    up by the next client), `None` sends none, a string is used as is. Timeouts may be shortened for
    one call (a bounded deregistration)."""
    from astronomer_plugins import config

    return ControlPlaneClient(
        url or config.require(config.CONTROL_PLANE_URL),
        config.agent_token() if token is True else (token or None),
        connect_timeout=profile.connect_timeout if connect_timeout is None else connect_timeout,
        read_timeout=profile.read_timeout if read_timeout is None else read_timeout,
        ca_bundle=config.get(config.CA_BUNDLE) or None,
        retry=profile.retry,
    )


class ControlPlaneClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        ca_bundle: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = (connect_timeout, read_timeout)
        self._verify: str | bool = ca_bundle or True
        self._retry = retry
        self._session = session or requests.Session()
        self._sleep = sleep

    @classmethod
    def from_config(cls, **kwargs: Any) -> ControlPlaneClient:
        """A client for the configured control plane, authenticated with the agent token."""
        from astronomer_plugins import config

        url = config.require(config.CONTROL_PLANE_URL)
        return cls(url, config.agent_token(), ca_bundle=config.get(config.CA_BUNDLE) or None, **kwargs)

    def close(self) -> None:
        self._session.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text

    def _describe(self, method: str, path: str) -> str:
        return f"{method} {self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        expected: tuple[int, ...] = (200,),
        json_body: BaseModel | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        authenticated: bool = True,
        stream: bool = False,
    ) -> requests.Response:
        """One call with retries (idempotent only); returns a response whose status is `expected`.
        With `stream`, the body is left unread: the caller reads it and closes the response."""
        send_headers = dict(headers or {})
        if authenticated and self._token:
            send_headers["Authorization"] = f"Bearer {self._token}"
        if json_body is not None:
            data = json_body.model_dump_json().encode()
            send_headers.setdefault("Content-Type", "application/json")
        attempts = self._retry.attempts if idempotent else 1
        what = self._describe(method, path)
        url = self.base_url + path
        for attempt in range(attempts):
            last_try = attempt == attempts - 1
            try:
                response = self._session.request(
                    method,
                    url,
                    data=data,
                    headers=send_headers,
                    params=params,
                    timeout=self._timeout,
                    verify=self._verify,
                    allow_redirects=False,
                    stream=stream,
                )
            except requests.exceptions.SSLError as exc:
                reason = self._scrub(str(exc))
                raise ControlPlaneUnavailable(f"{what}: TLS verification failed: {reason}") from None
            # Also a truncated or undecodable answer (ChunkedEncodingError...).
            except requests.RequestException as exc:
                if last_try:
                    reason = f"{type(exc).__name__}: {self._scrub(str(exc))}"
                    raise ControlPlaneUnavailable(
                        f"{what}: no answer after {attempts} attempt(s): {reason}"
                    ) from None
                self._sleep(self._retry.delay(attempt))
                continue
            code = response.status_code
            if code in expected:
                return response
            body = self._scrub(response.text[:BODY_EXCERPT])
            if code in RETRYABLE_STATUS:
                if last_try:
                    raise ControlPlaneUnavailable(f"{what}: HTTP {code} after {attempts} attempt(s): {body}")
                self._sleep(self._retry.delay(attempt))
                continue
            if code in (401, 403):
                raise ControlPlaneAuthError(f"{what}: HTTP {code}: {body}", status=code)
            raise ControlPlaneResponseError(f"{what}: unexpected HTTP {code}: {body}", status=code, body=body)
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse(self, response: requests.Response, model: type[Model]) -> Model:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            what = f"{response.request.method} {response.url}"
            raise ControlPlaneResponseError(
                f"{what}: the answer does not match {model.__name__}: {exc}",
                status=response.status_code,
                body=self._scrub(response.text[:BODY_EXCERPT]),
            ) from None

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            value = response.json()
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ControlPlaneResponseError(
                f"{response.request.method} {response.url}: expected a JSON object",
                status=response.status_code,
                body=self._scrub(response.text[:BODY_EXCERPT]),
            )
        return value

    # Identity (public documents, no token). The JWKS and token paths come from the discovery
    # document (see astronomer_plugins.auth.discovery), not from here.
    def discovery(self) -> dict[str, Any]:
        """The OIDC discovery document (its one well-known path)."""
        path = "/.well-known/openid-configuration"
        return self._json(self.request("GET", path, idempotent=True, authenticated=False))

    def jwks(self, path: str) -> dict[str, Any]:
        return self._json(self.request("GET", path, idempotent=True, authenticated=False))

    def runtime_releases(self) -> dict[str, Any]:
        return self._json(self.request("GET", "/v1/runtime-releases", idempotent=True, authenticated=False))

    def exchange_code(
        self, *, path: str, code: str, redirect_uri: str, client_id: str, code_verifier: str
    ) -> str:
        """Authorization code + PKCE verifier -> the user's access token at the token endpoint `path`
        (single attempt: codes are single use)."""
        from urllib.parse import urlencode

        fields = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": code_verifier,
        }
        form = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        response = self.request(
            "POST", path, idempotent=False, authenticated=False, data=form, headers=headers
        )
        token = self._json(response).get("access_token")
        if not isinstance(token, str):
            raise ControlPlaneResponseError(
                f"POST {path}: no access_token in the answer", status=200, body=""
            )
        return token

    # Agent calls (deployment agent token)
    def register(self, deployment_id: str, instance_id: str, registration: ComponentRegistration) -> None:
        path = f"/v1/deployments/{deployment_id}/components/{instance_id}"
        self.request("PUT", path, idempotent=True, expected=(200, 201), json_body=registration)

    def heartbeat(self, deployment_id: str, instance_id: str, heartbeat: Heartbeat) -> bool:
        """False when the control plane no longer knows the instance (register again)."""
        path = f"/v1/deployments/{deployment_id}/components/{instance_id}/heartbeat"
        response = self.request("POST", path, idempotent=True, expected=(204, 404), json_body=heartbeat)
        return response.status_code == 204

    def deregister(self, deployment_id: str, instance_id: str) -> None:
        path = f"/v1/deployments/{deployment_id}/components/{instance_id}"
        self.request("DELETE", path, idempotent=True, expected=(204,))

    def components(self, deployment_id: str) -> list[ComponentStatus]:
        response = self.request("GET", f"/v1/deployments/{deployment_id}/components", idempotent=True)
        try:
            return [ComponentStatus.model_validate(item) for item in response.json()]
        except (ValueError, ValidationError, TypeError) as exc:
            body = response.text[:BODY_EXCERPT]
            raise ControlPlaneResponseError(
                f"GET components: unexpected answer: {exc}", status=response.status_code, body=body
            ) from None

    def deployment_profile(self, deployment_id: str) -> DeploymentProfile:
        response = self.request("GET", f"/v1/deployments/{deployment_id}", idempotent=True)
        return self._parse(response, DeploymentProfile)

    def push_metrics(self, deployment_id: str, batch: MetricBatch) -> MetricBatchAccepted:
        """Gzip'd; safe to retry because the control plane counts a batch_id once."""
        body = gzip.compress(batch.model_dump_json().encode())
        path = f"/v1/deployments/{deployment_id}/metrics"
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        response = self.request("POST", path, idempotent=True, expected=(202,), data=body, headers=headers)
        return self._parse(response, MetricBatchAccepted)

    def revoked_tokens(self, deployment_id: str, since: str = "") -> RevokedTokenPage:
        response = self.request(
            "GET", f"/v1/deployments/{deployment_id}/revoked-tokens", idempotent=True, params={"since": since}
        )
        return self._parse(response, RevokedTokenPage)

    # DAG deploys (deployment agent token)
    def current_bundle(self, deployment_id: str) -> BundleRef | None:
        """The bundle of the deployment's current DAG deploy; None when it has none yet (404)."""
        path = f"/v1/deployments/{deployment_id}/bundle"
        response = self.request("GET", path, idempotent=True, expected=(200, 404))
        if response.status_code == 404:
            return None
        return self._parse(response, BundleRef)

    def open_bundle(self, deployment_id: str, version: str) -> requests.Response:
        """The streaming answer of one bundle version (application/gzip, X-Bundle-SHA256); the caller
        reads `iter_content` and closes it. 404 (never deployed here) is a ControlPlaneResponseError."""
        path = f"/v1/deployments/{deployment_id}/bundles/{version}"
        return self.request("GET", path, idempotent=True, stream=True)

    def bundle_served(self, deployment_id: str, version: str) -> None:
        """Tell the control plane this deployment's dag-processor serves bundle `version` (idempotent)."""
        body = BundleServed(version=version)
        self.request(
            "PUT",
            f"/v1/deployments/{deployment_id}/bundle/served",
            idempotent=True,
            json_body=body,
            expected=(204,),
        )

    def deploys(self, deployment_id: str) -> list[Deploy]:
        """The deployment's recent deploys, newest first (for the Runtime page)."""
        response = self.request("GET", f"/v1/deployments/{deployment_id}/deploys", idempotent=True)
        try:
            return [Deploy.model_validate(item) for item in response.json()]
        except (ValueError, ValidationError, TypeError) as exc:
            body = self._scrub(response.text[:BODY_EXCERPT])
            raise ControlPlaneResponseError(
                f"GET deploys: unexpected answer: {exc}", status=response.status_code, body=body
            ) from None
