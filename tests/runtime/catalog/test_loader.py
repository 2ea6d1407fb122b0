"""versions.yaml validation: every problem reported, each naming file, field, value and fix."""

from __future__ import annotations

import pytest

from astronomer_runtime.catalog import load_catalog, parse_catalog
from astronomer_runtime.errors import CatalogError
from astronomer_runtime.paths import CATALOG_FILE


def test_the_committed_catalog_is_valid() -> None:
    catalog = load_catalog(CATALOG_FILE)
    lines = {release.line for release in catalog.releases}
    assert {"3.1", "3.2", "3.3"} <= lines
    assert [r.airflow for r in catalog.releases if r.line == "3.3"][-1] == "3.3.2"
    curated = {
        "standard", "celery", "cncf-kubernetes", "common-compat", "common-io", "common-sql",
        "fab", "http", "openlineage", "postgres", "redis", "smtp",
    }  # fmt: skip
    for release in catalog.releases:
        assert {f"apache-airflow-providers-{name}" for name in curated} <= set(release.providers)
        assert release.python.default == "3.12"


def test_the_small_catalog_parses(small_catalog_text: str) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    assert catalog.names == ["3.1-1", "3.2-1", "3.3-1", "3.3-2"]
    assert catalog.get("3.3-1").providers == {
        "apache-airflow-providers-standard": "1.17.0",
        "apache-airflow-providers-http": "6.0.5",
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            'name: "3.2-1"\n    airflow: 3.2.2\n    python:\n      supported: ["3.11", "3.12"]\n      default: "3.12"',
            'name: "3.2-1"\n    airflow: 3.2.2\n    python:\n      supported: ["3.11", "3.12"]\n      default: "3.9"',
            "versions.yaml: releases[3.2-1].python.default: 3.9 is not in supported [3.11, 3.12]",
            id="default-python-not-supported",
        ),
        pytest.param(
            "airflow: 3.2.2",
            "airflow: 3.1.8",
            "versions.yaml: releases[3.2-1].airflow: 3.1.8 does not match the release name: "
            "a 3.2-n release ships Airflow 3.2.x",
            id="airflow-minor-mismatch",
        ),
        pytest.param(
            'name: "3.3-2"',
            'name: "3.3-1"',
            "versions.yaml: releases[3.3-1].name: 3.3-1 appears more than once",
            id="duplicate-name",
        ),
        pytest.param(
            "channel: stable\n    lts: true",
            "channel: gamma\n    lts: true",
            "versions.yaml: releases[3.2-1].channel: 'gamma': Input should be 'stable', 'alpha', 'beta' or 'deprecated'",
            id="unknown-channel",
        ),
        pytest.param(
            "apache-airflow-providers-http: 6.0.5",
            "cncf.kubernetes: 6.0.5",
            "versions.yaml: releases[3.3-1].providers.cncf.kubernetes: 'cncf.kubernetes' is not a provider "
            "distribution name; write it as on PyPI, e.g. apache-airflow-providers-cncf-kubernetes",
            id="provider-not-a-distribution-name",
        ),
        pytest.param(
            "apache-airflow-providers-http: 6.0.5",
            "apache-airflow-providers-http: '>=6'",
            "versions.yaml: releases[3.3-1].providers.apache-airflow-providers-http: '>=6' is not a version "
            "(write an exact one, e.g. 3.3.2)",
            id="provider-version-range",
        ),
        pytest.param(
            'release_date: 2026-09-25',
            'release_date: 2026-09-25\n    end_of_maintenance: 2026-09-01',
            "versions.yaml: releases[3.3-2].end_of_maintenance: 2026-09-01 is not after release_date 2026-09-25",
            id="maintenance-before-release",
        ),
        pytest.param(
            'release_date: 2026-09-25',
            'release_date: 2026-09-25\n    end_of_basic_support: 2027-01-31',
            "versions.yaml: releases[3.3-2].end_of_basic_support: 2027-01-31 is before end_of_maintenance 2027-02-28",
            id="basic-support-before-maintenance",
        ),
        pytest.param(
            'release_date: 2026-09-25',
            'release_date: 2026-08-01',
            "versions.yaml: releases[3.3-2].release_date: 2026-08-01 is before the release_date of 3.3-1 (2026-08-20)",
            id="release-dates-out-of-order",
        ),
        pytest.param(
            "    db_migration: false\n",
            "",
            "versions.yaml: releases[3.3-2].db_migration: is required",
            id="missing-field",
        ),
        pytest.param(
            'release_date: 2026-09-25',
            'release_date: 2026-09-25\n    lts_flag: true',
            "versions.yaml: releases[3.3-2].lts_flag: is not a known field (check its spelling)",
            id="unknown-field",
        ),
        pytest.param(
            'release_date: 2026-09-25',
            'release_date: 2026-09-25\n    release_date: 2026-09-26',
            "versions.yaml: line 68: not valid YAML: duplicate key 'release_date'",
            id="duplicate-key",
        ),
        pytest.param(
            'supported: ["3.11", "3.12"]\n      default: "3.12"\n    channel: stable\n    lts: false\n    release_date: 2026-09-25',
            'supported: [3.11, 3.10]\n      default: "3.12"\n    channel: stable\n    lts: false\n    release_date: 2026-09-25',
            "versions.yaml: releases[3.3-2].python.default: 3.12 is not in supported [3.11, 3.10]",
            id="python-versions-stay-strings",
        ),
        pytest.param(
            "cve: CVE-2026-12345",
            "cve: CVE-26-1",
            "versions.yaml: releases[3.1-1].changelog.security[0].cve: 'CVE-26-1': String should match pattern",
            id="malformed-cve",
        ),
    ],
)
def test_broken_catalog_names_the_field(small_catalog_text: str, old: str, new: str, expected: str) -> None:
    assert old in small_catalog_text
    broken = small_catalog_text.replace(old, new, 1) if "3.3-2" not in old else _replace_last(small_catalog_text, old, new)
    with pytest.raises(CatalogError) as raised:
        parse_catalog(broken, "versions.yaml")
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value.problems


