"""`astro-runtime audit`: pip-audit's report of each lock against the release's changelog."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_runtime import audit
from astronomer_runtime.audit import Finding, LockAudit
from astronomer_runtime.catalog import load_catalog, parse_catalog
from astronomer_runtime.catalog.models import SecurityStatus
from astronomer_runtime.errors import CatalogError
from astronomer_runtime.paths import CATALOG_FILE

LOCK = Path("runtime/locks/3.3-2/python3.11.txt")

# pip-audit 2.10 `-f json`, trimmed: one clean package, one with two advisories, one it could not look up.
REPORT = {
    "dependencies": [
        {"name": "a2wsgi", "version": "1.10.10", "vulns": []},
        {"name": "jinja2", "version": "3.1.4", "vulns": [
            {"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"], "aliases": ["CVE-2024-56326"], "description": "..."},
            {"id": "PYSEC-2025-11", "fix_versions": [], "aliases": [], "description": "..."},
        ]},
        {"name": "private-lib", "skip_reason": "Dependency not found on PyPI and could not be audited: private-lib (1.0)"},
    ],
    "fixes": [],
}  # fmt: skip


def _catalog_with_security(small_catalog_text: str, entries: str):
    """The small catalog with 3.3-2's security list replaced by `entries` (YAML list items)."""
    head, sep, tail = small_catalog_text.rpartition("      security:\n")
    tail = tail.split("\n", 2)[-1]  # drop the template's own entry (two lines)
    security = sep + entries if entries else "      security: []\n"
    return parse_catalog(head + security + tail, "versions.yaml")


def test_parse_report() -> None:
    parsed = audit.parse_report(REPORT, release="3.3-2", python="3.11", lock=LOCK)
    assert parsed.audited == 2
    assert parsed.findings == (
        Finding("jinja2", "3.1.4", "GHSA-q2x7-8rv6-6q7h", ("CVE-2024-56326",), ("3.1.5",)),
        Finding("jinja2", "3.1.4", "PYSEC-2025-11"),
    )
    assert parsed.skipped == (("private-lib", "Dependency not found on PyPI and could not be audited: private-lib (1.0)"),)
    assert not parsed.complete


def test_report_without_dependencies_is_an_error() -> None:
    with pytest.raises(audit.AuditError, match=r"runtime/locks/3.3-2/python3.11.txt has no 'dependencies' list"):
        audit.parse_report({"error": "x"}, release="3.3-2", python="3.11", lock=LOCK)


def test_findings_are_matched_by_id_or_alias_and_status(small_catalog_text: str) -> None:
    catalog = _catalog_with_security(small_catalog_text, (
        "        - cve: CVE-2024-56326\n          summary: sandbox escape; templates are ours only\n          status: accepted\n"
        "        - cve: PYSEC-2025-11\n          summary: fixed by the jinja2 upgrade\n          status: fixed\n"
    ))  # fmt: skip
    parsed = audit.parse_report(REPORT, release="3.3-2", python="3.11", lock=LOCK)
    verdict = audit.judge(parsed, catalog.get("3.3-2"))
    assert [f.id for f in verdict.accepted] == ["GHSA-q2x7-8rv6-6q7h"]
    assert [f.id for f in verdict.recorded_as_fixed] == ["PYSEC-2025-11"]
    assert verdict.unrecorded == ()
    assert not verdict.ok
    lines = audit.describe(verdict)
    assert lines[0] == "3.3-2 / Python 3.11 (python3.11.txt): 2 packages audited, 2 known vulnerabilities"
    assert any(line.startswith("  INCOMPLETE: 1 packages could not be looked up (e.g. private-lib)") for line in lines)
    assert ("  STILL PRESENT: jinja2==3.1.4: PYSEC-2025-11, no fix released is recorded as fixed in "
            "releases[3.3-2].changelog.security, but the lock still pins the vulnerable jinja2==3.1.4") in lines  # fmt: skip


def test_unrecorded_finding_names_the_field_to_edit(small_catalog_text: str) -> None:
    catalog = _catalog_with_security(small_catalog_text, "")
    clean = LockAudit("3.3-2", "3.11", LOCK, audited=1, findings=(Finding("jinja2", "3.1.4", "GHSA-q2x7-8rv6-6q7h", ("CVE-2024-56326",), ("3.1.5",)),))
    verdict = audit.judge(clean, catalog.get("3.3-2"))
    assert clean.complete and not verdict.ok
    assert audit.describe(verdict)[1] == (
        "  NOT RECORDED: jinja2==3.1.4: GHSA-q2x7-8rv6-6q7h (CVE-2024-56326), fixed in 3.1.5 -> add it to versions.yaml "
        "releases[3.3-2].changelog.security (cve: CVE-2024-56326, status: accepted, summary: why) or upgrade jinja2"
    )


def test_security_entry_defaults_to_fixed_and_takes_advisory_ids(small_catalog_text: str) -> None:
    catalog = _catalog_with_security(small_catalog_text, "        - cve: GHSA-q2x7-8rv6-6q7h\n          summary: s\n")
    entry = catalog.get("3.3-2").changelog.security[0]
    assert (entry.cve, entry.status) == ("GHSA-q2x7-8rv6-6q7h", SecurityStatus.FIXED)
    with pytest.raises(CatalogError, match=r"releases\[3.3-2\]\.changelog\.security\[0\]\.status"):
        _catalog_with_security(small_catalog_text, "        - cve: CVE-2026-1111\n          summary: s\n          status: ignored\n")


@pytest.mark.slow
def test_a_package_pypi_does_not_know_makes_the_audit_incomplete(tmp_path: Path) -> None:
    """pip-audit prints "No known vulnerabilities found" for a package it could not look up; we don't."""
    lock = tmp_path / "python3.11.txt"
    lock.write_text("astronomer-runtime-no-such-package-7f3a==0.0.1\n")
    result = audit.audit_lock("3.3-2", "3.11", lock)
    assert (result.audited, result.findings, [name for name, _ in result.skipped]) == (
        0, (), ["astronomer-runtime-no-such-package-7f3a"])  # fmt: skip
    assert not result.complete


@pytest.fixture(scope="module")
def vulnerability_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip unless pip-audit gets PyPI's advisory data here, asked once: requests 2.31.0 has a
    published advisory (CVE-2024-35195), so it must be found whenever the data is reachable."""
    probe = tmp_path_factory.mktemp("probe") / "requirements.txt"
    probe.write_text("requests==2.31.0\n")
    result = audit.audit_lock("probe", "3.11", probe)
    if result.skipped:
        pytest.skip(f"PyPI's per-version JSON API (vulnerability data) is unreachable from here: {result.skipped[0][1]}")
    assert "CVE-2024-35195" in {id_ for finding in result.findings for id_ in finding.ids}


@pytest.mark.slow
def test_every_reported_vulnerability_is_in_the_changelog(vulnerability_data: None) -> None:
    """Network (PyPI's JSON API). Every finding of every lock is recorded as accepted in its release."""
    catalog = load_catalog(CATALOG_FILE)
    verdicts = [audit.judge(audit.audit_lock(release.name, python, lock), release)
                for release, python, lock in audit.locks_of(catalog)]  # fmt: skip
    problems = [line for verdict in verdicts if not verdict.ok for line in audit.describe(verdict)]
    assert problems == []
