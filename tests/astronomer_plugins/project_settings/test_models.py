"""airflow_settings.yaml validation: Astro's format accepted, every problem named in one line
(file, entry, field, fix), and no secret ever in the message."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_plugins.errors import ProjectSettingsError
from astronomer_plugins.project_settings import ProjectSettings, load_settings, parse_settings

SECRET = "hunter2-s3cret"
SOURCE = "project/airflow_settings.yaml"

# The placeholders `astro dev init` writes: an entry whose every field is empty is skipped.
ASTRO_INIT_TEMPLATE = """
# This file allows you to configure Airflow Connections, Pools, and Variables in a single place
airflow:
  connections:
    - conn_id:
      conn_type:
      conn_host:
      conn_schema:
      conn_login:
      conn_password:
      conn_port:
      conn_extra:
        example_extra_field: example-value
  pools:
    - pool_name:
      pool_slot:
      pool_description:
  variables:
    - variable_name:
      variable_value:
"""


def _error(text: str) -> str:
    with pytest.raises(ProjectSettingsError) as caught:
        parse_settings(text, source=SOURCE)
    return str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "airflow:\n", "airflow:\n  connections:\n  pools: []\n"],
    ids=["empty", "comment-only", "no-sections", "empty-sections"],
)
def test_an_empty_file_or_missing_sections_mean_nothing_to_apply(text: str) -> None:
    assert parse_settings(text, source=SOURCE) == ProjectSettings()


def test_every_field_in_astro_names_is_read() -> None:
    settings = parse_settings(
        f"""
airflow:
  connections:
    - conn_id: warehouse
      conn_type: postgres
      conn_host: db.example.com
      conn_schema: analytics
      conn_login: loader
      conn_password: {SECRET}
      conn_port: 5432
      conn_extra:
        sslmode: require
        options: {{search_path: raw}}
      conn_description: the warehouse
  variables:
    - variable_name: batch_size
      variable_value: 500
  pools:
    - pool_name: api_calls
      pool_slot: 3
      pool_description: rate-limited API
""",
        source=SOURCE,
    )
    (connection,) = settings.connections
    assert (connection.conn_id, connection.conn_type, connection.conn_host, connection.conn_schema) == (
        "warehouse", "postgres", "db.example.com", "analytics",
    )  # fmt: skip
    assert (connection.conn_login, connection.conn_port, connection.conn_description) == (
        "loader", 5432, "the warehouse",
    )  # fmt: skip
    assert connection.conn_password is not None and connection.conn_password.get_secret_value() == SECRET
    assert SECRET not in repr(settings)
    assert connection.conn_extra == {"sslmode": "require", "options": {"search_path": "raw"}}
    assert connection.extra_json() == '{"sslmode": "require", "options": {"search_path": "raw"}}'
    (variable,) = settings.variables
    assert (variable.variable_name, variable.variable_value.get_secret_value()) == ("batch_size", "500")
    (pool,) = settings.pools
    assert (pool.pool_name, pool.pool_slot, pool.pool_description) == ("api_calls", 3, "rate-limited API")


def test_conn_extra_as_a_json_string_reads_as_the_same_mapping() -> None:
    settings = parse_settings(
        """
airflow:
  connections:
    - conn_id: as_mapping
      conn_type: http
      conn_extra:
        timeout: 10
        verify: false
    - conn_id: as_json
      conn_type: http
      conn_extra: '{"timeout": 10, "verify": false}'
""",
        source=SOURCE,
    )
    assert [c.conn_extra for c in settings.connections] == [{"timeout": 10, "verify": False}] * 2


def test_the_placeholders_astro_dev_init_writes_are_skipped() -> None:
    assert parse_settings(ASTRO_INIT_TEMPLATE, source=SOURCE) == ProjectSettings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"""
airflow:
  connections:
    - {{conn_id: first, conn_type: http, conn_password: {SECRET}}}
    - {{conn_id: second, conn_type: http}}
    - {{conn_id: third, conn_password: {SECRET}}}
