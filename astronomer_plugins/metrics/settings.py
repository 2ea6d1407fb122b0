"""The Airflow settings that turn on deployment-tagged statsd, derived from [astronomer].

Used by the local runtime (and the image's entrypoint) so both configure it the same way.
"""

from __future__ import annotations

from astronomer_plugins.metrics import TAGGED_CLIENT_PATH


def airflow_statsd_environment(statsd_host: str, statsd_port: str | int = 8125) -> dict[str, str]:
    """AIRFLOW__METRICS__* variables for tagged statsd; empty when no statsd host is set (off)."""
    if not statsd_host:
        return {}
    port = str(statsd_port or 8125)
    if not port.isdigit() or not 0 < int(port) < 65536:
        from astronomer_plugins import config
        from astronomer_plugins.errors import AstronomerConfigError

        option = config.STATSD_PORT
        raise AstronomerConfigError(
            f"[{config.SECTION}] {option.key} = {port!r}: expected a UDP port ({option.env_var})"
        )
    return {
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": statsd_host,
        "AIRFLOW__METRICS__STATSD_PORT": port,
        "AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH": TAGGED_CLIENT_PATH,
        # Airflow then passes its per-metric tags in the name (`name,key=value`); our client turns
        # them into DogStatsD tags.
        "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
    }
