"""The Airflow settings that point Airflow's OpenLineage provider at the deployment's lineage backend,
derived from [astronomer] openlineage_* (see `derived_settings`)."""

from __future__ import annotations

import json


def airflow_openlineage_environment(
    url: str, *, endpoint: str, api_key: str, namespace: str
) -> dict[str, str]:
    """AIRFLOW__OPENLINEAGE__* variables: an HTTP transport to `url`, or disabled when `url` is empty
    (the provider then emits nothing and warns about nothing)."""
    if not url:
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    if not url.startswith(("https://", "http://")):
        from astronomer_plugins import config
        from astronomer_plugins.errors import AstronomerConfigError

        # user:password@host stays hidden
        shown = "<a value with credentials>" if "@" in url else repr(url[:200])
        raise AstronomerConfigError(
            f"[{config.SECTION}] {config.OPENLINEAGE_URL.key} = {shown}: expected an http(s) URL "
            f"({config.OPENLINEAGE_URL.env_var})"
        )
    transport: dict[str, object] = {"type": "http", "url": url.rstrip("/"), "endpoint": endpoint.strip("/")}
    if api_key:
        transport["auth"] = {"type": "api_key", "apiKey": api_key}
    return {
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": namespace or "default",
    }
