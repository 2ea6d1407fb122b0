"""Everything the auth manager needs at run time, built from settings on first use, plus the
background thread that keeps the signing keys and the revocation list fresh.

The thread does all network and disk work of token verification, in two independent steps (one
failing never skips the other):

- keys: the control plane's discovery document is read once, before the first refresh, for the
  JWKS, token, authorization and logout endpoints (see discovery.py; until it is read and checked,
  no keys and no login: fail closed); then the keys are refreshed when the TTL is due, or at once
  when a token with an unknown `kid` asks for it (rate-limited by `auth_jwks_min_refresh_seconds`,
  see keys.py);
- revocations: polled every `auth_revocation_poll_seconds` with the agent token read again for
  every poll (agent_token / agent_token_file), so a rotated agent token is picked up without a
  restart. Past `auth_revocation_max_staleness_seconds` without a successful poll, control-plane
  tokens and the Airflow sessions made from them are refused (HTTP 503) with one ERROR a minute
  naming what to fix.

At start-up the api-server waits at most STARTUP_WAIT seconds for the first round; until a first
poll succeeds, control-plane tokens are refused (fail closed), Airflow's own paths keep working.
A step that fails in any way (even an exception nobody expected) is logged and recorded, and the
thread goes on: it never dies while the api-server runs.

Every client comes from the one factory, `client_for`, with the AUTH profile's timeouts and retries.
The api-server's lifespan shutdown ends the thread (`astronomer_plugins.auth.stop`).

Fork-safe: with `[api] server_type = gunicorn` the app (and `init()`, which starts the thread) is
built in the master before it forks its workers; a forked child has no thread, so its state is reset
(`os.register_at_fork`) and the first request of each worker starts the thread again (`ensure_running`).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from astronomer_plugins import auth, config
from astronomer_plugins.auth.discovery import Endpoints, endpoints_from
from astronomer_plugins.auth.keys import JwksCache
from astronomer_plugins.auth.revocations import RevocationList, revocation_leeway
from astronomer_plugins.auth.verifier import ControlPlaneTokenVerifier, VerifierSettings
from astronomer_plugins.control_plane.client import AUTH, ControlPlaneClient, client_for
from astronomer_plugins.errors import (
    AstronomerConfigError,
    ControlPlaneAuthError,
    ControlPlaneError,
    ControlPlaneResponseError,
    ControlPlaneUnavailable,
    VerificationUnavailable,
)

log = logging.getLogger(__name__)

STARTUP_WAIT = 5.0  # seconds the api-server's start waits for the first keys + revocations round
REPORT_INTERVAL = 60.0  # at most one ERROR per this many seconds while tokens cannot be checked
MIN_STALENESS_POLLS = 2  # auth_revocation_max_staleness_seconds must cover at least 2 poll intervals
KEYS_FAILED = "Could not refresh the control plane's signing keys"
STOP_WAIT = 2.0  # seconds stop() waits for the thread to end its current step
# Shares of auth_login_timeout_seconds for the code exchange's connect and read timeouts: its
# thread ends before the login's deadline.
LOGIN_CONNECT_SHARE, LOGIN_READ_SHARE = 0.3, 0.6


def login_client(base_url: str, login_timeout: float) -> ControlPlaneClient:
    """The client of the login's code exchange: the AUTH profile with connect + read timeouts that add
    up to less than the login's deadline, so an exchange thread abandoned at the deadline ends soon
    after it instead of holding a worker thread (one attempt: the exchange is not idempotent)."""
    return client_for(
        AUTH,
        url=base_url,
        token=None,
        connect_timeout=min(AUTH.connect_timeout, LOGIN_CONNECT_SHARE * login_timeout),
        read_timeout=LOGIN_READ_SHARE * login_timeout,
    )


def revocation_max_staleness(poll_seconds: float) -> int:
    """The configured bound (within the option's declared range), checked against the poll interval:
    one clear error when out of range."""
    option = config.AUTH_REVOCATION_MAX_STALENESS_SECONDS
    value = config.get_int(option)  # at most option.maximum, or get_int's own error
    low = int(MIN_STALENESS_POLLS * poll_seconds)
    if value < low:
        raise AstronomerConfigError(
            f"[{config.SECTION}] {option.key} = {value}: must be between {low} ({MIN_STALENESS_POLLS} x "
            f"{config.AUTH_REVOCATION_POLL_SECONDS.key}) and {option.maximum:g} ({option.env_var})"
        )
    return value


class AuthContext:
    def __init__(
        self,
        client: ControlPlaneClient,
        verifier: ControlPlaneTokenVerifier,
        *,
        revocation_poll_seconds: float,
        wake: threading.Event | None = None,
    ) -> None:
        self.client = client  # public documents: never the agent token
        self.verifier = verifier
        self.revocation_poll_seconds = revocation_poll_seconds
        self.endpoints: Endpoints | None = None  # from the discovery document, once read and checked
        self._wake = wake or threading.Event()
        self._stop = threading.Event()
        self._first_round = threading.Event()
        self._thread: threading.Thread | None = None
        self._agent_client: ControlPlaneClient | None = None
        self._agent_token: str | None = None
        self._problems: dict[str, str] = {}  # step -> what to fix, while that step fails
        self._problem_kinds: dict[str, type[Exception]] = {}
        self._reported_at = -REPORT_INTERVAL
        self._report_lock = threading.Lock()
        self._started = False  # start() ran in this process or in the parent it was forked from
        self._pid = os.getpid()
        self._start_lock = threading.Lock()
        self._login_client: ControlPlaneClient | None = None
        self._login_timeout = 10.0

    @property
    def login_client(self) -> ControlPlaneClient:
        """The code exchange's own client (see `login_client`), made on first use in each process."""
        if self._login_client is None:
            self._login_client = login_client(self.client.base_url, self._login_timeout)
        return self._login_client

    def require_endpoints(self) -> Endpoints:
        """The discovered endpoints, or ControlPlaneUnavailable while the discovery document has not
        been read (fail closed: no login against endpoints nobody checked)."""
        if (endpoints := self.endpoints) is None:
            raise ControlPlaneUnavailable(
                f"the discovery document of the control plane at {self.client.base_url} has not been read yet"
            )
        return endpoints

    def exchange_code(self, **form: str) -> str:
        """The login's code exchange at the discovered token endpoint, with this process's login client."""
        return self.login_client.exchange_code(path=self.require_endpoints().token_path, **form)

    def discover(self) -> Endpoints:
        """The endpoints, read and checked the first time (background thread only: network)."""
        if self.endpoints is None:
            self.endpoints = endpoints_from(self.client.discovery(), self.verifier.settings.issuer)
        return self.endpoints

    def fetch_keys(self) -> dict[str, Any]:
        """The JWKS document at the discovered URI (background thread only: network)."""
        return self.client.jwks(self.discover().jwks_path)

    @classmethod
    def from_config(cls) -> AuthContext:
        """Read [astronomer]; a missing setting is one clear error naming it (the api-server stops)."""
        issuer = config.require(config.CONTROL_PLANE_URL).rstrip("/")
        client = client_for(AUTH, url=issuer, token=None)
        wake = threading.Event()
        # The keys are fetched with the context's client of this process (see fork).
        made: list[AuthContext] = []
        keys = JwksCache(
            lambda: made[0].fetch_keys(),
            ttl=config.get_int(config.AUTH_JWKS_TTL_SECONDS),
            grace=config.get_int(config.AUTH_JWKS_GRACE_SECONDS),
            min_refresh_interval=config.get_int(config.AUTH_JWKS_MIN_REFRESH_SECONDS),
            wake=wake.set,
        )
        settings = VerifierSettings(
            issuer=issuer,
            deployment_id=config.require(config.DEPLOYMENT_ID),
            organization_id=config.get(config.ORGANIZATION_ID),
            workspace_id=config.get(config.WORKSPACE_ID),
            leeway=config.get_int(config.AUTH_LEEWAY_SECONDS),
        )
        poll_seconds = float(config.get_int(config.AUTH_REVOCATION_POLL_SECONDS))
        from airflow.configuration import conf

        revocations = RevocationList(
            leeway=revocation_leeway(settings.leeway, conf.getint("api_auth", "jwt_leeway", fallback=10)),
            max_staleness=revocation_max_staleness(poll_seconds),
        )
        verifier = ControlPlaneTokenVerifier(settings, keys, revocations)
        context = cls(client, verifier, revocation_poll_seconds=poll_seconds, wake=wake)
        context._login_timeout = float(config.get_int(config.AUTH_LOGIN_TIMEOUT_SECONDS))
        made.append(context)
        return context

    # The two steps of a round, each on its own: a failure is recorded and logged, never raised.
    def refresh_keys(self) -> bool:
        try:
            self.verifier.keys.refresh()
        except ControlPlaneResponseError as exc:
            if self.endpoints is None:  # the discovery document was refused: a setting to fix, not an outage
                option = config.CONTROL_PLANE_URL
                fix = (
                    f"{exc}; the control plane must name [{config.SECTION}] {option.key} ({option.env_var}) "
                    "exactly as its issuer, with its endpoints under it"
                )
                what = "Refusing the control plane's discovery document"
                return self._failed("keys", exc, logging.ERROR, what, fix=fix)
            return self._failed("keys", exc, logging.WARNING, KEYS_FAILED)
        except ControlPlaneError as exc:
            return self._failed("keys", exc, logging.WARNING, KEYS_FAILED)
        return self._recovered("keys")

    def poll_revocations(self) -> bool:
        try:
            self.verifier.revocations.poll(self._revocation_client(), self.verifier.settings.deployment_id)
        except AstronomerConfigError as exc:
            return self._failed("revocations", exc, logging.ERROR, "Cannot poll revoked tokens", fix=str(exc))
        except ControlPlaneAuthError as exc:
            file, value = config.AGENT_TOKEN_FILE, config.AGENT_TOKEN
            fix = (
                f"the control plane refuses the agent token (HTTP {exc.status}); put the deployment's "
                f"current agent token in [{config.SECTION}] {file.key} or {value.key} "
                f"({file.env_var} / {value.env_var}); it is read again at every poll"
            )
            return self._failed("revocations", exc, logging.ERROR, "Cannot poll revoked tokens", fix=fix)
        except ControlPlaneError as exc:
            return self._failed(
                "revocations", exc, logging.WARNING, "Cannot poll revoked tokens, keeping the list"
            )
        return self._recovered("revocations")

    def sync_once(self) -> None:
        """One round: keys when due, then revocations; failures are logged, never raised."""
        if self.verifier.keys.due():
            self._step("keys", self.refresh_keys)
        self._step("revocations", self.poll_revocations)

    def _step(self, step: str, run: Callable[[], bool]) -> None:
        """Run one step; an exception nobody expected (a bug, a library error) is logged without the
        agent token, recorded as that step's problem, and the thread goes on."""
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - the sync thread must outlive any one failure
            text = f"{type(exc).__name__}: {exc}"
            if self._agent_token:
                text = text.replace(self._agent_token, "[token]")
            level = logging.ERROR if step == "revocations" else logging.WARNING
            fix = f"unexpected error from the control plane at {self.client.base_url} ({text})"
            self._failed(step, exc, level, f"Unexpected failure in the auth sync ({step})", fix=fix)

    def _revocation_client(self) -> ControlPlaneClient:
        """A client with the agent token as it is now (read from settings or its file at every poll)."""
        token = config.agent_token()
        if self._agent_client is None or token != self._agent_token:
            if self._agent_client is not None:
                self._agent_client.close()
            self._agent_client = client_for(AUTH, url=self.client.base_url, token=token)
            self._agent_token = token
        return self._agent_client

    def _failed(self, step: str, exc: Exception, level: int, what: str, *, fix: str | None = None) -> bool:
        """Record what to fix; log at `level` when the problem is new or changed, else at DEBUG."""
        fix = fix or f"make the control plane at {self.client.base_url} reachable ({exc})"
        changed = self._problem_kinds.get(step) is not type(exc)
        self._problem_kinds[step], self._problems[step] = type(exc), fix
        log.log(level if changed else logging.DEBUG, "%s: %s", what, fix)
        if step == "revocations":
            try:
                self.verifier.revocations.check_fresh()
            except VerificationUnavailable as reason:
                self.report_unavailable(reason)
        return False

    def _recovered(self, step: str) -> bool:
        self._problem_kinds.pop(step, None)
        if self._problems.pop(step, None) is not None:
            log.info("The control plane answers again (%s)", step)
            self._reported_at = -REPORT_INTERVAL  # the next outage is reported at once
        return True

    def report_unavailable(self, reason: VerificationUnavailable) -> None:
        """One ERROR a minute at most, naming what to fix, while tokens cannot be checked."""
        now = time.monotonic()
        with self._report_lock:
            if now - self._reported_at < REPORT_INTERVAL:
                return
            self._reported_at = now
        fixes = "; ".join(f"{step}: {fix}" for step, fix in self._problems.items()) or (
            f"waiting for the first answer of the control plane at {self.client.base_url}"
        )
        log.error(
            "Refusing control-plane tokens and the Airflow sessions made from them (HTTP 503): %s. "
            "To fix: %s",
            reason,
            fixes,
        )

    # The background thread
    def start(self) -> None:
        """Start the background thread once (daemon: never holds up shutdown) and give its first
        round up to STARTUP_WAIT seconds, so a healthy start serves control-plane tokens at once."""
        if not self._launch():
            return
        if not self._first_round.wait(STARTUP_WAIT):
            log.warning(
                "The control plane at %s has not answered within %.0fs of start-up; control-plane tokens "
                "are refused (HTTP 503) until it does",
                self.client.base_url,
                STARTUP_WAIT,
            )

    def ensure_running(self) -> None:
        """In a worker forked after start() (gunicorn's preload), start this process's own thread
        without waiting for its first round (called on the request path: one attribute check when
        the thread runs)."""
        if self._thread is None and self._started:
            self._launch()

    def _launch(self) -> bool:
        """Start the thread unless one runs in this process; False when one already does."""
        with self._start_lock:
            if self._thread is not None:
                return False
            from astronomer_plugins.control_plane.preload import preload

            preload()  # the thread must never import (see preload)
            if not self._started:
                _forget_in_forked_children(self)
            self._started, self._pid = True, os.getpid()
            self._thread = threading.Thread(target=self._loop, name="astronomer-auth-sync", daemon=True)
            self._thread.start()
            auth.running.add(self)  # so the lifespan shutdown (auth.stop) finds it
            return True

    def _after_fork_in_child(self) -> None:
        """A forked child has none of the parent's threads: forget the thread, its first round and
        the clients whose pooled connections the parent owns; locks a parent thread held are new."""
        self._thread = None
        self._stop, self._first_round = threading.Event(), threading.Event()
        self._start_lock, self._report_lock = threading.Lock(), threading.Lock()
        self._agent_client, self._agent_token, self._login_client = None, None, None
        self.client = client_for(AUTH, url=self.client.base_url, token=None)
        self.verifier.keys._lock = threading.Lock()  # held only for a few assignments, but maybe at the fork
        self.verifier.revocations.after_fork()
        self._pid = os.getpid()

    def _loop(self) -> None:
        next_poll = 0.0
        while not self._stop.is_set():
            if self.verifier.keys.due():
                self._step("keys", self.refresh_keys)
            if time.monotonic() >= next_poll:
                self._step("revocations", self.poll_revocations)
                next_poll = time.monotonic() + self.revocation_poll_seconds * random.uniform(0.8, 1.0)
            self._first_round.set()
            self._wake.wait(max(0.0, next_poll - time.monotonic()))
            self._wake.clear()

    def stop(self, wait: float = STOP_WAIT) -> bool:
        """End this process's thread after its current step (the api-server's lifespan shutdown, through
        `astronomer_plugins.auth.stop`); True when it ended within `wait` seconds. The thread's clients
        are closed once it has; no later request starts it again."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)
            if thread.is_alive():
                return False
        for client in (self.client, self._agent_client):  # the thread's own: no login holds them
            if client is not None:
                client.close()
        return True


def _forget_in_forked_children(context: AuthContext) -> None:
    """Reset `context` in every child forked from now on (held weakly: a dropped context is skipped)."""
    ref = weakref.ref(context)

    def reset() -> None:
        if (alive := ref()) is not None:
            alive._after_fork_in_child()

    os.register_at_fork(after_in_child=reset)
