"""The shape of versions.yaml, as pydantic models; field-level checks only.

Rules that relate several fields or several releases live in `rules.py`, so that each problem can
be reported against the exact field that has to change.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from functools import cached_property
from typing import Annotated

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from astronomer_plugins.feed import RELEASE_NAME

PROVIDER_PREFIX = "apache-airflow-providers-"


def _exact_version(value: str) -> str:
    try:
        Version(value)
    except InvalidVersion:
        raise ValueError(f"{value!r} is not a version (write an exact one, e.g. 3.3.2)") from None
    return value


def _python_version(value: str) -> str:
    if not re.fullmatch(r"3\.\d{1,2}", value):
        raise ValueError(f'{value!r} is not a Python version like "3.12" (quote it in YAML)')
    return value


def _provider_name(value: str) -> str:
    if canonicalize_name(value) != value or not value.startswith(PROVIDER_PREFIX):
        raise ValueError(
            f"{value!r} is not a provider distribution name; write it as on PyPI, "
            f"e.g. apache-airflow-providers-cncf-kubernetes"
        )
    return value


_CONSTRAINT_EXAMPLE = 'e.g. "celery<5.7" or "celery<5.7; python_version >= \'3.12\'"'


def _constraint_requirement(value: str) -> str:
    """A PEP 508 requirement that only bounds versions: a name and a specifier (markers allowed);
    no URL, no extras (a constraint must not add anything to the install)."""
    try:
        requirement = Requirement(value)
    except InvalidRequirement as exc:
        why = str(exc).splitlines()[0]  # packaging adds lines that point at the column
        raise ValueError(f"{value!r} is not a PEP 508 requirement ({why}); {_CONSTRAINT_EXAMPLE}") from None
    if requirement.url or requirement.extras:
        raise ValueError(f"{value!r} has a URL or extras; write a name and versions, {_CONSTRAINT_EXAMPLE}")
    if not requirement.specifier:
        raise ValueError(f"{value!r} bounds no version; add a specifier, {_CONSTRAINT_EXAMPLE}")
    return str(requirement)


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty; say what breaks without the constraint (it is kept until that is fixed)")
    return value


ExactVersion = Annotated[str, AfterValidator(_exact_version)]
PythonVersion = Annotated[str, AfterValidator(_python_version)]
ProviderName = Annotated[str, AfterValidator(_provider_name)]
ConstraintRequirement = Annotated[str, AfterValidator(_constraint_requirement)]


class Channel(str, Enum):
    STABLE = "stable"
    ALPHA = "alpha"
    BETA = "beta"
    DEPRECATED = "deprecated"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PythonSupport(_Strict):
    supported: list[PythonVersion] = Field(min_length=1)
    default: PythonVersion


class SecurityStatus(str, Enum):
    FIXED = "fixed"  # this release no longer ships the vulnerable version
    ACCEPTED = "accepted"  # still shipped, knowingly: the summary says why (not reachable, no fix yet...)


class SecurityFix(_Strict):
    """A known vulnerability and what this release does about it (`astro-runtime audit` checks it).
    `cve` is the CVE id, or the advisory id (GHSA-..., PYSEC-...) when the advisory has no CVE."""

    cve: Annotated[
        str, Field(pattern=r"^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+)$")
    ]
    summary: str = Field(min_length=1)
    status: SecurityStatus = SecurityStatus.FIXED
    package: str | None = None


class Constraint(_Strict):
    """A bound on a dependency the release does not pin itself (a transitive one), for an upstream
    release that breaks something we ship; the reason says what, so it can be lifted once fixed."""

    requirement: ConstraintRequirement
    reason: Annotated[str, AfterValidator(_reason)]

    @property
    def name(self) -> str:
        return canonicalize_name(Requirement(self.requirement).name)


class Changelog(_Strict):
    features: list[str] = []
    fixes: list[str] = []
    security: list[SecurityFix] = []


class Release(_Strict):
    """One Runtime release as written in the catalog (lifecycle dates may be left to the policy)."""

    name: Annotated[str, Field(pattern=RELEASE_NAME.pattern)]
    airflow: ExactVersion
    python: PythonSupport
    channel: Channel
    lts: bool = False
    release_date: dt.date
    end_of_maintenance: dt.date | None = None
    end_of_basic_support: dt.date | None = None
    yanked: bool = False
    db_migration: bool = Field(description="needs `airflow db migrate` when coming from the previous release")
    providers: dict[ProviderName, ExactVersion] = Field(min_length=1)
    constraints: list[Constraint] = Field(
        default=[], description="bounds on transitive dependencies, each with its reason (locks' input)"
    )
    changelog: Changelog
    locked_at: dt.datetime = Field(description="PyPI snapshot the locks resolve against (uv --exclude-newer)")

    @cached_property
    def line(self) -> str:
        """The Runtime line, e.g. "3.3" for release "3.3-2"."""
        return self.name.rsplit("-", 1)[0]

    @cached_property
    def sort_key(self) -> tuple[int, int, int]:
        match = RELEASE_NAME.match(self.name)
        assert match is not None  # guaranteed by the field pattern
        return int(match["major"]), int(match["minor"]), int(match["n"])

    @property
    def is_preview(self) -> bool:
        return self.channel in (Channel.ALPHA, Channel.BETA)
