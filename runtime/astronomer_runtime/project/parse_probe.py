"""The child process of `astro-runtime project parse`: imports each DAG file as Airflow's dag-processor
does and records what the file touches at import time.

Standalone on purpose (standard library and Airflow only): it runs with the project's interpreter,
which has Airflow but not necessarily this package, and is started as a file, not as a module.
Before the first DAG file is imported it instruments the process:

- `Variable.get` (airflow.sdk and airflow.models): an `AIRFLOW_VAR_<KEY>` in the environment is used
  as the secrets backend would; otherwise the default when one is given; otherwise a placeholder
  string, so parsing continues. Each access is recorded with how it was resolved.
- `Connection.get` (airflow.sdk; `BaseHook.get_connection` goes through it) and
  `Connection.get_connection_from_secrets` (airflow.models): `AIRFLOW_CONN_<ID>` when set, otherwise
  a placeholder connection of type `generic`. Recorded likewise.
- environment variables read by the project's own code (`os.environ[...]`, `.get`, `os.getenv`,
  `in`); reads by Airflow or libraries are not the project's business and are not recorded.
- network: `socket.getaddrinfo` and `socket.connect` to an internet address are refused (never
  performed) with `NetworkAccessRefused` and recorded.

Protocol: one JSON object per line on the descriptor given by `--report-fd`:
    {"event": "files", "files": [...]}      every file Airflow would parse, in order
    {"event": "start", "file": ...}         before one is imported
    {"event": "file", "file": ..., ...}     its result (with `--structure`: "dags", each DAG's shape)
    {"event": "fatal", "error": ...}        Airflow itself could not be set up
"""

from __future__ import annotations

import _collections_abc
import argparse
import importlib.machinery
import inspect
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLACEHOLDER = "<astro-runtime parse: Variable {key!r} is not set at parse time>"


class NetworkAccessRefused(ConnectionRefusedError):
    """A DAG file tried to reach the network while it was being parsed."""


class Touches:
    """What the file being imported touches; `path` is None between files."""

    def __init__(self, project: str) -> None:
        self.project_prefix = os.path.join(project, "")
        self.path: str | None = None
        self.error: dict[str, Any] | None = None
        self.seen: dict[str, list[dict[str, Any]]] = {}

    def begin(self, path: str) -> None:
        self.path, self.error = path, None
        self.seen = {"variables": [], "connections": [], "environment": [], "network": []}

    def end(self) -> dict[str, list[dict[str, Any]]]:
        self.path = None
        return self.seen

    def record(self, kind: str, entry: dict[str, Any]) -> None:
        if self.path is not None and entry not in self.seen[kind]:
            self.seen[kind].append(entry)

    def relative(self, filename: str) -> str:
        return filename[len(self.project_prefix) :] if filename.startswith(self.project_prefix) else filename


def _emit(stream: Any, **event: Any) -> None:
    stream.write(json.dumps(event, default=str) + "\n")
    stream.flush()


# ---- instrumentation -------------------------------------------------------------------------


def _patch_variables(touches: Touches) -> None:
    from airflow.models.variable import Variable as ModelVariable
    from airflow.sdk.definitions.variable import Variable as SdkVariable

    for cls, default_name in ((SdkVariable, "default"), (ModelVariable, "default_var")):
        signature = inspect.signature(cls.get)

        def get(
            cls: type, *args: Any, _sig: Any = signature, _default: str = default_name, **kwargs: Any
        ) -> Any:
            bound = _sig.bind(*args, **kwargs)
            key = str(bound.arguments["key"])
            raw = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
            if raw is not None:
                touches.record("variables", {"name": key, "resolved": "environment"})
                return json.loads(raw) if bound.arguments.get("deserialize_json") else raw
            if _default in bound.arguments:
                touches.record("variables", {"name": key, "resolved": "default"})
                return bound.arguments[_default]
            touches.record("variables", {"name": key, "resolved": "placeholder"})
            return PLACEHOLDER.format(key=key)

        cls.get = classmethod(get)  # type: ignore[method-assign,assignment]


def _connection_from_env(cls: Any, conn_id: str) -> Any:
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw is None:
        return None
    if raw.lstrip().startswith("{"):
        return cls.from_json(raw, conn_id=conn_id)
    if hasattr(cls, "from_uri"):
        return cls.from_uri(raw, conn_id=conn_id)
    return cls(conn_id=conn_id, uri=raw)


