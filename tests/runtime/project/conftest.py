"""The project verbs keep their state (environments, AIRFLOW_HOME, logs) in a folder of this session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from astronomer_runtime.project.state import STATE_ROOT_VARIABLE


@pytest.fixture(scope="session", autouse=True)
def _state_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never the developer's ~/.local/state; child processes inherit the variable."""
    previous = os.environ.get(STATE_ROOT_VARIABLE)
    os.environ[STATE_ROOT_VARIABLE] = str(tmp_path_factory.mktemp("astro-runtime-state"))
    yield
    if previous is None:
        os.environ.pop(STATE_ROOT_VARIABLE, None)
    else:
        os.environ[STATE_ROOT_VARIABLE] = previous
