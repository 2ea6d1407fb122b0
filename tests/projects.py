"""A realistic Astro-layout customer project, written for tests of the image and of the local runtime.

Its DAGs import the way Astro projects do, from the project root (AIRFLOW_HOME in the image):
`from include.helpers import ...` (include/ is a namespace package, as `astro dev init` makes it),
`from dags.pkg.common import ...` (a DAG in a sub-package of dags/) and `from plugins.customer_tools
import ...`; its plugin imports `include` too, so a process that loads plugins without the project
root on sys.path logs an import failure. The same files run in the image and locally.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from astronomer_runtime.paths import DAGS_DIR

GREETING = "Hello from include.helpers"
CUSTOMER_DAG = "customer_dag"
NESTED_DAG = "customer_nested_dag"
PLUGIN_NAME = "customer_plugin"
HELLO_DAG = "example_runtime_hello"
DAG_IDS = (CUSTOMER_DAG, HELLO_DAG, NESTED_DAG)
# What the project's airflow_settings.yaml creates.
SETTINGS_CONNECTION = "customer_api"
SETTINGS_CONNECTION_EXTRA = {"timeout": 30, "region": "eu-west-1"}
SETTINGS_VARIABLE = "customer_env"
SETTINGS_POOL = "customer_pool"
# What the project's .env sets; the local test's shell overrides DOTENV_SHELL_WINS (README's precedence).
DOTENV_SETTING = ("CUSTOMER_SETTING", "from-dotenv")
DOTENV_SHELL_WINS = ("CUSTOMER_OVERRIDDEN", "from-dotenv")

# Three requirements of the project's own: pure Python, a compiled wheel, a provider outside the
# curated set (none of them is in any Runtime lock), and a DAG that uses all three.
EXTRAS_REQUIREMENTS = "emoji>=2\nujson>=5\napache-airflow-providers-sqlite>=4\n"
EXTRAS_DAG_ID = "project_extras"
EXTRAS_DAG = f'''
from airflow.sdk import dag, task


@dag(dag_id="{EXTRAS_DAG_ID}", schedule=None, is_paused_upon_creation=False)
def project_extras():
    @task
    def use_requirements() -> str:
        import emoji
        import ujson
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        return "|".join([emoji.emojize(":thumbs_up:"), ujson.dumps({{"a": 1}}), SqliteHook.conn_type])

    use_requirements()


project_extras()
'''


_FILES = {
    "include/helpers.py": f'''
def greet(name: str) -> str:
    return f"{GREETING}, {{name}}!"
''',
    "include/data.csv": "a,b\n1,2\n",
    "plugins/customer_tools.py": '''
def shout(text: str) -> str:
    return text.upper()
''',
    "plugins/customer_plugin.py": f'''
from airflow.plugins_manager import AirflowPlugin

from include.helpers import greet


class CustomerPlugin(AirflowPlugin):
    name = "{PLUGIN_NAME}"
    macros = [greet]
''',
    "dags/customer.py": f'''
import os

import pendulum
from airflow.sdk import dag, task

from include.helpers import greet
from plugins.customer_tools import shout


@dag(dag_id="{CUSTOMER_DAG}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def customer_dag():
    @task
    def say_hello() -> str:
        message = shout(greet("customer"))
        print(message)
        return message

    @task
    def settings_seen() -> str:
        return "|".join(os.environ.get(name, "unset") for name in ("{DOTENV_SETTING[0]}", "{DOTENV_SHELL_WINS[0]}"))

    say_hello()
    settings_seen()


customer_dag()
''',
    "dags/pkg/__init__.py": "",
    "dags/pkg/common.py": '''
OWNER = "data-team"
''',
    "dags/pkg/nested.py": f'''
import pendulum
from airflow.sdk import dag, task

from dags.pkg.common import OWNER


@dag(dag_id="{NESTED_DAG}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
     catchup=False, default_args={{"owner": OWNER}})
def customer_nested_dag():
    @task
    def owner() -> str:
        return OWNER

    owner()


customer_nested_dag()
''',
    "airflow_settings.yaml": f"""
# Applied by the local runtime on every start (astronomer_plugins.project_settings).
airflow:
  connections:
    - conn_id: {SETTINGS_CONNECTION}
      conn_type: http
      conn_host: api.example.com
      conn_password: not-a-real-password
      conn_extra:
        timeout: 30
        region: eu-west-1
  variables:
    - variable_name: {SETTINGS_VARIABLE}
      variable_value: local
  pools:
    - pool_name: {SETTINGS_POOL}
      pool_slot: 2
      pool_description: two at once
""",
    ".env": f"""
# Every local component gets these (the image gets them from the deployment's environment).
{DOTENV_SETTING[0]}={DOTENV_SETTING[1]}
export {DOTENV_SHELL_WINS[0]}="{DOTENV_SHELL_WINS[1]}"
AIRFLOW__API__PORT=1
""",
    "tests/dags/test_dag_example.py": '''
from include.helpers import greet


def test_greet():
    assert greet("x").endswith("x!")
''',
}


def newest_runtime_image() -> str:
    """The tag `init` writes for this Python: the newest stable release's local image."""
    from astronomer_runtime import paths
    from astronomer_runtime.catalog import load_catalog
    from astronomer_runtime.image.build import default_tag

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return default_tag(load_catalog(paths.CATALOG_FILE).newest_stable(python).name, python)


def write_project(folder: Path, *, base_image: str = "", requirements: str = "", packages: str = "") -> Path:
    """The project in `folder` (created): Dockerfile FROM `base_image` (default: the newest stable
    release's image, which names the release local verbs run on), requirements.txt and
    packages.txt as given (written as bytes, so Windows line endings stay), the files above, and
    this repository's example_runtime_hello DAG."""
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(f"FROM {base_image or newest_runtime_image()}\n")
    (folder / "requirements.txt").write_bytes(requirements.encode())
    (folder / "packages.txt").write_bytes(packages.encode())
    for relative, text in _FILES.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"))
    shutil.copy(DAGS_DIR / "example_runtime_hello.py", folder / "dags")
    return folder
