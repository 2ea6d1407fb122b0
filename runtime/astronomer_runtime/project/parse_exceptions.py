"""The DAG files whose import errors a project tolerates, declared in `.astro-runtime.yaml`:

    parse:
      allow_import_errors:
        - file: dags/legacy_export.py      # relative to the project root
          reason: needs the vendor SDK; fixed in TICKET-123

A tolerated file is still parsed and its error still reported; it only does not fail the exit code.
Every entry needs a reason; an unknown key, a missing field or a file that does not exist is an error
naming the file, the entry and the field, so a stale exception cannot hide anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from astronomer_runtime.errors import RuntimeToolError

SETTINGS_FILE = ".astro-runtime.yaml"
SECTIONS = ("parse",)
PARSE_KEYS = ("allow_import_errors",)
ENTRY_KEYS = ("file", "reason")


class ParseSettingsError(RuntimeToolError, ValueError):
    """`.astro-runtime.yaml` is invalid; the message names the file, the entry and the field."""


def tolerated_files(project: Path) -> dict[str, str]:
    """File (relative to the project root) -> the reason its import errors are tolerated."""
    path = project / SETTINGS_FILE
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ParseSettingsError(f"{path}: cannot be read as YAML ({exc})") from None
    if document is None:
        return {}
    _mapping(document, path, "the top level", SECTIONS)
    section = document.get("parse") or {}
    _mapping(section, path, "parse", PARSE_KEYS)
    entries = section.get("allow_import_errors") or []
    if not isinstance(entries, list):
        raise ParseSettingsError(
            f"{path}: parse.allow_import_errors must be a list of {{file, reason}} entries"
        )
    tolerated: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"parse.allow_import_errors[{index}]"
        _mapping(entry, path, where, ENTRY_KEYS)
        for field in ENTRY_KEYS:
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                raise ParseSettingsError(f"{path}: {where}.{field} is required (a non-empty string)")
        name = Path(entry["file"]).as_posix()
        if not (project / name).is_file():
            raise ParseSettingsError(f"{path}: {where}.file {name!r} is not a file in the project")
        if name in tolerated:
            raise ParseSettingsError(f"{path}: {where}.file {name!r} is listed twice")
        tolerated[name] = entry["reason"].strip()
    return tolerated


def _mapping(value: Any, path: Path, where: str, known: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise ParseSettingsError(f"{path}: {where} must be a mapping with the keys {', '.join(known)}")
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        raise ParseSettingsError(
            f"{path}: {where} has unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
