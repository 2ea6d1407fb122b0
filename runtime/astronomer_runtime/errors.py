"""The exceptions of the build-side tooling.

RuntimeToolError          anything the tooling raises on purpose; the CLI prints it and exits 1
 ├─ CatalogError          versions.yaml is invalid; carries every problem found (also a ValueError)
 ├─ UnknownReleaseError   a release name that is not in the catalog (also a LookupError)
 └─ LockError             a lock is missing, stale, or uv failed to produce it
"""

from __future__ import annotations


class RuntimeToolError(Exception):
    """Base of every error the tooling raises on purpose."""


class CatalogError(RuntimeToolError, ValueError):
    """The catalog is invalid. `problems` holds one line per problem, each naming file and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class UnknownReleaseError(RuntimeToolError, LookupError):
    """A release name that the catalog does not know."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown release {name!r}; known releases: {', '.join(known)}")


class LockError(RuntimeToolError):
    """A lock file is missing, out of date, or could not be generated."""