def _patch_connections(touches: Touches) -> None:
    from airflow.models.connection import Connection as ModelConnection
    from airflow.sdk.definitions.connection import Connection as SdkConnection

    for cls, method in ((SdkConnection, "get"), (ModelConnection, "get_connection_from_secrets")):

        def lookup(cls: type, conn_id: str, *args: Any, **kwargs: Any) -> Any:
            found = _connection_from_env(cls, conn_id)
            touches.record(
                "connections",
                {"name": conn_id, "resolved": "placeholder" if found is None else "environment"},
            )
            return found if found is not None else cls(conn_id=conn_id, conn_type="generic")

        setattr(cls, method, classmethod(lookup))


def _patch_environ(touches: Touches) -> None:
    """Record reads of `os.environ` whose caller is the project's code (the class of the existing
    object is swapped, so `from os import environ` done earlier is covered too)."""
    skipped = {os.__file__, _collections_abc.__file__, "<frozen os>", "<frozen _collections_abc>"}

    class RecordingEnviron(type(os.environ)):  # type: ignore[misc]
        def __getitem__(self, key: str) -> str:
            try:
                value: str = super().__getitem__(key)
            except KeyError:
                self._record(key, False)
                raise
            self._record(key, True)
            return value

        def _record(self, key: str, present: bool) -> None:
            if touches.path is None:
                return
            frame = sys._getframe(2)
            while frame is not None and frame.f_code.co_filename in skipped:
                frame = frame.f_back  # type: ignore[assignment]
            if frame is not None and frame.f_code.co_filename.startswith(touches.project_prefix):
                touches.record("environment", {"name": key, "set": present})

    os.environ.__class__ = RecordingEnviron


def _patch_network(touches: Touches) -> None:
    def refuse(call: str, target: str) -> None:
        touches.record("network", {"target": target, "call": call})
        raise NetworkAccessRefused(
            f"astro-runtime project parse refuses network access while a DAG file is imported "
            f"({call} {target}); move the call into a task"
        )

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        refuse("getaddrinfo", f"{host}:{port}")

    original_connect: Callable[..., Any] = socket.socket.connect
    original_connect_ex: Callable[..., Any] = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse("connect", f"{address[0]}:{address[1]}")
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse("connect", f"{address[0]}:{address[1]}")
        return original_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]


def _capture_import_errors(touches: Touches) -> None:
    """Keep the exception that stops the import of the current DAG file: DagBag only keeps its text,
    cut to a few frames, and the line in the DAG file is what the report needs."""
    loader = importlib.machinery.SourceFileLoader
    original = loader.exec_module

    def exec_module(self: Any, module: Any) -> None:
        try:
            original(self, module)
        except BaseException as exc:
            if (
                touches.path is not None
                and os.path.abspath(self.path) == touches.path
                and touches.error is None
            ):
                touches.error = _describe(exc, touches)
            raise

    loader.exec_module = exec_module  # type: ignore[method-assign]


