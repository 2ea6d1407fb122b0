"""Rules that relate several fields or releases. Each problem names the field to change."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from astronomer_runtime.catalog.catalog import Catalog
from astronomer_runtime.catalog.models import Release


@dataclass(frozen=True)
class Problem:
    field: str  # e.g. "releases[3.2-1].python.default"
    message: str


def _field(release: Release, name: str) -> str:
    return f"releases[{release.name}].{name}"


def release_problems(release: Release) -> list[Problem]:
    """Problems within one release."""
    problems = []
    supported = release.python.supported
    if release.python.default not in supported:
        problems.append(
            Problem(
                _field(release, "python.default"),
                f"{release.python.default} is not in supported [{', '.join(supported)}]",
            )
        )
    if len(set(supported)) != len(supported):
        problems.append(
            Problem(_field(release, "python.supported"), f"lists a version twice: [{', '.join(supported)}]")
        )
    airflow = Version(release.airflow)
    major, minor, _ = release.sort_key
    if (airflow.major, airflow.minor) != (major, minor):
        problems.append(
            Problem(
                _field(release, "airflow"),
                f"{release.airflow} does not match the release name: "
                f"a {release.line}-n release ships Airflow {release.line}.x",
            )
        )
    if release.end_of_maintenance and release.end_of_maintenance <= release.release_date:
        problems.append(
            Problem(
                _field(release, "end_of_maintenance"),
                f"{release.end_of_maintenance} is not after release_date {release.release_date}",
            )
        )
    return problems + _constraint_problems(release)


def _constraint_problems(release: Release) -> list[Problem]:
    """Constraints bound what the release does not pin: Airflow and the providers are pinned exactly
    (a range on them contradicts the pin), and one name gets one constraint (so one reason)."""
    problems = []
    pinned = {"apache-airflow", *release.providers}
    seen: set[str] = set()
    for index, constraint in enumerate(release.constraints):
        field = _field(release, f"constraints[{index}].requirement")
        if constraint.name in pinned:
            problems.append(
                Problem(
                    field,
                    f"{constraint.requirement}: {constraint.name} is pinned by the release itself; "
                    "change its version there instead",
                )
            )
        elif constraint.name in seen:
            message = f"{constraint.requirement}: {constraint.name} is constrained twice; merge them"
            problems.append(Problem(field, message))
        seen.add(constraint.name)
    return problems


def catalog_problems(catalog: Catalog) -> list[Problem]:
    """Problems between releases: unique names, order within a line, lifecycle dates."""
    problems = []
    seen: set[str] = set()
    for release in catalog.releases:
        if release.name in seen:
            problems.append(Problem(_field(release, "name"), f"{release.name} appears more than once"))
        seen.add(release.name)
        lifecycle = catalog.lifecycle(release)
        if lifecycle.end_of_basic_support < lifecycle.end_of_maintenance:
            problems.append(
                Problem(
                    _field(release, "end_of_basic_support"),
                    f"{lifecycle.end_of_basic_support} is before "
                    f"end_of_maintenance {lifecycle.end_of_maintenance}",
                )
            )
        previous = catalog.previous(release)
        if previous is None or previous.line != release.line or previous.name == release.name:
            continue
        if release.release_date < previous.release_date:
            problems.append(
                Problem(
                    _field(release, "release_date"),
                    f"{release.release_date} is before the release_date of "
                    f"{previous.name} ({previous.release_date})",
                )
            )
        if Version(release.airflow) < Version(previous.airflow):
            problems.append(
                Problem(
                    _field(release, "airflow"),
                    f"{release.airflow} is older than {previous.name}'s {previous.airflow}",
                )
            )
        if release.lts != previous.lts:
            problems.append(
                Problem(_field(release, "lts"), f"differs from {previous.name}: a line is LTS as a whole")
            )
    return problems
