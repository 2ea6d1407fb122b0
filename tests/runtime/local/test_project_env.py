"""The project's `.env` and the layering of the local runtime's environment: defaults < `.env` <
shell < the runtime's own wiring, which replaces a value only out loud; a bad `.env` starts nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from astronomer_runtime.local.home import LocalHome, environment, owned_settings
from astronomer_runtime.local.project_env import ProjectEnvError, read_dotenv, replaced
from astronomer_runtime.local.runner import run


def _home(tmp_path: Path, dotenv: str | None = None) -> LocalHome:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    if dotenv is not None:
        (project / ".env").write_text(dotenv)
    return LocalHome(path=tmp_path / "airflow", project=project)


def test_dotenv_reads_assignments_exports_quotes_and_comments(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    lines = ["# a comment", "", "PLAIN=1", "export EXPORTED=yes", 'QUOTED="a b # not a comment"']
    path.write_text("\n".join([*lines, "SINGLE='$HOME'", "EMPTY=", ""]))
    assert read_dotenv(path) == {
        "PLAIN": "1",
        "EXPORTED": "yes",
        "QUOTED": "a b # not a comment",
        "SINGLE": "$HOME",
        "EMPTY": "",
    }
    assert read_dotenv(tmp_path / "missing.env") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nthis is not an assignment\n", "line 2: not a KEY=value assignment; fix the line or"),
        ("A=1\nB=2\nLONELY\n", "line 3: LONELY has no '='; write LONELY= for an empty value"),
    ],
)
def test_a_bad_dotenv_line_is_named_with_its_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    with pytest.raises(ProjectEnvError) as error:
        read_dotenv(path)
    assert str(error.value).startswith(f"{path}, {message}")


def test_a_dotenv_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"A=\xff\xfe\n")
    with pytest.raises(ProjectEnvError, match="must be a UTF-8 text file"):
        read_dotenv(path)


def test_precedence_defaults_then_dotenv_then_shell_then_the_runtime_wiring(tmp_path: Path) -> None:
    home = _home(tmp_path)
    dotenv = {
        "AIRFLOW__CORE__PARALLELISM": "8",  # beats the default (4)
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",  # beaten by the shell below
        "AIRFLOW__API__PORT": "9999",  # owned: the runtime's port wins
        "PYTHONPATH": "/opt/from-dotenv",
        "MY_SETTING": "from-dotenv",
    }
    shell = {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW_HOME": "/somewhere/else"}
    env = environment(home, runtime_version="3.3-2", dotenv=dotenv, shell=shell)
    assert env["AIRFLOW__CORE__PARALLELISM"] == "8"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["MY_SETTING"] == "from-dotenv"
    assert env["AIRFLOW__API__PORT"] == str(home.port)
    assert env["AIRFLOW_HOME"] == str(home.path)
    assert env["PYTHONPATH"] == f"{home.project}:/opt/from-dotenv"  # the project root stays first
    defaults_only = environment(home, runtime_version="3.3-2", dotenv={}, shell={})
    assert defaults_only["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert "MY_SETTING" not in defaults_only


def test_only_owned_values_that_differ_are_reported(tmp_path: Path) -> None:
    home = _home(tmp_path)
    owned = owned_settings(home, runtime_version="3.3-2")
    sources = {"AIRFLOW__API__PORT": "9999", "AIRFLOW_HOME": str(home.path), "UNRELATED": "x"}
    assert replaced(owned, sources) == ["AIRFLOW__API__PORT"]


def test_a_bad_dotenv_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    home = _home(tmp_path, "GOOD=1\nnot an assignment\n")
    output = io.StringIO()
    assert run(home, runtime_version="3.3-2", control_plane=None, output=output) == 1
    dotenv = home.project / ".env"
    assert output.getvalue() == (
        f"error: {dotenv}, line 2: not a KEY=value assignment; fix the line or comment it out with #\n"
        "Nothing was started.\n"
    )
    assert not home.path.exists()  # not even AIRFLOW_HOME was prepared
