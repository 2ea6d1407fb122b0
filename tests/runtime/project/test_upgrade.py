"""`astro-runtime project upgrade-test`: real environments of two catalog releases (3.1-1 -> 3.3-2, the
locks in runtime/locks), a generated customer project parsed in each.

The project's `dags/consumer.py` schedules on `airflow.datasets.Dataset`, which Airflow 3.1 still
ships (deprecated) and 3.3 removed; `dags/daily.py` adds a task on Airflow 3.3 (a DAG whose shape
depends on the release it is parsed with). One module-scoped run reports them; then the project is
fixed and the same environments (reused) give a clean report.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from astronomer_runtime.cli import main
from astronomer_runtime.paths import CATALOG_FILE
from astronomer_runtime.project import upgrade, upgrade_report
from astronomer_runtime.project.distributions import Distribution
from tests.projects import DAG_IDS, write_project

OLD_IMAGE = "localhost/astronomer/runtime:3.1-1-python-3.11"
CONSUMER = """\
from airflow.datasets import Dataset
from airflow.sdk import DAG, task

with DAG(dag_id="consumer", schedule=[Dataset("s3://bucket/orders")]):

    @task
    def load():
        pass

    load()
"""
DAILY = """\
import airflow
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

with DAG(dag_id="daily", schedule="@daily"):

    @task
    def extract():
        return 1

    done = EmptyOperator(task_id="done")
    extract() >> done
    if airflow.__version__.startswith("3.3"):
        EmptyOperator(task_id="audit") >> done
