"""The one registration agent of a process: started once, stopped within 2 s, forgotten by forks.

Components fork (the scheduler's LocalExecutor workers, task runners, DAG-file processors); a
forked child inherits this module's state but not the agent's thread, so the state is reset in the
child (`os.register_at_fork`) and every stop checks the pid: a child never deregisters its parent.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from astronomer_plugins.registration import identity, payload
from astronomer_plugins.registration.agent import DEREGISTER_BUDGET, RegistrationAgent
from astronomer_plugins.registration.settings import Off, load

if TYPE_CHECKING:
    from astronomer_plugins.registration.payload import StatusProbe

log = logging.getLogger(__name__)

_lock = threading.Lock()
_agent: RegistrationAgent | None = None
_owner: object | None = None  # the Job (or "api-server") the agent belongs to
_owner_pid: int | None = None
_hooks_installed = False


def _reset_in_child() -> None:
    global _agent, _owner, _owner_pid
    _agent, _owner, _owner_pid = None, None, None


def _install_process_hooks() -> None:
    global _hooks_installed
    if not _hooks_installed:
        os.register_at_fork(after_in_child=_reset_in_child)
        atexit.register(stop)  # a stop that skipped before_stopping/lifespan still deregisters (bounded)
        _hooks_installed = True


def current() -> RegistrationAgent | None:
    """The agent of this process, if one runs."""
    return _agent if _owner_pid == os.getpid() else None


def _start(
    owner: object, resolve_kind: Callable[[], str | None], status_probe: Callable[[str], StatusProbe],
    *, fallback_kind: Callable[[], str | None] | None = None,
) -> RegistrationAgent | None:  # fmt: skip
    global _agent, _owner, _owner_pid
    with _lock:
        if _owner_pid == os.getpid() and _agent is not None:
            log.debug("Control-plane registration already runs in this process")
            return None
        decided = load()
        if isinstance(decided, Off):
            log.log(decided.level, "%s", decided.message)
            return None
        agent = RegistrationAgent(
            decided, resolve_kind=resolve_kind, status_probe=status_probe, fallback_kind=fallback_kind
        )
        _install_process_hooks()
        agent.start()
        _agent, _owner, _owner_pid = agent, owner, os.getpid()
        return agent


def start_for_job(job: object) -> RegistrationAgent | None:
    """A Job-based component is starting (scheduler, dag-processor, triggerer): register it.

    on_starting fires inside Job.__init__, before the job runner sets Job.job_type; the agent's
    thread waits briefly for it and falls back to the `airflow <command>` of the command line.
    """

    return _start(
        job, lambda: identity.kind_of_job(job), lambda kind: payload.job_status_probe(job, kind),
        fallback_kind=lambda: identity.job_kind_from_argv(sys.argv),
    )  # fmt: skip


def start_for_api_server() -> RegistrationAgent | None:
    """The api-server's ASGI lifespan started: register it (each worker process separately)."""
    return _start(identity.API_SERVER, lambda: identity.API_SERVER, lambda _kind: payload.api_server_status)


def stop(owner: object | None = None, budget: float = DEREGISTER_BUDGET) -> bool:
    """Stop this process's agent (only if it belongs to `owner`, when given) and deregister within
    `budget` seconds. Safe to call from forks, twice, or when nothing runs."""
    global _agent, _owner, _owner_pid
    with _lock:
        if _agent is None or _owner_pid != os.getpid() or (owner is not None and owner is not _owner):
            return False
        agent = _agent
        _agent, _owner = None, None
    return agent.stop(budget)
