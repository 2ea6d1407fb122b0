"""Airflow's own settings derived from [astronomer] ones, for whatever starts Airflow's processes: the
image's entrypoint (`python -m astronomer_plugins.derived_settings` prints shell exports) and the local
runtime. A deployment sets `AIRFLOW__ASTRONOMER__STATSD_HOST` or `..._OPENLINEAGE_URL` and Airflow's
[metrics] / [openlineage] follow; a setting the environment already has always wins, so a deployment
can override any single one of them.

Only the environment is read: this runs before Airflow (and its airflow.cfg) is loaded.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping

from astronomer_plugins import config
from astronomer_plugins.errors import AstronomerConfigError
from astronomer_plugins.lineage_settings import airflow_openlineage_environment
from astronomer_plugins.metrics.settings import airflow_statsd_environment


def derived_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The AIRFLOW__METRICS__* and AIRFLOW__OPENLINEAGE__* variables to add to `environ`."""

    def value(option: config.Option) -> str:
        return environ.get(option.env_var, option.default or "")

    derived = {
        **airflow_statsd_environment(value(config.STATSD_HOST), value(config.STATSD_PORT)),
        **airflow_openlineage_environment(
            value(config.OPENLINEAGE_URL),
            endpoint=value(config.OPENLINEAGE_ENDPOINT),
            api_key=value(config.OPENLINEAGE_API_KEY),
            namespace=value(config.OPENLINEAGE_NAMESPACE) or value(config.DEPLOYMENT_ID),
        ),
    }
    return {name: setting for name, setting in derived.items() if name not in environ}


def main() -> int:
    """Print `export NAME=value` lines for the entrypoint to eval; a bad setting stops the container
    with one line naming it (never a secret: only a port or a URL without credentials is echoed)."""
    try:
        derived = derived_environment(os.environ)
    except AstronomerConfigError as exc:
        print(f"astro-entrypoint: {exc}", file=sys.stderr)
        return 1
    for name, setting in derived.items():
        print(f"export {name}={shlex.quote(setting)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