"""
CONSUMER_FIXED = CONSUMER.replace(
    "from airflow.datasets import Dataset", "from airflow.sdk import Asset as Dataset"
)
DAILY_FIXED = DAILY.replace('airflow.__version__.startswith("3.3")', "True")


SECURITY = {"cve": "CVE-2026-40001", "summary": "test entry", "status": "fixed", "package": "apache-airflow"}


@pytest.fixture(scope="module")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """versions.yaml with changelogs of this test's own (the releases, locks and migrations are the
    real ones; the changelog text changes as releases are maintained)."""
    document = yaml.safe_load(CATALOG_FILE.read_text())
    for release in document["releases"]:
        name = release["name"]
        release["changelog"] = {
            "fixes": [f"fix in {name}"],
            "security": [SECURITY] if name == "3.3-1" else [],
        }
    path = tmp_path_factory.mktemp("catalog") / "versions.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _upgrade_test(catalog: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["--catalog", str(catalog), "project", "upgrade-test", *args])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path) -> dict[str, Any]:
    """The broken project's report (text and JSON file), then the fixed project's (JSON on stdout)."""
    project = write_project(
        tmp_path_factory.mktemp("upgrade") / "customer", base_image=OLD_IMAGE, requirements="emoji>=2\n"
    )
    (project / "dags" / "consumer.py").write_text(CONSUMER)
    (project / "dags" / "daily.py").write_text(DAILY)
    json_file = project.parent / "report.json"
    broken = _upgrade_test(catalog_file, "--project", str(project), "--to", "3.3-2", "--json", str(json_file))
    (project / "dags" / "consumer.py").write_text(CONSUMER_FIXED)
    (project / "dags" / "daily.py").write_text(DAILY_FIXED)
    fixed = _upgrade_test(catalog_file, "--project", str(project), "--to", "3.3-2", "--json", "-")
    return {
        "broken": (broken[0], broken[1], json.loads(json_file.read_text())),
        "fixed": (fixed[0], json.loads(fixed[1])),
    }


def _change(changes: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(change for change in changes if change["name"] == name)


def test_broken_upgrade_exits_1_and_names_the_problems(reports: dict[str, Any]) -> None:
    status, _, document = reports["broken"]
    assert status == 1
    assert (document["from"], document["to"], document["direction"]) == (
        {"release": "3.1-1", "airflow": "3.1.8", "python": "3.11"},
        {"release": "3.3-2", "airflow": "3.3.2", "python": "3.11"},
        "upgrade",
    )
    assert document["environment"] == {"built": True, "error": None, "how": {"from": "built", "to": "built"}}
    assert document["clean"] is False
    assert document["problems"] == [
        "dags/consumer.py does not import on Runtime 3.3-2",
        "DAG 'consumer' gone: dags/consumer.py is ERROR on the target",
        "DAG 'daily' changed: task 'audit' added (airflow.providers.standard.operators.empty.EmptyOperator); "
        "task 'done' upstream: ['extract'] -> ['audit', 'extract']",
    ]


def test_packages_that_change_between_the_environments(reports: dict[str, Any]) -> None:
    packages = reports["broken"][2]["packages"]
    assert packages["requirements"] == []  # emoji resolves to the same version on both
    transitive = packages["transitive"]
    assert _change(transitive, "apache-airflow") == {
        "name": "apache-airflow", "from": "3.1.8", "to": "3.3.2", "change": "upgraded"
    }  # fmt: skip
    assert _change(transitive, "apache-airflow-providers-common-sql") == {
        "name": "apache-airflow-providers-common-sql", "from": "1.33.0", "to": "2.1.1", "change": "upgraded"
    }  # fmt: skip
    assert _change(transitive, "SQLAlchemy-JSONField") == {
        "name": "SQLAlchemy-JSONField", "from": "1.0.3", "to": None, "change": "removed"
    }  # fmt: skip
    assert _change(transitive, "psycopg") == {
        "name": "psycopg",
        "from": None,
        "to": "3.3.9",
        "change": "added",
    }
    names = {change["name"] for change in transitive}
    assert not names & {"emoji", "pytest", "astronomer-plugins"}  # the same on both sides


def test_dag_failing_on_the_target_with_its_line(reports: dict[str, Any]) -> None:
    assert reports["broken"][2]["dags"]["failing"] == [
        {
            "file": "dags/consumer.py",
            "status": "error",
            "errors": ["line 1: ModuleNotFoundError: No module named 'airflow.datasets'"],
            "on_current": "ok",
            "tolerated": None,
        }
    ]


def test_parsed_dags_compared(reports: dict[str, Any]) -> None:
    changes = reports["broken"][2]["dags"]["changes"]
    assert changes == [
        {
            "dag_id": "consumer",
            "change": "gone",
            "file": "dags/consumer.py",
            "details": ["dags/consumer.py is ERROR on the target"],
        },
        {
            "dag_id": "daily",
            "change": "changed",
            "file": "dags/daily.py",
            "details": [
                "task 'audit' added (airflow.providers.standard.operators.empty.EmptyOperator)",
                "task 'done' upstream: ['extract'] -> ['audit', 'extract']",
            ],
        },
    ]
    assert not {change["dag_id"] for change in changes} & set(DAG_IDS)  # the customer's DAGs: unchanged


def test_migration_and_changelog_of_the_releases_crossed(reports: dict[str, Any]) -> None:
    document = reports["broken"][2]
    assert document["db_migration"] is True
    assert document["changelog"] == [
        {"release": "3.2-1", "fixes": ["fix in 3.2-1"], "security": []},
        {"release": "3.3-1", "fixes": ["fix in 3.3-1"], "security": [SECURITY]},
        {"release": "3.3-2", "fixes": ["fix in 3.3-2"], "security": []},
    ]


def test_text_report(reports: dict[str, Any]) -> None:
    text = reports["broken"][1]
    assert text.startswith(
        "Runtime 3.1-1 (Airflow 3.1.8) -> Runtime 3.3-2 (Airflow 3.3.2), Python 3.11: upgrade\n"
    )
    for line in (
        "Environments: Runtime 3.1-1 built, Runtime 3.3-2 built",
        "DAG files failing on Runtime 3.3-2: 1",
        "  dags/consumer.py: ERROR (on the current release: OK)",
        "    line 1: ModuleNotFoundError: No module named 'airflow.datasets'",
        "  daily (dags/daily.py): changed",
        "    task 'done' upstream: ['extract'] -> ['audit', 'extract']",
        "Database: `airflow db migrate` is needed (a release crossed changes the schema)",
        "    fix: fix in 3.3-1",
        "    security: CVE-2026-40001 [apache-airflow] fixed: test entry",
        "NOT CLEAN (3):",
    ):
        assert line in text.splitlines(), line


def test_fixed_project_upgrades_clean(reports: dict[str, Any]) -> None:
    status, document = reports["fixed"]
    assert (status, document["clean"], document["problems"]) == (0, True, [])
    assert document["environment"]["how"] == {"from": "reused", "to": "reused"}  # nothing rebuilt
    assert document["dags"] == {"failing": [], "changes": []}
    assert _change(document["packages"]["transitive"], "apache-airflow")["change"] == "upgraded"


def test_target_that_does_not_build_is_the_finding(tmp_path: Path, catalog_file: Path) -> None:
    """rich<14 installs on 3.1-1 (rich 13.9.4) and contradicts 3.3-2's constraint (rich 15.0.0, an Airflow
    core dependency): the report names the line, has no package or DAG sections, and still tells the
    migration and the changelog."""
    project = write_project(tmp_path / "pinned", base_image=OLD_IMAGE, requirements="emoji>=2\nrich<14\n")
    status, out, _ = _upgrade_test(catalog_file, "--project", str(project), "--to", "3.3-2", "--json", "-")
    document = json.loads(out)
    assert status == 1
    assert document["environment"]["built"] is False
    assert document["environment"]["how"] == {"from": "built", "to": None}
    assert "requirements.txt line 2" in document["environment"]["error"]
    assert "rich" in document["environment"]["error"]
    assert (document["packages"], document["dags"]) == (None, None)
    assert document["problems"] == ["the project's environment does not build on Runtime 3.3-2"]
    assert document["db_migration"] is True
    assert [entry["release"] for entry in document["changelog"]] == ["3.2-1", "3.3-1", "3.3-2"]
    text = upgrade_report.as_text(document).splitlines()
    assert "Environment: the project does not build on Runtime 3.3-2:" in text
    assert text[-2:] == ["NOT CLEAN (1):", "  - the project's environment does not build on Runtime 3.3-2"]


def test_unknown_target_release_is_one_clear_error(tmp_path: Path, catalog_file: Path) -> None:
    project = write_project(tmp_path / "misspelt", base_image=OLD_IMAGE)
    status, out, err = _upgrade_test(catalog_file, "--project", str(project), "--to", "3.3-9")
    assert (status, out) == (1, "")
    assert err.startswith(
        "--runtime-version names Runtime '3.3-9', which the catalog does not know; known releases:"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"schedule": None, "tasks": {}}, {"schedule": None, "tasks": {}}, []),
        (
            {"schedule": {"__type": "airflow.timetables.trigger.CronTriggerTimetable",
                          "__var": {"expression": "0 0 * * *"}}, "tasks": {}},
            {"schedule": {"__type": "airflow.timetables.simple.NullTimetable", "__var": {}}, "tasks": {}},
            ['schedule: CronTriggerTimetable({"expression": "0 0 * * *"}) -> NullTimetable'],
        ),
        (
            {"schedule": None, "tasks": {"a": {"operator": "m.A", "upstream": []},
                                         "b": {"operator": "m.B", "upstream": ["a"]}}},
            {"schedule": None, "tasks": {"a": {"operator": "m.A2", "upstream": []},
                                         "c": {"operator": "m.C", "upstream": ["a"]}}},
            ["task 'b' removed", "task 'c' added (m.C)", "task 'a' operator: m.A -> m.A2"],
        ),
    ],
)  # fmt: skip
def test_shape_differences(old: dict[str, Any], new: dict[str, Any], expected: list[str]) -> None:
    assert upgrade.shape_differences(old, new) == expected


def test_package_changes_split_own_requirements_from_the_rest() -> None:
    def dist(name: str, version: str) -> Distribution:
        return Distribution(name, version, ())

    before = {
        "emoji": dist("emoji", "2.14.0"),
        "rich": dist("rich", "15.0.0"),
        "six": dist("six", "1.17.0"),
        "same": dist("same", "1.0"),
    }
    after = {
        "emoji": dist("emoji", "2.15.0"),
        "rich": dist("rich", "13.9.4"),
        "psycopg": dist("psycopg", "3.3.9"),
        "same": dist("same", "1.0"),
    }
    assert upgrade.package_changes(before, after, {"emoji", "six"}) == {
        "requirements": [
            {"name": "emoji", "from": "2.14.0", "to": "2.15.0", "change": "upgraded"},
            {"name": "six", "from": "1.17.0", "to": None, "change": "removed"},
        ],
        "transitive": [
            {"name": "psycopg", "from": None, "to": "3.3.9", "change": "added"},
            {"name": "rich", "from": "15.0.0", "to": "13.9.4", "change": "downgraded"},
        ],
    }
