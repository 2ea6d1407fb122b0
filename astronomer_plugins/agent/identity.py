"""Which component this process is, and its stable instance id: the one identity of the process.

Airflow's lifecycle listener fires in Job-based components (scheduler, dag-processor, triggerer)
*and* in every task runner (with a `TaskRunnerMarker`), so the component is classified before
anything else happens, cheaply: no Airflow module is imported to do it.

Instance id: `<kind>-<hostname>-<slot>`. It survives a restart of the same container or pod,
because the hostname does (in Kubernetes the hostname is the pod name), and is new after the pod is
re-created (new pod name). The slot tells apart several components of one kind on one host (two
schedulers on a VM, the workers of a multi-worker api-server): each live process holds an exclusive
lock on its slot's file, so a restarted process gets back the lowest free slot, usually its old one.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import socket
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from astronomer_plugins.control_plane.kinds import ComponentKind

log = logging.getLogger(__name__)

# The kinds are the wire enum's values (plain strings, so ids and logs read "scheduler").
SCHEDULER = ComponentKind.SCHEDULER.value
DAG_PROCESSOR = ComponentKind.DAG_PROCESSOR.value
TRIGGERER = ComponentKind.TRIGGERER.value
API_SERVER = ComponentKind.API_SERVER.value
WORKER = ComponentKind.WORKER.value
# Job.job_type is set by the job runner right after the Job (and its on_starting call) is created.
KIND_BY_JOB_TYPE = {"SchedulerJob": SCHEDULER, "DagProcessorJob": DAG_PROCESSOR, "TriggererJob": TRIGGERER}
LONG_LIVED_JOB_KINDS = frozenset(KIND_BY_JOB_TYPE.values())
# `airflow <command>`: what the command line says when the Job does not (yet) tell.
KIND_BY_COMMAND = {kind: kind for kind in (SCHEDULER, DAG_PROCESSOR, TRIGGERER, API_SERVER)}
TASK_RUNNER_MARKER = "TaskRunnerMarker"  # airflow.sdk.execution_time.task_runner.TaskRunnerMarker
JOB_CLASS_NAME = "Job"  # airflow.jobs.job.Job
MAX_SLOTS = 64
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
_MAX_HOST_PART = 100  # instance ids are at most 128 characters (the control plane's pattern)


def as_job(component: object) -> object | None:
    """`component` if it is an Airflow Job, else None; never imports Airflow's job module to tell."""
    module = sys.modules.get("airflow.jobs.job")
    job_class = getattr(module, "Job", None)
    return component if job_class is not None and isinstance(component, job_class) else None


def kind_of_job(job: object) -> str | None:
    """The component kind from Job.job_type, read without touching SQLAlchemy's attribute loading."""
    return KIND_BY_JOB_TYPE.get(str(vars(job).get("job_type") or ""))


def kind_from_argv(argv: Sequence[str]) -> str | None:
    """The kind named by `airflow <command>` (also `python -m airflow <command>`), if any."""
    for arg in argv[1:]:
        if not arg.startswith("-"):
            return KIND_BY_COMMAND.get(arg)
    return None


def is_celery_worker(argv: Sequence[str]) -> bool:
    """`airflow celery worker ...`: the main process of a Celery worker (its pool's children keep
    the argv but never see Celery's worker_ready)."""
    commands = [arg for arg in argv[1:] if not arg.startswith("-")][:2]
    return commands == ["celery", "worker"]


def job_kind_from_argv(argv: Sequence[str]) -> str | None:
    """The long-lived kind a Job of this command line is (a Job inside an api-server is not one)."""
    kind = kind_from_argv(argv)
    return kind if kind in LONG_LIVED_JOB_KINDS else None


def kind_of(component: object) -> str | None:
    """The one classification of what Airflow's on_starting/before_stopping hooks were given, now:
    `worker` for a task runner, the long-lived kind of a Job (its job_type, else the command line,
    since on_starting runs before the job runner sets job_type), None for anything else."""
    if type(component).__name__ == TASK_RUNNER_MARKER:
        return WORKER
    if type(component).__name__ != JOB_CLASS_NAME:
        return None
    return kind_of_job(component) or job_kind_from_argv(sys.argv)


def hostname() -> str:
    return socket.gethostname() or "localhost"


def instance_id(kind: str, host: str, slot: int) -> str:
    """`<kind>-<host>-<slot>` within the control plane's pattern ([A-Za-z0-9._:-], at most 128)."""
    safe_host = _HOST_UNSAFE.sub("-", host).strip(".-")[:_MAX_HOST_PART] or "host"
    return f"{kind}-{safe_host}-{slot}"


@dataclass(frozen=True)
class ComponentIdentity:
    """What this component is to the control plane: its kind and its one instance id, worked out
    once by the component agent and shared by every job (registration, heartbeats, metric batches)."""

    kind: str
    claim: InstanceClaim

    @property
    def instance_id(self) -> str:
        return self.claim.instance_id


@dataclass
class InstanceClaim:
    """A claimed instance id; the slot's lock is held until `release()` or the process ends."""

    instance_id: str
    slot: int
    fd: int | None = None
    key: str = ""
    released: bool = False

    def release(self) -> None:
        self.released = True
        with _claims_lock:
            _claimed_here.discard(self.key)
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing drops the POSIX lock


# POSIX locks do not conflict within one process, so this process's own claims are tracked too.
_claims_lock = threading.Lock()
_claimed_here: set[str] = set()


def _reset_in_child() -> None:
    """A forked child (LocalExecutor worker, task runner) is not its parent's component: the slot
    locks are not inherited, so neither is the record of them."""
    global _claims_lock, _claimed_here
    _claims_lock, _claimed_here = threading.Lock(), set()


os.register_at_fork(after_in_child=_reset_in_child)


def lock_directory() -> str:
    """Host-wide (per user) directory of slot lock files."""
    return os.path.join(tempfile.gettempdir(), f"astronomer-registration-{os.getuid()}")


def claim_instance_id(
    deployment_id: str, kind: str, host: str | None = None, directory: str | None = None
) -> InstanceClaim:
    """The lowest slot no live process holds for (deployment, kind) on this host.

    Locks are `lockf` (POSIX record) locks: released by the kernel when the process dies, even by
    SIGKILL, and not inherited by forked children (LocalExecutor workers, task runners).
    """
    import fcntl

    host = host or hostname()
    directory = directory or lock_directory()
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        log.debug("Cannot create %s (%s); using slot 0 without a lock", directory, exc)
        return InstanceClaim(instance_id(kind, host, 0), 0)
    scope = hashlib.sha256(deployment_id.encode()).hexdigest()[:16]
    for slot in range(MAX_SLOTS):
        candidate = instance_id(kind, host, slot)
        path = os.path.join(directory, f"{scope}-{kind}-{slot}.lock")
        with _claims_lock:
            if path in _claimed_here:
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                log.debug("Cannot open %s (%s); using slot %s without a lock", path, exc, slot)
                _claimed_here.add(path)
                return InstanceClaim(candidate, slot, key=path)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    continue
                log.debug("Cannot lock %s (%s); using slot %s without a lock", path, exc, slot)
                _claimed_here.add(path)
                return InstanceClaim(candidate, slot, key=path)
            _claimed_here.add(path)
            return InstanceClaim(candidate, slot, fd, key=path)
    log.warning(
        "All %s registration slots of %s on %s are taken; using a per-process id", MAX_SLOTS, kind, host
    )
    return InstanceClaim(f"{kind}-pid{os.getpid()}", MAX_SLOTS)
