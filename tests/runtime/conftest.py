"""A small literal catalog for tests, independent of the real versions.yaml."""

from __future__ import annotations

import pytest

RELEASE_TEMPLATE = """\
  - name: "{name}"
    airflow: {airflow}
    python:
      supported: ["3.11", "3.12"]
      default: "3.12"
    channel: {channel}
    lts: {lts}
    release_date: {date}
    yanked: {yanked}
    db_migration: {migration}
    locked_at: 2026-11-28T00:00:00Z
    providers:
      apache-airflow-providers-standard: {standard}
{extra}    changelog:
      features: ["a feature"]
      fixes: []
      security:
        - cve: CVE-2026-12345
          summary: a fix
"""


def release_yaml(
    name: str,
    airflow: str,
    date: str,
    *,
    channel: str = "stable",
    lts: bool = False,
    yanked: bool = False,
    migration: bool = False,
    standard: str = "1.0.0",
    extra: str = "",
) -> str:
    return RELEASE_TEMPLATE.format(
        name=name, airflow=airflow, date=date, channel=channel, lts=str(lts).lower(), yanked=str(yanked).lower(),
        migration=str(migration).lower(), standard=standard, extra=extra,
    )  # fmt: skip


@pytest.fixture
def small_catalog_text() -> str:
    return "releases:\n" + "".join(
        [
            release_yaml("3.1-1", "3.1.8", "2026-03-18", migration=True, standard="1.12.1"),
            release_yaml("3.2-1", "3.2.2", "2026-06-08", lts=True, migration=True, standard="1.14.0"),
            release_yaml("3.3-1", "3.3.1", "2026-08-20", migration=True, standard="1.17.0",
                         extra="      apache-airflow-providers-http: 6.0.5\n"),
            release_yaml("3.3-2", "3.3.2", "2026-09-25", standard="1.19.0",
                         extra="      apache-airflow-providers-fab: 3.9.0\n"),
        ]
    )  # fmt: skip
