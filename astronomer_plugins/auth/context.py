"""Everything the auth manager needs at run time, built from settings on first use, plus the
background loop that keeps the signing keys and the revocation list fresh."""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field

from astronomer_plugins import config
from astronomer_plugins.auth.keys import JwksCache
from astronomer_plugins.auth.revocations import RevocationList
from astronomer_plugins.auth.verifier import ControlPlaneTokenVerifier, VerifierSettings
from astronomer_plugins.control_plane.client import ControlPlaneClient, RetryPolicy
from astronomer_plugins.errors import ControlPlaneAuthError, ControlPlaneError

log = logging.getLogger(__name__)


@dataclass
class AuthContext:
    client: ControlPlaneClient
    verifier: ControlPlaneTokenVerifier
    revocation_poll_seconds: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @classmethod
    def from_config(cls) -> AuthContext:
        """Read [astronomer]; a missing setting is one clear error naming it (the api-server stops)."""
        issuer = config.require(config.CONTROL_PLANE_URL).rstrip("/")
        client = ControlPlaneClient(
            issuer, config.agent_token(), ca_bundle=config.get(config.CA_BUNDLE) or None,
            connect_timeout=2.0, read_timeout=5.0, retry=RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0),
        )  # fmt: skip
        keys = JwksCache(
            client.jwks,
            ttl=config.get_int(config.AUTH_JWKS_TTL_SECONDS),
            grace=config.get_int(config.AUTH_JWKS_GRACE_SECONDS),
            min_refresh_interval=config.get_int(config.AUTH_JWKS_MIN_REFRESH_SECONDS),
        )
        settings = VerifierSettings(
            issuer=issuer,
            deployment_id=config.require(config.DEPLOYMENT_ID),
            organization_id=config.get(config.ORGANIZATION_ID),
            workspace_id=config.get(config.WORKSPACE_ID),
            leeway=config.get_int(config.AUTH_LEEWAY_SECONDS),
        )
        verifier = ControlPlaneTokenVerifier(settings, keys, RevocationList())
        return cls(client, verifier, float(config.get_int(config.AUTH_REVOCATION_POLL_SECONDS)))

    def sync_once(self) -> None:
        """Refresh keys when due and poll revocations; failures are logged, never raised."""
        keys, revocations = self.verifier.keys, self.verifier.revocations
        try:
            if keys.due():
                keys.refresh()
            revocations.poll(self.client, self.verifier.settings.deployment_id)
        except ControlPlaneAuthError as exc:
            log.error(
                "The control plane refused the agent token (HTTP %s); set a valid one in [astronomer] "
                "agent_token or agent_token_file (AIRFLOW__ASTRONOMER__AGENT_TOKEN / _FILE)", exc.status
            )
        except ControlPlaneError as exc:
            log.warning("Control plane unreachable, using cached keys and revocations: %s", exc)

    def start(self) -> None:
        """Start the background loop once (daemon: never holds up shutdown)."""
        if self._thread is not None:
            return
        self.sync_once()
        self._thread = threading.Thread(target=self._loop, name="astronomer-auth-sync", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.revocation_poll_seconds * random.uniform(0.8, 1.0)):
            self.sync_once()

    def stop(self) -> None:
        self._stop.set()