def _describe(exc: BaseException, touches: Touches) -> dict[str, Any]:
    """The exception, the line of the DAG file it came through, and where in the project it started."""
    frames = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(frames) if f.filename == touches.path), None)
    in_project = [f for f in frames if f.filename.startswith(touches.project_prefix)]
    origin = f"{touches.relative(in_project[-1].filename)}:{in_project[-1].lineno}" if in_project else None
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError) and exc.filename:
        filename = os.path.abspath(exc.filename)
        origin = f"{touches.relative(filename)}:{exc.lineno}"
        message = f"{type(exc).__name__}: {exc.msg}"
        if filename == touches.path:
            line = exc.lineno
    return {
        "message": message,
        "line": line,
        "origin": origin,
        "timeout": type(exc).__name__ == "AirflowTaskTimeout",
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


# ---- parsing ---------------------------------------------------------------------------------


def _dag_bag(dags: str) -> Any:
    try:
        from airflow.dag_processing.dagbag import BundleDagBag
    except ImportError:  # Airflow before 3.3 has no BundleDagBag
        from airflow.models.dagbag import DagBag

        return DagBag(dag_folder=dags, include_examples=False, collect_dags=False, load_op_links=False)
    return BundleDagBag(
        dag_folder=dags,
        bundle_path=Path(dags),
        bundle_name="dags-folder",
        collect_dags=False,
        load_op_links=False,
    )


def _list_files(dags: str, safe_mode: bool) -> list[str]:
    try:
        from airflow.dag_processing.importers import get_importer_registry
    except ImportError:  # Airflow before 3.3
        from airflow.utils.file import list_py_file_paths

        return [str(path) for path in list_py_file_paths(dags, safe_mode=safe_mode)]
    return [str(path) for path in get_importer_registry().list_dag_files(dags, safe_mode=safe_mode)]


def _serialize(dag: Any) -> dict[str, Any]:
    """What the dag-processor does next: a DAG that does not serialize is an import error."""
    try:
        from airflow.serialization.serialized_objects import DagSerialization as serializer
    except ImportError:
        from airflow.serialization.serialized_objects import SerializedDAG as serializer  # type: ignore[assignment]
    return dict(serializer.to_dict(dag))


def _structure(dag: Any, serialized: dict[str, Any]) -> dict[str, Any]:
    """The DAG's shape for `upgrade-test`: the schedule and the operator classes as serialized (the
    same names on every Airflow line, where the live classes moved, e.g. timetables into airflow.sdk),
    and each task's upstream task ids."""
    data = serialized.get("dag", serialized)
    operators = {}
    for entry in data.get("tasks", []):
        task = entry.get("__var", entry)
        operators[task.get("task_id")] = f"{task.get('_task_module')}.{task.get('task_type')}"
    tasks = {
        task.task_id: {"operator": operators.get(task.task_id), "upstream": sorted(task.upstream_task_ids)}
        for task in dag.tasks
    }
    return {"schedule": data.get("timetable"), "tasks": tasks}


def _parse_one(
    bag: Any, path: str, safe_mode: bool, timeout: float, touches: Touches, structure: bool = False
) -> dict[str, Any]:
    from airflow.utils.file import might_contain_dag

    relative = touches.relative(path)
    if path.endswith(".py") and not might_contain_dag(path, safe_mode):
        return {"file": relative, "status": "skipped", "timeout_seconds": timeout}
    touches.begin(path)
    started = time.perf_counter()
    found = bag.process_file(path, only_if_updated=False, safe_mode=safe_mode)
    errors: list[dict[str, Any]] = []
    shapes: dict[str, Any] = {}
    for dag in found:
        try:
            serialized = _serialize(dag)
        except Exception as exc:
            errors.append({"message": f"DAG {dag.dag_id!r} does not serialize: {type(exc).__name__}: {exc}"})
        else:
            if structure:
                shapes[dag.dag_id] = _structure(dag, serialized)
    seconds = time.perf_counter() - started
    seen = touches.end()
    for text in bag.import_errors.values():
        if touches.error is not None:
            errors.insert(0, touches.error)
            touches.error = None
        else:  # a DAG-level problem (duplicate dag_id, cycle, policy) or a zip member
            errors.append({"message": str(text).strip().splitlines()[-1], "traceback": str(text)})
    bag.import_errors.clear()
    timed_out = any(error.get("timeout") for error in errors)
    result = {
        "file": relative,
        "status": "timeout" if timed_out else "error" if errors else "ok",
        "seconds": round(seconds, 3),
        "timeout_seconds": timeout,
        "dag_ids": sorted(dag.dag_id for dag in found),
        "errors": errors,
        "touches": seen,
    }
    if structure:
        result["dags"] = shapes
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--dags", required=True)
    parser.add_argument("--report-fd", type=int, required=True)
    parser.add_argument("--structure", action="store_true", help="add each DAG's shape (upgrade-test)")
    args = parser.parse_args(argv)
    report = os.fdopen(args.report_fd, "w", encoding="utf-8")
    project, dags = os.path.abspath(args.project), os.path.abspath(args.dags)
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "client"  # as the dag-processor's parsing child
    try:
        from airflow.configuration import conf

        safe_mode = conf.getboolean("core", "dag_discovery_safe_mode")
        bag = _dag_bag(dags)
        files = _list_files(dags, safe_mode)
        touches = Touches(project)
        _patch_variables(touches)
        _patch_connections(touches)
        _patch_environ(touches)
        _patch_network(touches)
        _capture_import_errors(touches)
    except Exception:
        _emit(report, event="fatal", error=traceback.format_exc())
        return 1
    _emit(report, event="files", files=[touches.relative(path) for path in files])
    from airflow import settings

    for path in files:
        timeout = float(settings.get_dagbag_import_timeout(path))
        _emit(report, event="start", file=touches.relative(path), timeout_seconds=timeout)
        _emit(report, event="file", **_parse_one(bag, path, safe_mode, timeout, touches, args.structure))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
