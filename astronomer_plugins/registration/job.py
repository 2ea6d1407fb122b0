"""The registration job of the component agent: register, heartbeat every interval, deregister on a
clean stop.

Rules (issue 5): registration never blocks start-up, never crashes or slows its component, never
loses its state.

- The agent's thread does all network work; on a clean stop the component waits at most
  the agent's stop budget (2 s) for the DELETE.
- Control plane unreachable, timing out or answering 5xx: retry with capped exponential backoff and
  jitter; the cap is the heartbeat interval, so a returning control plane sees the component within
  one interval. One WARNING when the outage starts, one INFO when it ends.
- 401/403: one ERROR naming the settings to fix (never the token), then slow retries; the token is
  read again for each retry, so a rotated agent_token_file is picked up without a restart.
- Any other 4xx: one ERROR with the control plane's error text; the next heartbeat retries.
- A heartbeat answered "unknown instance" (the control plane lost or expired it): register again.
Repeated identical problems are logged at DEBUG, so an outage never floods the component's log.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from astronomer_plugins import config
from astronomer_plugins.agent import identity
from astronomer_plugins.errors import (
    AstronomerConfigError,
    ControlPlaneAuthError,
    ControlPlaneResponseError,
    ControlPlaneUnavailable,
)
from astronomer_plugins.registration import payload

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

    from astronomer_plugins.agent.identity import ComponentIdentity
    from astronomer_plugins.control_plane.client import ControlPlaneClient
    from astronomer_plugins.control_plane.models import ComponentRegistration
    from astronomer_plugins.registration.payload import StatusProbe
    from astronomer_plugins.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

BACKOFF_BASE = 1.0
INTERVAL_JITTER = 0.1  # each wait is the interval +/- 10 %, so a fleet restarted together spreads out
SLOW_RETRY_INTERVALS = 10  # after 401/403 or a configuration error: retry every 10 intervals ...
SLOW_RETRY_MAX = 600.0  # ... but at least every 10 minutes
ClientFactory = Callable[[float, float], "ControlPlaneClient"]


def default_client_factory(url: str) -> ClientFactory:
    """Clients for `url` with the agent token read now, in the REGISTRATION profile (one attempt
    per call: the agent retries with its own backoff)."""

    def make(connect_timeout: float, read_timeout: float) -> ControlPlaneClient:
        from astronomer_plugins.control_plane.client import REGISTRATION, client_for

        return client_for(REGISTRATION, url=url, connect_timeout=connect_timeout, read_timeout=read_timeout)

    return make


class RegistrationJob:
    """One component's enrolment with the control plane, a periodic job of the component agent."""

    name = "registration"

    def __init__(
        self,
        settings: RegistrationSettings,
        *,
        status_probe: Callable[[str], StatusProbe],
        client_factory: ClientFactory | None = None,
        started_at: dt.datetime | None = None,
        registration_fields: Mapping[str, object] | None = None,
    ) -> None:
        self.settings = settings
        self._registration_fields = dict(registration_fields or {})
        self._status_probe = status_probe
        self._client_factory = client_factory or default_client_factory(settings.control_plane_url)
        self._started_at = started_at
        self._client: ControlPlaneClient | None = None
        self._component: ComponentIdentity | None = None
        self._body: ComponentRegistration | None = None
        self._probe: StatusProbe | None = None
        self._registered = False
        self._put_attempted = False
        self._failures = 0
        self._problem_key: str | None = None
        self.kind: str | None = None
        self.registrations = 0
        self.heartbeats = 0

    @property
    def instance_id(self) -> str | None:
        return self._component.instance_id if self._component else None

    @property
    def registered(self) -> bool:
        return self._registered

    def begin(self, component: ComponentIdentity) -> None:
        self._component, self.kind = component, component.kind
        self._probe = self._status_probe(component.kind)
        log.info(
            "Registering %s as %s with the control plane %s (deployment %s, heartbeat every %ss)",
            component.kind,
            component.instance_id,
            self.settings.control_plane_url,
            self.settings.deployment_id,
            self.settings.heartbeat_interval,
        )

    def run(self) -> float:
        return self._step()

    def _step(self) -> float:
        """One register or heartbeat call; returns how long to wait before the next."""
        interval = self.settings.heartbeat_interval
        assert self._component is not None and self._probe is not None
        kind, instance = self._component.kind, self._component.instance_id
        deployment = self.settings.deployment_id
        try:
            client = self._ensure_client()
            if not self._registered:
                self._put_attempted = True
                client.register(deployment, instance, self._registration_body(kind))
                self._registered = True
                self.registrations += 1
                self._problem_key = None
                log.info("Registered %s %s with the control plane", kind, instance)
            elif client.heartbeat(deployment, instance, self._probe()):
                self.heartbeats += 1
                self._succeeded("Heartbeats of %s %s reach the control plane again", kind, instance)
            else:
                self._registered = False
                log.info("The control plane does not know %s (any more); registering again", instance)
                return 0.0
            self._failures = 0
            return self._jittered(interval)
        except ControlPlaneAuthError as exc:
            self._close_client()
            token, token_file = config.AGENT_TOKEN, config.AGENT_TOKEN_FILE
            self._problem(
                "auth",
                logging.ERROR,
                "The control plane refused the agent token (HTTP %s) of %s %s: set a valid token in "
                "[%s] %s (%s) or %s (%s); retrying every %.0fs. %s",
                *(exc.status, kind, instance, config.SECTION, token.key, token.env_var),
                *(token_file.key, token_file.env_var, self._slow_retry(), exc),
            )
            return self._jittered(self._slow_retry())
        except AstronomerConfigError as exc:
            self._close_client()
            message = "%s %s cannot register: %s; retrying every %.0fs"
            self._problem("config", logging.ERROR, message, kind, instance, exc, self._slow_retry())
            return self._jittered(self._slow_retry())
        except ControlPlaneResponseError as exc:
            action = "the heartbeat" if self._registered else "the registration"
            message = "The control plane rejected %s of %s %s: %s; retrying with the next heartbeat"
            self._problem(
                f"response-{exc.status}-{action}", logging.ERROR, message, action, kind, instance, exc
            )
            return self._jittered(interval)
        except ControlPlaneUnavailable as exc:
            self._failures += 1
            message = (
                "Control plane unavailable for %s %s (%s); the component keeps running, retrying with "
                "backoff (at most every %ss)"
            )
            self._problem("unavailable", logging.WARNING, message, kind, instance, exc, interval)
            return self._backoff()
        except Exception as exc:  # noqa: BLE001 - e.g. a registration that does not validate locally
            name = type(exc).__name__
            message = "Control-plane registration of %s %s failed: %s: %s; retrying with the next heartbeat"
            self._problem(f"unexpected-{name}", logging.ERROR, message, kind, instance, name, exc)
            return self._jittered(interval)

    def _registration_body(self, kind: str) -> ComponentRegistration:
        """The PUT body, built once and sent identically with every (re)registration."""
        if self._body is None:
            started_at = self._started_at or payload.process_started_at()
            self._body = payload.build_registration(
                kind,
                identity.hostname(),
                heartbeat_interval=self.settings.heartbeat_interval,
                started_at=started_at,
                fields=self._registration_fields,
            )
        return self._body

    def _ensure_client(self) -> ControlPlaneClient:
        if self._client is None:
            from astronomer_plugins.control_plane.client import REGISTRATION

            self._client = self._client_factory(REGISTRATION.connect_timeout, REGISTRATION.read_timeout)
        return self._client

    def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _jittered(self, seconds: float) -> float:
        return seconds * random.uniform(1 - INTERVAL_JITTER, 1 + INTERVAL_JITTER)

    def _backoff(self) -> float:
        """Capped exponential backoff with jitter: at most one interval, never zero."""
        ceiling = min(float(self.settings.heartbeat_interval), BACKOFF_BASE * 2 ** (self._failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _slow_retry(self) -> float:
        return min(SLOW_RETRY_MAX, SLOW_RETRY_INTERVALS * float(self.settings.heartbeat_interval))

    def _problem(self, key: str, level: int, message: str, *args: object) -> None:
        """Log a problem once when it starts (or changes); repeats go to DEBUG."""
        if key != self._problem_key:
            self._problem_key = key
            log.log(level, message, *args)
        else:
            log.debug(message, *args)

    def _succeeded(self, recovered_message: str, *args: object) -> None:
        if self._problem_key is not None:
            self._problem_key = None
            log.info(recovered_message, *args)

    # -- stopping -----------------------------------------------------------------------------------

    def stop(self, deadline: float) -> bool:
        """Deregister before `deadline` (monotonic), whatever the control plane does; True when it
        confirmed. Runs on the stopping thread, while the agent's thread may still be in a call."""
        if self._component is None or not self._put_attempted:
            return False
        return self._deregister(self._component.instance_id, deadline)

    def _deregister(self, instance_id: str, deadline: float) -> bool:
        started = time.monotonic()
        outcome: list[BaseException | None] = []

        def call() -> None:
            client = None
            try:
                remaining = max(0.1, deadline - time.monotonic())
                client = self._client_factory(min(1.0, remaining), remaining)
                client.deregister(self.settings.deployment_id, instance_id)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - reported below, never raised into the component
                outcome.append(exc)
            finally:
                if client is not None:
                    client.close()

        # A helper thread bounds the wait even where socket timeouts do not apply (e.g. DNS).
        helper = threading.Thread(target=call, name="astronomer-deregistration", daemon=True)
        helper.start()
        helper.join(timeout=max(0.0, deadline - time.monotonic()))
        gone_later = "the control plane marks it gone when its heartbeats stop"
        if not outcome:
            budget = time.monotonic() - started
            log.warning("Could not deregister %s within %.0fs; %s", instance_id, budget, gone_later)
            return False
        if outcome[0] is not None:
            log.warning("Could not deregister %s (%s); %s", instance_id, outcome[0], gone_later)
            return False
        self._registered = False
        log.info("Deregistered %s %s from the control plane", self.kind, instance_id)
        return True
