"""airflow_settings.yaml read and validated: Astro's format, Astro's field names.

    airflow:
      connections: [{conn_id, conn_type, conn_host, conn_schema, conn_login, conn_password,
                     conn_port, conn_extra (a mapping or a JSON object string), conn_description}]
      variables:   [{variable_name, variable_value, variable_description}]
      pools:       [{pool_name, pool_slot, pool_description}]

An empty or commented-only file, a missing section and an entry whose every field is empty (the
placeholders `astro dev init` writes) are fine. Every problem is reported in one line naming the
file, the entry (`connections[2] (conn_id=my_db)`), the field and the fix; the value given is never
shown, so a password, an extra or a variable's value cannot leak into a log.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from astronomer_plugins.errors import ProjectSettingsError


def _scalar_as_text(value: object) -> object:
    """YAML reads `conn_login: 1234` or `variable_value: 5` as numbers; Astro takes them as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _extra_as_mapping(value: object) -> object:
    """conn_extra as a mapping, or as a JSON object in a string (Astro accepts both)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            # exc.msg and the position only: the text itself may hold a secret.
            raise ValueError(
                f"a string that is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                "write a mapping under conn_extra, or a JSON object in quotes"
            ) from None
    if not isinstance(value, dict):
        raise ValueError("must be a mapping (key: value lines) or a JSON object string")
    return value or None


Text = Annotated[str, BeforeValidator(_scalar_as_text), Field(min_length=1)]
OptionalText = Annotated[str | None, BeforeValidator(_scalar_as_text)]
Secret = Annotated[SecretStr, BeforeValidator(_scalar_as_text)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectionEntry(_Entry):
    conn_id: Text
    conn_type: Text
    conn_host: OptionalText = None
    conn_schema: OptionalText = None
    conn_login: OptionalText = None
    conn_password: Secret | None = None
    conn_port: Annotated[int | None, Field(ge=1, le=65535)] = None
    conn_extra: Annotated[dict[str, Any] | None, BeforeValidator(_extra_as_mapping)] = None
    conn_description: OptionalText = None

    def extra_json(self) -> str | None:
        return json.dumps(self.conn_extra) if self.conn_extra else None


class VariableEntry(_Entry):
    variable_name: Text
    variable_value: Secret
    variable_description: OptionalText = None


class PoolEntry(_Entry):
    pool_name: Text
    pool_slot: Annotated[int, Field(ge=-1)]  # -1: unlimited, as Airflow's pools allow
    pool_description: OptionalText = None


class ProjectSettings(BaseModel):
    """What the file asks for, in the file's order."""

    model_config = ConfigDict(frozen=True)

    connections: tuple[ConnectionEntry, ...] = ()
    variables: tuple[VariableEntry, ...] = ()
    pools: tuple[PoolEntry, ...] = ()


# section -> (entry model, the field that names an entry)
SECTIONS: dict[str, tuple[type[_Entry], str]] = {
    "connections": (ConnectionEntry, "conn_id"),
    "variables": (VariableEntry, "variable_name"),
    "pools": (PoolEntry, "pool_name"),
}


def entry_label(section: str, index: int, name: object) -> str:
    """`connections[2] (conn_id=my_db)`: where an entry is, and which one (names are not secrets)."""
    key = SECTIONS[section][1]
    named = f" ({key}={name})" if isinstance(name, str | int) and str(name) else ""
    return f"{section}[{index}]{named}"


def _problem(model: type[_Entry], error: Any) -> str:
    """One pydantic error as `field: what is wrong; the fix` (its input value never included)."""
    field = ".".join(str(part) for part in error["loc"]) or "entry"
    allowed = ", ".join(model.model_fields)
    if error["type"] == "missing":
        return f"{field}: missing; add `{field}:` to the entry"
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(error["loc"][-1]), list(model.model_fields), n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        return f"{field}: unknown field; {hint}the fields are {allowed}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if field == "conn_port":
        message += "; write a port number such as 5432"
    elif field == "pool_slot":
        message += "; write a whole number of slots (-1 for unlimited)"
    return f"{field}: {message}"


def _is_placeholder(raw: object) -> bool:
    """An entry with no value but, at most, conn_extra's example mapping (`astro dev init` writes such)."""
    if raw is None:
        return True
    values = raw.values() if isinstance(raw, dict) else [raw]
    return isinstance(raw, dict) and all(value in (None, "") or isinstance(value, dict) for value in values)


def _section(section: str, raw_entries: object, problems: list[str]) -> list[_Entry]:
    model, key = SECTIONS[section]
    if raw_entries is None:
        return []
    if not isinstance(raw_entries, list):
        problems.append(f"airflow.{section}: must be a list; start each entry with `- {key}: ...`")
        return []
    entries: list[_Entry] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(raw_entries):
        if _is_placeholder(raw):
            continue
        if not isinstance(raw, dict):
            problems.append(f"{section}[{index}]: must be a mapping of fields, e.g. `- {key}: ...`")
            continue
        label = entry_label(section, index, raw.get(key))
        try:
            entry = model.model_validate(raw)
        except ValidationError as exc:
            problems.extend(f"{label}: {_problem(model, error)}" for error in exc.errors(include_input=False))
            continue
        name = getattr(entry, key)
        if name in seen:
            problems.append(f"{label}: {key}: also used by {seen[name]}; keep one entry per {key}")
            continue
        seen[name] = label
        entries.append(entry)
    return entries


def _yaml_error(exc: yaml.YAMLError) -> str:
    """Line, column and the parser's reason, never the text around it (it may be a password)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    reason = getattr(exc, "problem", None) or type(exc).__name__
    return f"not valid YAML{where}: {reason}; check the indentation and quote values containing `: ` or `#`"


def parse_settings(text: str, *, source: str) -> ProjectSettings:
    """Validate the text of an airflow_settings.yaml; raises ProjectSettingsError naming `source`."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProjectSettingsError(f"{source}: {_yaml_error(exc)}") from None
    if document is None:
        return ProjectSettings()
    if not isinstance(document, dict) or set(document) - {"airflow"}:
        raise ProjectSettingsError(
            f"{source}: the top level must be one `airflow:` key holding connections, variables and pools"
        )
    airflow = document.get("airflow")
    if airflow is None:
        return ProjectSettings()
    keys = set(airflow) if isinstance(airflow, dict) else set()
    unknown = sorted(str(name) for name in keys - set(SECTIONS))
    if not isinstance(airflow, dict) or unknown:
        named = f" (found {', '.join(unknown)})" if unknown else ""
        raise ProjectSettingsError(
            f"{source}: airflow: must hold only connections, variables and pools{named}"
        )
    problems: list[str] = []
    sections = {name: _section(name, airflow.get(name), problems) for name in SECTIONS}
    if problems:
        raise ProjectSettingsError(f"{source}: " + "; ".join(problems))
    return ProjectSettings.model_validate(sections)


def load_settings(path: Path) -> ProjectSettings:
    """Read and validate an airflow_settings.yaml file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ProjectSettingsError(f"{path}: cannot be read ({reason})") from None
    return parse_settings(text, source=str(path))
