"""The user of a request: a person or an API token of the control plane."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

from astronomer_plugins.auth.permissions import DEPLOYMENT_API_TOKEN_LEVEL, ROLE_LEVELS, Level


SCOPES = ("organization", "workspace", "deployment")


@dataclass(frozen=True)
class DagGrantRule:
    level: Level
    dag_id: str | None = None
    prefix: str | None = None
    tag: str | None = None

    def matches(self, dag_id: str, tags: frozenset[str]) -> bool:
        if self.dag_id is not None:
            return dag_id == self.dag_id
        if self.prefix is not None:
            return dag_id.startswith(self.prefix)
        return self.tag is not None and self.tag in tags


@dataclass(frozen=True)
class AstroUser(BaseUser):
    """Built from verified claims; `level` is this deployment's access level before DAG grants."""

    user_id: str
    name: str
    email: str = ""
    kind: str = "user"
    organization_id: str = ""
    roles: dict[str, Any] = field(default_factory=dict)  # the astro_roles claim, as sent
    source_jti: str = ""  # the control-plane token's jti (revocation applies to derived sessions)

    def get_id(self) -> str:
        return self.user_id

    def get_name(self) -> str:
        return self.name or self.email or self.user_id

    def _role_level(self, scope: str, role: str) -> Level:
        if self.kind == "api_token" and scope == "deployment":
            return DEPLOYMENT_API_TOKEN_LEVEL
        return ROLE_LEVELS.get(role, Level.NONE)

    @property
    def level(self) -> Level:
        if self.limited_to_dags:
            return Level.NONE
        scoped = [self._role_level(scope, self.roles[scope]) for scope in SCOPES if self.roles.get(scope)]
        return max(scoped, default=Level.NONE)

    @property
    def dag_grants(self) -> tuple[DagGrantRule, ...]:
        rules = []
        for grant in self.roles.get("dags", []):
            rules.append(
                DagGrantRule(
                    self._role_level("dag", grant.get("role", "")),
                    grant.get("dag_id"), grant.get("prefix"), grant.get("tag"),
                )
            )  # fmt: skip
        return tuple(rules)

    @property
    def limited_to_dags(self) -> bool:
        """A DAG-scoped API token reaches only its granted DAGs, at the token's role."""
        return bool(self.roles.get("dags_only"))

    @property
    def needs_tags(self) -> bool:
        return any(rule.tag is not None for rule in self.dag_grants)

    def reaches_some_dag(self, needed: Level) -> bool:
        return self.level >= needed or any(rule.level >= needed for rule in self.dag_grants)

    def dag_level(self, dag_id: str, tags: frozenset[str] = frozenset()) -> Level:
        granted = [rule.level for rule in self.dag_grants if rule.matches(dag_id, tags)]
        return max([self.level, *granted])
