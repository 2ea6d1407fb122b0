"""The files `astro-runtime project init` writes: Astro's project layout, with our Runtime image.

Kept as strings (not package data) so the files need no packaging rules and are read in one place.
The created project must pass `astro-runtime project parse` and `project pytest` as written
(tests/runtime/project/ checks both).
"""

from __future__ import annotations

DOCKERFILE = """\
# The Runtime release this project runs on; change the tag to upgrade (`astro-runtime versions list`).
# ONBUILD steps of the image install packages.txt and requirements.txt and copy the project in.
# {image} is the tag `make image` builds locally; use the registry's name once it is published.
FROM {image}
"""

EXAMPLE_DAG = '''\
"""An example DAG: greets a few names once a day, with a helper from include/.

`from include.greetings import greeting` works because the project root is on the import path, in
the image (/usr/local/airflow) and locally (astro-runtime dev, project parse, project pytest).
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import dag, task

from include.greetings import greeting


@dag(
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    default_args={"retries": 2},
    tags=["example"],
)
def example_greetings():
    @task
    def names() -> list[str]:
        return ["Airflow", "Astronomer"]

    @task
    def greet(name: str) -> str:
        message = greeting(name)
        print(message)
        return message

    greet.expand(name=names())


example_greetings()
'''

INCLUDE_MODULE = '''\
"""Code shared by DAGs, plugins and tests: import it as `from include.greetings import greeting`."""

from __future__ import annotations


def greeting(name: str) -> str:
    return f"Hello, {name}!"
'''

DAG_TEST = '''\
"""Checks every DAG in dags/: it imports without errors, has tags, and its tasks retry at least twice.

Rules in the spirit of Astro's example test; adapt them to your project. Run the tests with
`astro-runtime project pytest` (the project root is importable and the project's .env applied).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models import DagBag

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
# When not empty, every tag of every DAG must be one of these.
APPROVED_TAGS: set[str] = set()

DAG_BAG = DagBag(dag_folder=str(DAGS_FOLDER))
DAGS = sorted(DAG_BAG.dags.items())


def test_every_dag_file_imports() -> None:
    errors = "\\n".join(f"{path}:\\n{error}" for path, error in sorted(DAG_BAG.import_errors.items()))
    assert not DAG_BAG.import_errors, errors


@pytest.mark.parametrize("dag_id, dag", DAGS, ids=[dag_id for dag_id, _ in DAGS])
def test_dag_has_tags(dag_id, dag) -> None:
    assert dag.tags, f"{dag_id} ({dag.fileloc}) has no tags"
    if APPROVED_TAGS:
        assert not set(dag.tags) - APPROVED_TAGS, f"{dag_id} has tags outside {sorted(APPROVED_TAGS)}"


@pytest.mark.parametrize("dag_id, dag", DAGS, ids=[dag_id for dag_id, _ in DAGS])
def test_dag_retries(dag_id, dag) -> None:
    retries = dag.default_args.get("retries", 0)
    assert retries >= 2, f"{dag_id} ({dag.fileloc}) must set default_args retries >= 2, not {retries}"
'''

AIRFLOW_SETTINGS = """\
# Connections, variables and pools for local runs only: `astro-runtime dev` applies this file on every
# start (the file states each entry in full). Uncomment and fill in what you need. It holds local
# credentials, so .gitignore and .dockerignore leave it out; deployments get theirs from the control
# plane or a secrets backend. Check it with: python -m astronomer_plugins.project_settings check FILE
airflow:
  connections:
    # - conn_id: warehouse
    #   conn_type: postgres
    #   conn_host: db.example.com
    #   conn_schema: analytics
    #   conn_login: loader
    #   conn_password: change-me
    #   conn_port: 5432
    #   conn_extra:               # a mapping, or a JSON object string: '{"sslmode": "require"}'
    #     sslmode: require
  variables:
    # - variable_name: batch_size
    #   variable_value: "500"
  pools:
    # - pool_name: api_calls
    #   pool_slot: 3              # -1: unlimited
    #   pool_description: calls to the partner API
"""

DOTENV = """\
# Environment variables for local runs (astro-runtime dev, project parse, project pytest), one
# KEY=value per line; the shell that runs the command wins over this file. Kept out of git and of the
# image; set a deployment's variables on the deployment. For example:
# AIRFLOW__CORE__DEFAULT_TIMEZONE=Europe/Amsterdam
"""

# As Astro's: local credentials (.env, airflow_settings.yaml) and local state stay out of git.
GITIGNORE = """\
.env
airflow_settings.yaml
.venv/
__pycache__/
.pytest_cache/
.DS_Store
airflow.cfg
airflow.db
logs/
"""

# As Astro's: the same, and .git, stay out of the image (COPY . /usr/local/airflow/ in ONBUILD).
DOCKERIGNORE = """\
.git
.env
airflow_settings.yaml
.venv
__pycache__
.pytest_cache
airflow.cfg
airflow.db
logs/
"""


def project_files(image: str) -> dict[str, str]:
    """Every file of a new project, by path relative to its root."""
    return {
        "Dockerfile": DOCKERFILE.format(image=image),
        "requirements.txt": "",
        "packages.txt": "",
        "dags/example_dag.py": EXAMPLE_DAG,
        "include/greetings.py": INCLUDE_MODULE,
        "tests/dags/test_dag_example.py": DAG_TEST,
        "airflow_settings.yaml": AIRFLOW_SETTINGS,
        ".env": DOTENV,
        ".gitignore": GITIGNORE,
        ".dockerignore": DOCKERIGNORE,
    }


# Folders created even when empty.
PROJECT_FOLDERS = ("dags", "include", "plugins", "tests")
# What marks a folder as an Astro project already (checked by init before it writes anything).
PROJECT_MARKERS = ("Dockerfile", "dags", "requirements.txt", "packages.txt", "airflow_settings.yaml")
