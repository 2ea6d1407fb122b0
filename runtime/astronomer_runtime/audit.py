"""Known vulnerabilities of each lock (pip-audit on PyPI's advisory data), against the changelog.

`pip-audit --no-deps --disable-pip -r <lock>` audits exactly the pins of a lock (they are complete
and hash-checked, so nothing is resolved or installed) by asking PyPI's JSON API for each
`name==version` (https://pypi.org/pypi/<name>/<version>/json, whose `vulnerabilities` field is fed
by the PyPA advisory database). Every vulnerability found must be in that release's
`changelog.security` of versions.yaml, with `status: accepted` and a summary saying why (a release
that ships the vulnerable version has not fixed it, so an entry `status: fixed` for a vulnerability
that is still reported is an error too).

pip-audit reports a package it could not look up as skipped, and then prints "No known
vulnerabilities found" all the same; here a lock with skipped packages is an incomplete audit
(exit 2), never a clean one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from astronomer_runtime.catalog import Catalog, Release
from astronomer_runtime.catalog.models import SecurityStatus
from astronomer_runtime.errors import RuntimeToolError
from astronomer_runtime.paths import LOCKS_DIR

AUDIT_TIMEOUT = 600


class AuditError(RuntimeToolError):
    """pip-audit is missing, failed, or printed something that is not its JSON report."""


@dataclass(frozen=True)
class Finding:
    """One vulnerability of one pinned package, as pip-audit reports it."""

    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()

    @property
    def ids(self) -> set[str]:
        return {self.id, *self.aliases}

    @property
    def record_id(self) -> str:
        """The id to write in the changelog: the CVE when the advisory has one."""
        return min((id_ for id_ in self.ids if id_.startswith("CVE-")), default=self.id)

    def __str__(self) -> str:
        fixed_in = f", fixed in {', '.join(self.fix_versions)}" if self.fix_versions else ", no fix released"
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package}=={self.version}: {self.id}{aliases}{fixed_in}"


@dataclass(frozen=True)
class LockAudit:
    """What pip-audit found in one lock."""

    release: str
    python: str
    lock: Path
    audited: int
    findings: tuple[Finding, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (package, pip-audit's reason)

    @property
    def complete(self) -> bool:
        return not self.skipped and self.audited > 0


@dataclass(frozen=True)
class Verdict:
    """A lock's findings against its release's changelog."""

    audit: LockAudit
    unrecorded: tuple[Finding, ...] = ()
    recorded_as_fixed: tuple[Finding, ...] = ()
    accepted: tuple[Finding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.audit.complete and not self.unrecorded and not self.recorded_as_fixed


def parse_report(document: dict, *, release: str, python: str, lock: Path) -> LockAudit:
    """pip-audit's JSON (`-f json`):
    {"dependencies": [{name, version, vulns: [...]} | {name, skip_reason}]}."""
    try:
        dependencies = document["dependencies"]
    except (KeyError, TypeError):
        raise AuditError(f"pip-audit report for {lock} has no 'dependencies' list") from None
    findings, skipped, audited = [], [], 0
    for dependency in dependencies:
        if "skip_reason" in dependency:
            skipped.append((dependency["name"], dependency["skip_reason"]))
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            findings.append(
                Finding(
                    package=dependency["name"],
                    version=dependency["version"],
                    id=vuln["id"],
                    aliases=tuple(vuln.get("aliases") or ()),
                    fix_versions=tuple(vuln.get("fix_versions") or ()),
                )
            )
    return LockAudit(release, python, lock, audited, tuple(findings), tuple(skipped))


def pip_audit_command(lock: Path) -> list[str]:
    executable = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or shutil.which("pip-audit")
    if executable is None:
        raise AuditError("pip-audit is not installed: it is in runtime/requirements-dev.txt (make venv)")
    # --no-deps --disable-pip: audit the lock's pins as written; nothing is resolved or installed.
    output = ["--format", "json", "--progress-spinner", "off"]
    return [executable, "--no-deps", "--disable-pip", "--requirement", str(lock), *output]


def audit_lock(release: str, python: str, lock: Path) -> LockAudit:
    """Run pip-audit on one lock (network: PyPI's JSON API)."""
    command = pip_audit_command(lock)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=AUDIT_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise AuditError(f"pip-audit on {lock} did not finish within {AUDIT_TIMEOUT} s") from exc
    # Exit 1 means "vulnerabilities found"; the report is on stdout either way.
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AuditError(
            f"pip-audit on {lock} failed (exit {result.returncode}): {result.stderr.strip()[-1500:]}"
        ) from None
    return parse_report(document, release=release, python=python, lock=lock)


def judge(audit: LockAudit, release: Release) -> Verdict:
    """Which findings the release's changelog does not account for."""
    recorded = {entry.cve: entry for entry in release.changelog.security}
    unrecorded, as_fixed, accepted = [], [], []
    for finding in audit.findings:
        entries = [recorded[id_] for id_ in sorted(finding.ids) if id_ in recorded]
        if not entries:
            unrecorded.append(finding)
        elif any(entry.status is SecurityStatus.ACCEPTED for entry in entries):
            accepted.append(finding)
        else:
            as_fixed.append(finding)
    return Verdict(audit, tuple(unrecorded), tuple(as_fixed), tuple(accepted))


def locks_of(catalog: Catalog, names: Iterable[str] | None = None) -> list[tuple[Release, str, Path]]:
    releases = [catalog.get(name) for name in names] if names else catalog.releases
    return [
        (release, python, LOCKS_DIR / release.name / f"python{python}.txt")
        for release in releases
        for python in release.python.supported
    ]


def describe(verdict: Verdict) -> list[str]:
    """The lines `astro-runtime audit` prints for one lock."""
    audit = verdict.audit
    head = f"{audit.release} / Python {audit.python} ({audit.lock.name}): {audit.audited} packages audited"
    if audit.findings:
        head += f", {len(audit.findings)} known vulnerabilities"
    elif audit.audited:
        head += ", no known vulnerabilities among them"
    lines = [head]
    if audit.skipped:
        reasons = sorted({reason.split(":")[0] for _, reason in audit.skipped})
        lines.append(
            f"  INCOMPLETE: {len(audit.skipped)} packages could not be looked up "
            f"(e.g. {audit.skipped[0][0]}): {'; '.join(reasons)}. pip-audit needs "
            "https://pypi.org/pypi/<name>/<version>/json; a clean result needs every package audited"
        )
    for finding in verdict.unrecorded:
        lines.append(
            f"  NOT RECORDED: {finding} -> add it to versions.yaml "
            f"releases[{audit.release}].changelog.security "
            f"(cve: {finding.record_id}, status: accepted, summary: why) or upgrade {finding.package}"
        )
    for finding in verdict.recorded_as_fixed:
        lines.append(
            f"  STILL PRESENT: {finding} is recorded as fixed in "
            f"releases[{audit.release}].changelog.security, "
            f"but the lock still pins the vulnerable {finding.package}=={finding.version}"
        )
    lines += [f"  accepted: {finding}" for finding in verdict.accepted]
    return lines


def run(catalog: Catalog, names: Iterable[str] | None = None, *, out: TextIO | None = None) -> int:
    """Audit the locks of `names` (default: every release). 0 clean, 1 unaccounted findings, 2 incomplete."""
    out = out or sys.stdout
    status = 0
    for release, python, lock in locks_of(catalog, names):
        if not lock.is_file():
            raise AuditError(f"{lock} is missing; run `make lock` to generate it")
        verdict = judge(audit_lock(release.name, python, lock), release)
        for line in describe(verdict):
            print(line, file=out, flush=True)
        if not verdict.audit.complete:
            status = max(status, 2)
        elif not verdict.ok:
            status = max(status, 1)
    return status
