"""The project's `.env` and the order in which the local runtime's environment is layered.

`astro dev` hands a project's `.env` to every container; the local runtime hands it to every
component, with this precedence (lowest first):

1. the local runtime's defaults (LocalExecutor, parallelism, the SQLite database in AIRFLOW_HOME, ...);
2. the project's `.env`;
3. the shell that runs `astro-runtime dev` (what a developer types wins over the project's file);
4. the wiring the local runtime owns (AIRFLOW_HOME, the project's `dags/` and `plugins/`, the
   api-server's address, the execution API URL and, with the control plane, its settings): it
   replaces a value set in `.env` or the shell, and says so, naming the variable (never its value).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from astronomer_runtime.errors import RuntimeToolError

DOTENV_FILE = ".env"


class ProjectEnvError(RuntimeToolError, ValueError):
    """The project's `.env` cannot be read; the message names the file, the line and the fix."""


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of `path` (`export KEY=...`, shell-style quotes and `#` comments allowed); an
    empty dict when there is no file. A line that is not an assignment is an error naming its number."""
    from dotenv.parser import parse_stream

    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectEnvError(f"{path}: cannot be read ({exc}); it must be a UTF-8 text file") from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise ProjectEnvError(
                f"{path}, line {line}: not a KEY=value assignment; fix the line or comment it out with #"
            )
        if binding.key is None:
            continue  # a blank line or a comment
        if binding.value is None:
            raise ProjectEnvError(
                f"{path}, line {line}: {binding.key} has no '='; write {binding.key}= for an empty value"
            )
        values[binding.key] = binding.value
    return values


def layered(
    defaults: Mapping[str, str], dotenv: Mapping[str, str], shell: Mapping[str, str]
) -> dict[str, str]:
    """Defaults, then `.env`, then the shell: each later layer wins (the owned wiring comes after)."""
    return {**defaults, **dotenv, **shell}


def replaced(owned: Mapping[str, str], sources: Mapping[str, str]) -> list[str]:
    """The variables that `sources` (the project's `.env` and the shell) set to something else than
    the wiring the local runtime owns: the runtime's value is used and these names are reported."""
    return sorted(name for name, value in owned.items() if name in sources and sources[name] != value)


def replaced_note(names: list[str]) -> str | None:
    """The one line that names what the runtime's wiring replaced (names only, never values)."""
    if not names:
        return None
    return (
        f"note: {', '.join(names)} from {DOTENV_FILE} or the shell replaced by the local runtime's own "
        "settings (ports and folders come from the command's options)"
    )
