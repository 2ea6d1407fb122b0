"""DogStatsD tags: sanitised keys and values, and the constant tags of this process.

A tag value comes from DAG ids, task ids, operator names or settings; `|`, `#`, `,`, `:` (and
anything else outside a small safe set) would change the meaning of a statsd line, so they are
replaced, never escaped: statsd parsers have no escaping.
"""

from __future__ import annotations

import functools
import re
import sys

MAX_TAG_LENGTH = 200
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_.\-]")
_UNSAFE_VALUE = re.compile(r"[^A-Za-z0-9_.\-/]")

# Which Airflow component this process is; the listener's on_starting sets it precisely
# (task runners are forked from the scheduler under LocalExecutor, so argv alone would lie).
_component: str | None = None


@functools.lru_cache(maxsize=4096)
def sanitize_key(key: str) -> str:
    """A tag key statsd, statsd_exporter and Datadog read the same way ('' when nothing is left)."""
    return _UNSAFE_KEY.sub("_", str(key).strip())[:MAX_TAG_LENGTH].strip("_")


@functools.lru_cache(maxsize=4096)
def sanitize_value(value: object) -> str:
    """A tag value without separators; cached because DAG and task ids repeat."""
    return _UNSAFE_VALUE.sub("_", str(value).strip())[:MAX_TAG_LENGTH]


def format_tags(tags: dict[str, object] | tuple[tuple[str, object], ...]) -> str:
    """`key:value,...` with sanitised parts; tags whose key or value ends up empty are left out."""
    items = tags.items() if isinstance(tags, dict) else tags
    parts = []
    for key, value in items:
        clean_key, clean_value = sanitize_key(key), sanitize_value(value)
        if clean_key and clean_value:
            parts.append(f"{clean_key}:{clean_value}")
    return ",".join(parts)


def set_component(component: str) -> None:
    """Record which component this process is (called from the listener's on_starting)."""
    global _component
    _component = component


def current_component() -> str:
    if _component is not None:
        return _component
    from astronomer_plugins.agent import identity

    args = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    for arg in args[:2]:  # `airflow scheduler`, also `airflow celery worker`
        kind = identity.KIND_BY_COMMAND.get(arg) or (arg if arg == identity.WORKER else None)
        if kind:
            return kind
    return "unknown"


def parse_extra_tags(text: str) -> dict[str, str]:
    """`[astronomer] metrics_extra_tags`: `key:value,key2:value2`; a pair without ':' is an error."""
    from astronomer_plugins import config
    from astronomer_plugins.errors import AstronomerConfigError

    tags: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            raise AstronomerConfigError(
                f"[{config.SECTION}] {config.METRICS_EXTRA_TAGS.key}: {pair!r} is not key:value "
                f"({config.METRICS_EXTRA_TAGS.env_var})"
            )
        tags[key.strip()] = value.strip()
    return tags


def constant_tags(component: str) -> dict[str, str]:
    """The tags every metric of this process carries; settings are read when called."""
    from astronomer_plugins import config

    tags = {
        "organization": config.get(config.ORGANIZATION_ID),
        "workspace": config.get(config.WORKSPACE_ID),
        "deployment": config.get(config.DEPLOYMENT_ID),
        "component": component,
        "runtime_version": config.get(config.RUNTIME_VERSION),
    }
    for key, value in parse_extra_tags(config.get(config.METRICS_EXTRA_TAGS)).items():
        tags.setdefault(key, value)  # the deployment's identity cannot be overridden
    return tags