def _replace_last(text: str, old: str, new: str) -> str:
    head, _, tail = text.rpartition(old)
    return head + new + tail


def test_every_problem_is_reported_at_once(small_catalog_text: str) -> None:
    broken = small_catalog_text.replace("channel: stable", "channel: gamma", 1).replace(
        "airflow: 3.3.2", "airflow: 3.4.0"
    )
    with pytest.raises(CatalogError) as raised:
        parse_catalog(broken, "versions.yaml")
    assert len(raised.value.problems) == 2
    assert raised.value.problems[0].startswith("versions.yaml: releases[3.1-1].channel: 'gamma'")
    assert raised.value.problems[1].startswith("versions.yaml: releases[3.3-2].airflow: 3.4.0 does not match")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "versions.yaml: releases: a non-empty list of releases is required at the top level"),
        ("releases: []\n", "versions.yaml: releases: a non-empty list of releases is required at the top level"),
        ("releases: [\n", "versions.yaml: line 2: not valid YAML: expected the node content"),
    ],
)
def test_catalog_without_releases(text: str, expected: str) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_catalog(text, "versions.yaml")
    assert raised.value.problems[0].startswith(expected)


def test_unknown_top_level_field(small_catalog_text: str) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_catalog("relases: []\n" + small_catalog_text, "versions.yaml")
    assert raised.value.problems == ["versions.yaml: relases: is not a known top-level field (only 'releases')"]


C0 = "versions.yaml: releases[3.3-2].constraints[0]"


def _with_constraints(text: str, block: str) -> str:
    """The small catalog with `block` as release 3.3-2's constraints."""
    anchor = "      apache-airflow-providers-fab: 3.9.0\n"
    assert anchor in text
    return text.replace(anchor, anchor + "    constraints:\n" + block, 1)


def test_constraints_parse_normalised_with_their_reason(small_catalog_text: str) -> None:
    block = (
        '      - requirement: "celery <5.7"\n        reason: "5.7.0 breaks the celery provider"\n'
        "      - requirement: \"kombu<5.7; python_version >= '3.12'\"\n        reason: \"goes with celery\"\n"
    )
    catalog = parse_catalog(_with_constraints(small_catalog_text, block), "versions.yaml")
    constraints = catalog.get("3.3-2").constraints
    assert [(c.requirement, c.reason, c.name) for c in constraints] == [
        ("celery<5.7", "5.7.0 breaks the celery provider", "celery"),
        ('kombu<5.7; python_version >= "3.12"', "goes with celery", "kombu"),
    ]
    assert catalog.get("3.3-1").constraints == []


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param(
            "      - requirement: \"; python_version < '3.12'\"\n        reason: r\n",
            "versions.yaml: releases[3.3-2].constraints[0].requirement: \"; python_version < '3.12'\" "
            "is not a PEP 508 requirement",
            id="markers-only",
        ),
        pytest.param(
            '      - requirement: "celery"\n        reason: r\n',
            "versions.yaml: releases[3.3-2].constraints[0].requirement: 'celery' bounds no version; "
            'add a specifier, e.g. "celery<5.7"',
            id="no-specifier",
        ),
        pytest.param(
            '      - requirement: "celery[redis]<5.7"\n        reason: r\n',
            f"{C0}.requirement: 'celery[redis]<5.7' has a URL or extras",
            id="extras",
        ),
        pytest.param(
            '      - requirement: "celery @ https://example.com/celery.whl"\n        reason: r\n',
            f"{C0}.requirement: 'celery @ https://example.com/celery.whl' has a URL or extras",
            id="url",
        ),
        pytest.param(
            '      - requirement: "celery<5.7"\n        reason: "  "\n',
            f"{C0}.reason: is empty; say what breaks without the constraint",
            id="blank-reason",
        ),
        pytest.param(
            '      - requirement: "celery<5.7"\n',
            "versions.yaml: releases[3.3-2].constraints[0].reason: is required",
            id="missing-reason",
        ),
        pytest.param(
            '      - requirment: "celery<5.7"\n        reason: r\n',
            f"{C0}.requirment: is not a known field (check its spelling)",
            id="misspelt-field",
        ),
        pytest.param(
            '      - requirement: "apache-airflow-providers-fab<4"\n        reason: r\n',
            "versions.yaml: releases[3.3-2].constraints[0].requirement: apache-airflow-providers-fab<4: "
            "apache-airflow-providers-fab is pinned by the release itself; change its version there instead",
            id="constrains-a-pinned-provider",
        ),
        pytest.param(
            '      - requirement: "Apache_Airflow<3.4"\n        reason: r\n',
            "versions.yaml: releases[3.3-2].constraints[0].requirement: Apache_Airflow<3.4: "
            "apache-airflow is pinned by the release itself",
            id="constrains-airflow",
        ),
        pytest.param(
            '      - requirement: "celery<5.7"\n        reason: r\n'
            '      - requirement: "Celery>=5.5"\n        reason: r\n',
            "versions.yaml: releases[3.3-2].constraints[1].requirement: Celery>=5.5: "
            "celery is constrained twice; merge them",
            id="same-name-twice",
        ),
    ],
)
def test_a_broken_constraint_names_its_field(small_catalog_text: str, block: str, expected: str) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_catalog(_with_constraints(small_catalog_text, block), "versions.yaml")
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value.problems
