"""Customer projects built FROM the Runtime image: the ONBUILD contract, for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from astronomer_runtime.image.engine import Buildah, BuildRequest
from astronomer_runtime.image.errors import ImageBuildError
from tests.projects import write_project
from tests.runtime.image.conftest import DEBIAN_PACKAGE, PROVIDER, PROVIDER_VERSION
from tests.runtime.image.drivers import BuildahDriver

pytestmark = pytest.mark.image


def test_requirements_are_installed(customer_container: BuildahDriver) -> None:
    result = customer_container.run(["pip", "show", PROVIDER])
    assert result.returncode == 0, result.stderr
    assert f"Version: {PROVIDER_VERSION}" in result.stdout


def test_airflow_stays_the_releases(customer_container: BuildahDriver, release) -> None:
    assert customer_container.run(["airflow", "version"]).stdout.strip() == release.airflow
    assert customer_container.run(["pip", "check"]).returncode == 0


def test_packages_are_installed(customer_container: BuildahDriver) -> None:
    result = customer_container.run([DEBIAN_PACKAGE, "--version"])
    assert result.returncode == 0, result.stderr


def test_project_is_copied_owned_by_astro(customer_container: BuildahDriver) -> None:
    result = customer_container.run(["stat", "-c", "%u:%g %n", "dags/example_runtime_hello.py",
                                     "include/data.csv", "airflow_settings.yaml"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {line.split()[0] for line in result.stdout.splitlines()} == {"50000:0"}
    assert customer_container.config["User"] == "50000"


def test_pinning_airflow_fails_with_a_clear_message(engine: Buildah, runtime_image: str, tmp_path: Path) -> None:
    project = write_project(tmp_path / "pinned", base_image=runtime_image, requirements="apache-airflow==2.10.5\npendulum<2\n")
    with pytest.raises(ImageBuildError) as failure:
        engine.build(BuildRequest(context=project, tag="localhost/customer/pinned:test", cache=False))
    message = failure.value.output
    assert "requirements.txt line 1: 'apache-airflow==2.10.5' pins apache-airflow" in message
    assert "change the Runtime release in your FROM line instead" in message
    # Every refused line is named, not only the first (the local project environment says the same).
    assert "requirements.txt line 2: 'pendulum<2' conflicts with Runtime" in message
