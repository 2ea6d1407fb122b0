"""The user of a request: a person or an API token of the control plane, built once per token from
verified claims (its level and DAG grants are worked out here, not at every permission check)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from pydantic import ValidationError

from astronomer_plugins.auth.permissions import DEPLOYMENT_API_TOKEN_LEVEL, ROLE_LEVELS, Level
from astronomer_plugins.control_plane.models import AstroRoles


class MalformedRoles(ValueError):
    """The `astro_roles` claim does not match the wire model (a bad token, never a server error)."""


def parse_roles(raw: object) -> AstroRoles:
    """The `astro_roles` claim as the wire model, strictly (no coercion of "yes" to True); every DAG
    grant names exactly one selector. The message names what is wrong, never the values."""
    try:
        roles = AstroRoles.model_validate(raw, strict=True)
    except ValidationError as exc:
        where = ", ".join(".".join(str(part) for part in error["loc"]) or "claim" for error in exc.errors())
        raise MalformedRoles(f"the token's astro_roles claim is malformed ({where[:200]})") from None
    for index, grant in enumerate(roles.dags):
        if sum(value is not None for value in (grant.dag_id, grant.prefix, grant.tag)) != 1:
            raise MalformedRoles(
                f"the token's astro_roles claim is malformed (dags.{index}: give exactly one selector)"
            )
    return roles


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


def _role_level(kind: str, scope: str, role: str) -> Level:
    if kind == "api_token" and scope == "deployment":
        return DEPLOYMENT_API_TOKEN_LEVEL
    return ROLE_LEVELS.get(role, Level.NONE)


def user_level(kind: str, roles: AstroRoles) -> Level:
    """This deployment's access level before DAG grants; NONE for a DAG-scoped API token."""
    if roles.dags_only:
        return Level.NONE
    scoped = [(scope, getattr(roles, scope)) for scope in ("organization", "workspace", "deployment")]
    return max((_role_level(kind, scope, role) for scope, role in scoped if role), default=Level.NONE)


def dag_grant_rules(kind: str, roles: AstroRoles) -> tuple[DagGrantRule, ...]:
    return tuple(
        DagGrantRule(_role_level(kind, "dag", grant.role), grant.dag_id, grant.prefix, grant.tag)
        for grant in roles.dags
    )


@dataclass(frozen=True)
class AstroUser(BaseUser):
    """`level` is this deployment's access level before DAG grants; `level` and `dag_grants` are
    derived from `roles` when the user is built."""

    user_id: str
    name: str
    email: str = ""
    kind: str = "user"
    organization_id: str = ""
    roles: AstroRoles = field(default_factory=AstroRoles)
    source_jti: str = ""  # the control-plane token's jti (revocation applies to derived sessions)
    level: Level = field(init=False, compare=False)
    dag_grants: tuple[DagGrantRule, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", user_level(self.kind, self.roles))
        object.__setattr__(self, "dag_grants", dag_grant_rules(self.kind, self.roles))

    def get_id(self) -> str:
        return self.user_id

    def get_name(self) -> str:
        return self.name or self.email or self.user_id

    @property
    def needs_tags(self) -> bool:
        return any(rule.tag is not None for rule in self.dag_grants)

    def reaches_some_dag(self, needed: Level) -> bool:
        return self.level >= needed or any(rule.level >= needed for rule in self.dag_grants)

    def dag_level(self, dag_id: str, tags: frozenset[str] = frozenset()) -> Level:
        granted = [rule.level for rule in self.dag_grants if rule.matches(dag_id, tags)]
        return max([self.level, *granted])


def user_from_claims(claims: dict[str, Any]) -> AstroUser:
    """Both control-plane claims and our own Airflow tokens carry the same fields; raises
    MalformedRoles (a ValueError) for an `astro_roles` claim that is not the wire model."""
    return AstroUser(
        user_id=str(claims["sub"]),
        name=str(claims.get("name", "")),
        email=str(claims.get("email", "")),
        kind=str(claims.get("astro_kind", "user")),
        organization_id=str(claims.get("astro_org", "")),
        roles=parse_roles(claims.get("astro_roles", {})),
        source_jti=str(claims.get("astro_jti") or claims.get("jti") or ""),
    )


def roles_claim(user: AstroUser) -> dict[str, Any]:
    """`astro_roles` as the control plane writes it (for our own session tokens)."""
    return user.roles.model_dump(exclude_none=True, exclude_defaults=True)
