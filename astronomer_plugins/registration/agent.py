"""The registration thread: register, heartbeat every interval, deregister on a clean stop.

Rules (issue 5): registration never blocks start-up, never crashes or slows its component, never
loses its state.

- The thread is a daemon and does all network work; the component only starts it and, on a clean
  stop, waits at most `DEREGISTER_BUDGET` seconds for the DELETE.
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
from astronomer_plugins.errors import (
    AstronomerConfigError,
    ControlPlaneAuthError,
    ControlPlaneResponseError,
    ControlPlaneUnavailable,
)
from astronomer_plugins.registration import identity, payload

if TYPE_CHECKING:
    import datetime as dt

    from astronomer_plugins.control_plane.client import ControlPlaneClient
    from astronomer_plugins.control_plane.models import ComponentRegistration
    from astronomer_plugins.registration.payload import StatusProbe
    from astronomer_plugins.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

DEREGISTER_BUDGET = 2.0  # seconds a clean stop may spend on the DELETE, whatever the control plane does
BACKOFF_BASE = 1.0
INTERVAL_JITTER = 0.1  # each wait is the interval +/- 10 %, so a fleet restarted together spreads out
SLOW_RETRY_INTERVALS = 10  # after 401/403 or a configuration error: retry every 10 intervals ...
SLOW_RETRY_MAX = 600.0  # ... but at least every 10 minutes
KIND_WAIT = 5.0  # how long to wait for the job runner to set Job.job_type

ClientFactory = Callable[[float, float], "ControlPlaneClient"]


def default_client_factory(url: str) -> ClientFactory:
    """Clients for `url` with the agent token read now, in the REGISTRATION profile (one attempt
    per call: the agent retries with its own backoff)."""

    def make(connect_timeout: float, read_timeout: float) -> ControlPlaneClient:
        from astronomer_plugins.control_plane.client import REGISTRATION, client_for

        return client_for(REGISTRATION, url=url, connect_timeout=connect_timeout, read_timeout=read_timeout)

    return make


class RegistrationAgent:
    """One component's enrolment, run by a daemon thread. `start()` returns at once."""

    def __init__(
        self,
        settings: RegistrationSettings,
        *,
        resolve_kind: Callable[[], str | None],
        fallback_kind: Callable[[], str | None] | None = None,
        status_probe: Callable[[str], StatusProbe],
        client_factory: ClientFactory | None = None,
        claim: Callable[[str, str], identity.InstanceClaim] | None = None,
        started_at: dt.datetime | None = None,
    ) -> None:
        self.settings = settings
        self._resolve_kind = resolve_kind
        self._fallback_kind = fallback_kind or (lambda: None)
        self._status_probe = status_probe
        self._client_factory = client_factory or default_client_factory(settings.control_plane_url)
        self._claim_function = claim or identity.process_claim
        self._started_at = started_at
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: ControlPlaneClient | None = None
        self._claim: identity.InstanceClaim | None = None
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
        return self._claim.instance_id if self._claim else None

    @property
    def registered(self) -> bool:
        return self._registered

    def start(self) -> None:
        from astronomer_plugins.control_plane.preload import preload

        preload()  # the thread must never import: forked children would inherit a held import lock
        self._thread = threading.Thread(target=self._run, name="astronomer-registration", daemon=True)
        self._thread.start()

    # -- the thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if not self._prepare():
                return
            while not self._stopping.is_set():
                delay = self._step()
                if delay > 0:
                    self._stopping.wait(delay)
        except Exception:  # noqa: BLE001 - the thread must never take the component down
            log.exception(
                "Control-plane registration stopped after an unexpected error; the component keeps running"
            )
        finally:
            self._close_client()
            if self._stopping.is_set() and self._claim is not None:
                self._claim.release()  # stop() may have returned before this thread finished

    def _prepare(self) -> bool:
        """Find the kind (the job runner sets it just after on_starting), claim the instance id."""
        deadline = time.monotonic() + KIND_WAIT
        kind = self._resolve_kind()
        while kind is None and time.monotonic() < deadline and not self._stopping.wait(0.05):
            kind = self._resolve_kind()
        if kind is None and not self._stopping.is_set():
            kind = self._fallback_kind()
        if kind is None:
            log.debug("Not a component that registers (kind unknown); no control-plane registration")
            return False
        if self._stopping.is_set():
            return False
        self.kind = kind
        self._claim = self._claim_function(self.settings.deployment_id, kind)
        self._probe = self._status_probe(kind)
        log.info(
            "Registering %s as %s with the control plane %s (deployment %s, heartbeat every %ss)",
            kind, self._claim.instance_id, self.settings.control_plane_url, self.settings.deployment_id,
            self.settings.heartbeat_interval,
        )  # fmt: skip
        return not self._stopping.is_set()

    def _step(self) -> float:
        """One register or heartbeat call; returns how long to wait before the next."""
        interval = self.settings.heartbeat_interval
        assert self._claim is not None and self.kind is not None
        try:
            client = self._ensure_client()
            if not self._registered:
                if self._body is None:
                    self._body = payload.build_registration(
                        self.kind, identity.hostname(), heartbeat_interval=interval,
                        started_at=self._started_at or payload.process_started_at(),
                    )  # fmt: skip
                self._put_attempted = True
                client.register(self.settings.deployment_id, self._claim.instance_id, self._body)
                self._registered = True
                self.registrations += 1
                self._problem_key = None
                log.info("Registered %s %s with the control plane", self.kind, self._claim.instance_id)
            else:
                assert self._probe is not None
                if not client.heartbeat(self.settings.deployment_id, self._claim.instance_id, self._probe()):
                    self._registered = False
                    log.info(
                        "The control plane does not know %s (any more); registering again",
                        self._claim.instance_id,
                    )
                    return 0.0
                self.heartbeats += 1
                self._succeeded(
                    "Heartbeats of %s %s reach the control plane again", self.kind, self._claim.instance_id
                )
            self._failures = 0
            return self._jittered(interval)
        except ControlPlaneAuthError as exc:
            self._close_client()
            self._problem(
                "auth", logging.ERROR,
                "The control plane refused the agent token (HTTP %s) of %s %s: set a valid token in [%s] %s "
                "(%s) or %s (%s); retrying every %.0fs. %s",
                exc.status, self.kind, self._claim.instance_id, config.SECTION, config.AGENT_TOKEN.key,
                config.AGENT_TOKEN.env_var, config.AGENT_TOKEN_FILE.key, config.AGENT_TOKEN_FILE.env_var,
                self._slow_retry(), exc,
            )  # fmt: skip
            return self._jittered(self._slow_retry())
        except AstronomerConfigError as exc:
            self._close_client()
            self._problem(
                "config", logging.ERROR, "%s %s cannot register: %s; retrying every %.0fs",
                self.kind, self._claim.instance_id, exc, self._slow_retry(),
            )  # fmt: skip
            return self._jittered(self._slow_retry())
        except ControlPlaneResponseError as exc:
            action = "the heartbeat" if self._registered else "the registration"
            self._problem(
                f"response-{exc.status}-{action}", logging.ERROR,
                "The control plane rejected %s of %s %s: %s; retrying with the next heartbeat",
                action, self.kind, self._claim.instance_id, exc,
            )  # fmt: skip
            return self._jittered(interval)
        except ControlPlaneUnavailable as exc:
            self._failures += 1
            self._problem(
                "unavailable", logging.WARNING,
                "Control plane unavailable for %s %s (%s); the component keeps running, retrying with "
                "backoff (at most every %ss)",
                self.kind, self._claim.instance_id, exc, interval,
            )  # fmt: skip
            return self._backoff()
        except Exception as exc:  # noqa: BLE001 - e.g. a registration that does not validate locally
            self._problem(
                f"unexpected-{type(exc).__name__}", logging.ERROR,
                "Control-plane registration of %s %s failed: %s: %s; retrying with the next heartbeat",
                self.kind, self._claim.instance_id, type(exc).__name__, exc,
            )  # fmt: skip
            return self._jittered(interval)

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

    def stop(self, budget: float = DEREGISTER_BUDGET) -> bool:
        """Stop the thread and deregister, never taking longer than `budget` seconds; True when the
        control plane confirmed the deregistration."""
        deadline = time.monotonic() + budget
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=min(0.25, budget / 4))  # let an in-flight call finish if it is quick
        claim = self._claim
        done = False
        if claim is not None and self._put_attempted:
            done = self._deregister(claim.instance_id, deadline)
        if claim is not None and (thread is None or not thread.is_alive()):
            claim.release()
        return done

    def _deregister(self, instance_id: str, deadline: float) -> bool:
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
        if not outcome:
            log.warning(
                "Could not deregister %s within %.0fs; the control plane marks it gone when its "
                "heartbeats stop",
                instance_id, DEREGISTER_BUDGET,
            )  # fmt: skip
            return False
        if outcome[0] is not None:
            log.warning(
                "Could not deregister %s (%s); the control plane marks it gone when its heartbeats stop",
                instance_id, outcome[0],
            )  # fmt: skip
            return False
        self._registered = False
        log.info("Deregistered %s %s from the control plane", self.kind, instance_id)
        return True
