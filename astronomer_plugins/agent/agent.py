"""The component agent: one daemon thread per long-lived component, running its periodic jobs.

Rules (issue 5): the agent never blocks start-up, never crashes or slows its component, never loses
its state. `start()` returns at once; the thread works out the component's identity (its kind and
one instance id) once, then runs each job (registration and heartbeats, the metrics flush and push)
whenever that job asked to run next. `stop()` is bounded (2 s): the thread gets a moment to
finish its current call, then each job in turn (the deregistration, a final metrics push) does its
last work before one shared deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from astronomer_plugins.agent.identity import ComponentIdentity, InstanceClaim, claim_instance_id

log = logging.getLogger(__name__)

KIND_WAIT = 5.0  # how long to wait for the job runner to set Job.job_type
KIND_POLL = 0.05
RETRY_AFTER_FAILURE = 10.0  # a job that raised runs again after this long
STOP_BUDGET = 2.0  # seconds a clean stop may take, whatever the control plane does
STOP_JOIN = 0.25  # how long stop() lets an in-flight call finish before the jobs' final work


class PeriodicJob(Protocol):
    """One duty of the agent. All methods but `stop` run on the agent's thread; none raises on purpose."""

    name: str

    def begin(self, component: ComponentIdentity) -> None:
        """The identity is known; prepare (read settings, build the first payload)."""

    def run(self) -> float:
        """Do one round of work; return the seconds until the next round."""

    def stop(self, deadline: float) -> bool:
        """Last work on a clean stop, done before `deadline` (monotonic); True when it completed.
        Runs on the stopping thread, while the agent's thread may still be inside `run`."""


Claim = Callable[[str, str], InstanceClaim]


class ComponentAgent:
    """The one background thread of a component. `start()` returns at once."""

    def __init__(
        self,
        jobs: Sequence[PeriodicJob],
        *,
        deployment_id: str,
        resolve_kind: Callable[[], str | None],
        fallback_kind: Callable[[], str | None] | None = None,
        claim: Claim | None = None,
    ) -> None:
        self.jobs = tuple(jobs)
        self.deployment_id = deployment_id
        self.component: ComponentIdentity | None = None
        self._resolve_kind = resolve_kind
        self._fallback_kind = fallback_kind or (lambda: None)
        self._claim = claim or claim_instance_id
        self._begun: list[PeriodicJob] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def job(self, name: str) -> PeriodicJob | None:
        """The job called `name`, if this agent runs one."""
        return next((job for job in self.jobs if job.name == name), None)

    def start(self) -> None:
        from astronomer_plugins.control_plane.preload import preload

        preload()  # the thread must never import: forked children would inherit a held import lock
        self._thread = threading.Thread(target=self._run, name="astronomer-agent", daemon=True)
        self._thread.start()

    # -- the thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.component = self._identify()
            if self.component is None:
                return
            due: dict[int, float] = {}
            for index, job in enumerate(self.jobs):
                try:
                    job.begin(self.component)
                except Exception:  # noqa: BLE001 - one job's failure leaves the others running
                    log.exception("The Astronomer agent's %s job could not begin", job.name)
                    continue
                self._begun.append(job)
                due[index] = time.monotonic()
            while due and not self._stopping.is_set():
                index = min(due, key=due.__getitem__)
                wait = due[index] - time.monotonic()
                if wait > 0 and self._stopping.wait(wait):
                    break
                due[index] = time.monotonic() + self._run_job(self.jobs[index])
        except Exception:  # noqa: BLE001 - the thread must never take the component down
            log.exception(
                "The Astronomer agent stopped after an unexpected error; the component keeps running"
            )
        finally:
            if self._stopping.is_set():
                self._release()  # stop() may have returned before this thread finished

    def _identify(self) -> ComponentIdentity | None:
        """The kind (the job runner sets Job.job_type just after on_starting) and the instance id."""
        deadline = time.monotonic() + KIND_WAIT
        kind = self._resolve_kind()
        while kind is None and time.monotonic() < deadline and not self._stopping.wait(KIND_POLL):
            kind = self._resolve_kind()
        if kind is None and not self._stopping.is_set():
            kind = self._fallback_kind()
        if kind is None:
            log.debug("Not a long-lived component (kind unknown); the Astronomer agent does nothing")
            return None
        if self._stopping.is_set():
            return None
        return ComponentIdentity(kind, self._claim(self.deployment_id, kind))

    def _run_job(self, job: PeriodicJob) -> float:
        """One round of `job`; how long until its next. An exception is logged, never raised."""
        try:
            return max(0.0, job.run())
        except Exception:  # noqa: BLE001
            log.exception(
                "The Astronomer agent's %s job failed; it runs again in %ss", job.name, RETRY_AFTER_FAILURE
            )
            return RETRY_AFTER_FAILURE

    # -- stopping -----------------------------------------------------------------------------------

    def stop(self, budget: float = STOP_BUDGET) -> bool:
        """Stop the thread, then let each job (in order) do its last work, all within `budget`
        seconds; True when every job completed it (the control plane confirmed the deregistration,
        took the last metrics)."""
        deadline = time.monotonic() + budget
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=min(STOP_JOIN, budget / 4))  # let an in-flight call finish if it is quick
        completed = True
        for job in list(self._begun):
            try:
                completed = job.stop(deadline) and completed
            except Exception:  # noqa: BLE001 - never raised into the component's shutdown
                log.exception("The Astronomer agent's %s job failed to stop cleanly", job.name)
                completed = False
        if thread is None or not thread.is_alive():
            self._release()
        return completed

    def _release(self) -> None:
        if self.component is not None:
            self.component.claim.release()
