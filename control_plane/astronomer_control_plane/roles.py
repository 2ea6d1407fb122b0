"""Astro's role names, which scope each belongs to, and their order within a scope."""

from __future__ import annotations

ORGANIZATION_ROLES = ("ORGANIZATION_MEMBER", "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_OWNER")
WORKSPACE_ROLES = ("WORKSPACE_MEMBER", "WORKSPACE_AUTHOR", "WORKSPACE_OPERATOR", "WORKSPACE_OWNER")
DEPLOYMENT_ROLES = ("DEPLOYMENT_ADMIN",)
# DAG-level grants reuse the workspace roles' names for what they allow on the selected DAGs.
DAG_ROLES = ("WORKSPACE_MEMBER", "WORKSPACE_AUTHOR", "WORKSPACE_OPERATOR")

ROLES_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "organization": ORGANIZATION_ROLES,
    "workspace": WORKSPACE_ROLES,
    "deployment": DEPLOYMENT_ROLES,
}


def valid_role(scope: str, role: str) -> bool:
    return role in ROLES_BY_SCOPE.get(scope, ())


def highest(scope: str, roles: list[str]) -> str | None:
    """The strongest of `roles` within a scope (None when empty)."""
    order = ROLES_BY_SCOPE[scope]
    ranked = [role for role in roles if role in order]
    return max(ranked, key=order.index) if ranked else None
