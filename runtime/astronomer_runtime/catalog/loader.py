"""Reads versions.yaml, validates it completely, and reports every problem at once.

YAML is read with a loader that keeps every scalar a string (so `3.10` stays "3.10", not 3.1) and
refuses duplicate keys (which plain YAML would silently drop); pydantic then converts the types.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from astronomer_runtime.catalog import rules
from astronomer_runtime.catalog.catalog import Catalog
from astronomer_runtime.catalog.models import Release
from astronomer_runtime.errors import CatalogError
from astronomer_runtime.paths import CATALOG_FILE


class _StringLoader(yaml.BaseLoader):
    """BaseLoader (all scalars are strings) that rejects duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _location(label: str, loc: tuple[Any, ...]) -> str:
    parts = [label]
    for item in loc:
        if item == "[key]":
            continue
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def _message(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "extra_forbidden":
        return "is not a known field (check its spelling)"
    value = error.get("input")
    if error["type"] != "value_error" and isinstance(value, str):
        return f"{value!r}: {message}"
    return message


def _release_label(item: Any, index: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return f"releases[{name}]" if isinstance(name, str) and name else f"releases[{index}]"


def parse_catalog(text: str, source: str) -> Catalog:
    """Validate catalog text; raise CatalogError listing every problem as `source: field: message`."""
    try:
        raw = yaml.load(text, Loader=_StringLoader)  # noqa: S506 - BaseLoader builds no objects
    except yaml.MarkedYAMLError as exc:
        where = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        raise CatalogError([f"{source}: {where}not valid YAML: {exc.problem}"]) from exc
    except yaml.YAMLError as exc:
        raise CatalogError([f"{source}: not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("releases"), list) or not raw["releases"]:
        raise CatalogError([f"{source}: releases: a non-empty list of releases is required at the top level"])
    unknown = sorted(set(raw) - {"releases"})
    problems = [f"{source}: {key}: is not a known top-level field (only 'releases')" for key in unknown]
    releases = []
    for index, item in enumerate(raw["releases"]):
        label = _release_label(item, index)
        try:
            release = Release.model_validate(item)
        except ValidationError as exc:
            problems += [
                f"{source}: {_location(label, error['loc'])}: {_message(error)}" for error in exc.errors()
            ]
            continue
        releases.append(release)
        problems += [f"{source}: {p.field}: {p.message}" for p in rules.release_problems(release)]
    catalog = Catalog(releases)
    problems += [f"{source}: {p.field}: {p.message}" for p in rules.catalog_problems(catalog)]
    if problems:
        raise CatalogError(problems)
    return catalog


def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    """Read and validate the catalog file."""
    source = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError([f"{source}: cannot be read: {exc.strerror}"]) from exc
    return parse_catalog(text, source)
