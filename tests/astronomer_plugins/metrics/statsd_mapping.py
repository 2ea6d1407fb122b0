"""A small matcher with statsd_exporter's mapping semantics, for testing runtime/statsd_exporter/mapping.yml.

Implements what our mapping file uses, as statsd_exporter documents it: glob rules (the name and the
pattern split on "."; the same number of components; "*" matches any run of non-dot characters;
`$n`/`${n}` refer to the n-th "*"), regex rules (`$n` to groups), `match_metric_type`
(counter | gauge | observer), the first matching rule wins; DogStatsD tags become labels, and a
rule's labels win over tags of the same name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

PROMETHEUS_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_REFERENCE = re.compile(r"\$\{(\d+)\}|\$(\d+)")
METRIC_TYPES = {"c": "counter", "g": "gauge", "ms": "observer", "h": "observer", "d": "observer"}


@dataclass(frozen=True)
class Mapped:
    name: str
    labels: dict[str, str]
    rule: int


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    name: str
    labels: dict[str, str]
    metric_type: str | None


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    parts = [re.escape(part).replace(r"\*", "([^.]*)") for part in glob.split(".")]
    return re.compile("^" + r"\.".join(parts) + "$")


def _expand(template: str, groups: tuple[str, ...]) -> str:
    return _REFERENCE.sub(lambda m: groups[int(m.group(1) or m.group(2)) - 1], template)


class Mapper:
    def __init__(self, path: Path) -> None:
        document = yaml.safe_load(path.read_text())
        default_type = document.get("defaults", {}).get("match_type", "glob")
        self.rules = []
        for entry in document["mappings"]:
            kind = entry.get("match_type", default_type)
            pattern = re.compile(entry["match"]) if kind == "regex" else _glob_to_regex(entry["match"])
            self.rules.append(Rule(pattern, entry["name"], dict(entry.get("labels", {})), entry.get("match_metric_type")))

    def map(self, name: str, metric_type: str, tags: dict[str, str] | None = None) -> Mapped | None:
        for index, rule in enumerate(self.rules):
            if rule.metric_type and rule.metric_type != metric_type:
                continue
            match = rule.pattern.match(name)
            if match:
                labels = dict(tags or {})
                labels.update({key: _expand(value, match.groups()) for key, value in rule.labels.items()})
                return Mapped(_expand(rule.name, match.groups()), labels, index)
        return None

    def map_line(self, line: str) -> Mapped | None:
        """A DogStatsD line: `name:value|type[|@rate]|#k:v,...`."""
        body, _, tag_text = line.partition("|#")
        name, _, rest = body.partition(":")
        metric_type = METRIC_TYPES[rest.split("|")[1]]
        tags = dict(pair.split(":", 1) for pair in tag_text.split(",") if pair)
        return self.map(name, metric_type, tags)