""",
            f"{SOURCE}: connections[2] (conn_id=third): conn_type: missing; add `conn_type:` to the entry",
        ),
        (
            f"airflow:\n  connections:\n    - {{conn_id: db, conn_type: postgres, conn_passwd: {SECRET}}}\n",
            f"{SOURCE}: connections[0] (conn_id=db): conn_passwd: unknown field; "
            "did you mean `conn_password`? the fields are conn_id, conn_type, conn_host, conn_schema, "
            "conn_login, conn_password, conn_port, conn_extra, conn_description",
        ),
        (
            "airflow:\n  connections:\n    - {conn_id: db, conn_type: postgres, conn_port: 70000}\n",
            f"{SOURCE}: connections[0] (conn_id=db): conn_port: Input should be less than or equal to 65535; "
            "write a port number such as 5432",
        ),
        (
            f"airflow:\n  connections:\n    - conn_id: api\n      conn_type: http\n"
            f"      conn_extra: '{{\"token\": \"{SECRET}\",}}'\n",
            f"{SOURCE}: connections[0] (conn_id=api): conn_extra: a string that is not valid JSON "
            "(Expecting property name enclosed in double quotes at line 1, column 28); write a mapping "
            "under conn_extra, or a JSON object in quotes",
        ),
        (
            f"airflow:\n  connections:\n    - {{conn_id: api, conn_type: http, conn_extra: [{SECRET}]}}\n",
            f"{SOURCE}: connections[0] (conn_id=api): conn_extra: must be a mapping (key: value lines) or a "
            "JSON object string",
        ),
        (
            f"airflow:\n  connections:\n"
            f"    - {{conn_id: db, conn_type: x, conn_password: {{nested: {SECRET}}}}}\n",
            f"{SOURCE}: connections[0] (conn_id=db): conn_password: Input should be a valid string",
        ),
        (
            f"airflow:\n  variables:\n    - {{variable_name: token, variable_value: {SECRET}}}\n"
            "    - {variable_name: empty}\n",
            f"{SOURCE}: variables[1] (variable_name=empty): variable_value: missing; "
            "add `variable_value:` to the entry",
        ),
        (
            "airflow:\n  pools:\n    - {pool_name: api, pool_slot: many}\n",
            f"{SOURCE}: pools[0] (pool_name=api): pool_slot: Input should be a valid integer, "
            "unable to parse string as an integer; write a whole number of slots (-1 for unlimited)",
        ),
        (
            "airflow:\n  pools:\n    - {pool_slot: 3}\n",
            f"{SOURCE}: pools[0]: pool_name: missing; add `pool_name:` to the entry",
        ),
        (
            f"airflow:\n  connections:\n    - {{conn_id: db, conn_type: x}}\n"
            f"    - {{conn_id: db, conn_type: x, conn_password: {SECRET}}}\n",
            f"{SOURCE}: connections[1] (conn_id=db): conn_id: also used by connections[0] (conn_id=db); keep "
            "one entry per conn_id",
        ),
        (
            "airflow:\n  connections:\n    conn_id: db\n",
            f"{SOURCE}: airflow.connections: must be a list; start each entry with `- conn_id: ...`",
        ),
        (
            f"airflow:\n  variables:\n    - {SECRET}\n",
            f"{SOURCE}: variables[0]: must be a mapping of fields, e.g. `- variable_name: ...`",
        ),
        (
            "airflow:\n  connection: []\n",
            f"{SOURCE}: airflow: must hold only connections, variables and pools (found connection)",
        ),
        (
            "connections: []\n",
            f"{SOURCE}: the top level must be one `airflow:` key holding connections, variables and pools",
        ),
        (
            f"airflow:\n  connections:\n    - conn_id: db\n"
            f"      conn_password: {SECRET}\n     conn_type: x\n",
            f"{SOURCE}: not valid YAML at line 5, column 6: expected <block end>, but found '<block mapping "
            "start>'; check the indentation and quote values containing `: ` or `#`",
        ),
    ],
    ids=[
        "third-entry-missing-field", "misspelt-field", "port-out-of-range", "extra-bad-json",
        "extra-not-mapping", "password-not-text", "variable-without-value", "pool-slot-not-number",
        "entry-without-name", "duplicate-conn-id", "section-not-list", "entry-not-mapping",
        "unknown-section", "no-airflow-key", "yaml-syntax",
    ],
)  # fmt: skip
def test_each_problem_names_file_entry_field_and_fix_never_the_secret(text: str, expected: str) -> None:
    message = _error(text)
    assert message == expected
    assert SECRET not in message and "\n" not in message


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    message = _error(
        "airflow:\n  connections:\n    - {conn_id: a}\n  pools:\n    - {pool_name: p, pool_slot: x}\n"
    )
    assert message.startswith(f"{SOURCE}: connections[0] (conn_id=a): conn_type: missing;")
    assert "; pools[0] (pool_name=p): pool_slot: Input should be a valid integer" in message


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "airflow_settings.yaml"
    with pytest.raises(ProjectSettingsError, match=r"airflow_settings.yaml: cannot be read \(No such file"):
        load_settings(missing)
