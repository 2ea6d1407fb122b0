"""Roles to permissions as a literal table, and every Airflow enum value mapped explicitly."""

from __future__ import annotations

import pytest
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity, DagDetails
from airflow.api_fastapi.common.types import MenuItem

from astronomer_plugins.auth import permissions
from astronomer_plugins.auth.manager import AstronomerAuthManager
from astronomer_plugins.auth.permissions import Level
from astronomer_plugins.auth.user import AstroUser


def user(kind: str = "user", **roles: object) -> AstroUser:
    return AstroUser(user_id="u1", name="U", kind=kind, roles=dict(roles))


@pytest.mark.parametrize(
    ("identity", "level"),
    [
        (user(organization="ORGANIZATION_MEMBER"), Level.NONE),
        (user(organization="ORGANIZATION_BILLING_ADMIN"), Level.NONE),
        (user(), Level.NONE),
        (user(organization="ORGANIZATION_MEMBER", workspace="WORKSPACE_MEMBER"), Level.MEMBER),
        (user(workspace="WORKSPACE_AUTHOR"), Level.AUTHOR),
        (user(workspace="WORKSPACE_OPERATOR"), Level.OPERATOR),
        (user(workspace="WORKSPACE_OWNER"), Level.OWNER),
        (user(organization="ORGANIZATION_OWNER"), Level.OWNER),
        (user(deployment="DEPLOYMENT_ADMIN", workspace="WORKSPACE_MEMBER"), Level.OWNER),
        (user("api_token", deployment="DEPLOYMENT_ADMIN"), Level.OPERATOR),  # deployment API tokens: operators
        (user("api_token", workspace="WORKSPACE_MEMBER"), Level.MEMBER),
        (user("api_token", organization="ORGANIZATION_OWNER"), Level.OWNER),
        (user("api_token", workspace="WORKSPACE_OPERATOR", dags=[{"role": "WORKSPACE_OPERATOR", "prefix": "etl_"}],
              dags_only=True), Level.NONE),  # fmt: skip
    ],
)
def test_identity_levels(identity: AstroUser, level: Level) -> None:
    assert identity.level is level


MANAGER = AstronomerAuthManager()
M, A, O, W = (user(workspace=r) for r in ("WORKSPACE_MEMBER", "WORKSPACE_AUTHOR", "WORKSPACE_OPERATOR", "WORKSPACE_OWNER"))
DAG = DagDetails(id="etl_orders")


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        # what           member author operator owner
        ("dag GET", (True, True, True, True)),
        ("dag run POST", (False, True, True, True)),  # trigger
        ("dag PUT", (False, True, True, True)),  # pause / unpause
        ("task instance PUT", (False, True, True, True)),  # mark / clear
        ("dag DELETE", (False, False, True, True)),
        ("task logs GET", (True, True, True, True)),
        ("asset GET", (True, True, True, True)),
        ("variable GET", (False, True, True, True)),
        ("variable POST", (False, False, True, True)),
        ("pool GET", (False, True, True, True)),
        ("pool DELETE", (False, False, True, True)),
        ("connection GET", (False, False, True, True)),
        ("connection PUT", (False, False, True, True)),
        ("configuration GET", (False, False, True, True)),
        ("configuration PUT", (False, False, False, True)),
        ("view PROVIDERS", (True, True, True, True)),
        ("custom view GET", (True, True, True, True)),
        ("custom view POST", (False, False, False, True)),
    ],
)
def test_permission_table(check: str, expected: tuple[bool, bool, bool, bool]) -> None:
    def allowed(u: AstroUser) -> bool:
        return {
            "dag GET": lambda: MANAGER.is_authorized_dag(method="GET", user=u, details=DAG),
            "dag run POST": lambda: MANAGER.is_authorized_dag(method="POST", user=u, access_entity=DagAccessEntity.RUN, details=DAG),
            "dag PUT": lambda: MANAGER.is_authorized_dag(method="PUT", user=u, details=DAG),
            "task instance PUT": lambda: MANAGER.is_authorized_dag(method="PUT", user=u, access_entity=DagAccessEntity.TASK_INSTANCE, details=DAG),
            "dag DELETE": lambda: MANAGER.is_authorized_dag(method="DELETE", user=u, details=DAG),
            "task logs GET": lambda: MANAGER.is_authorized_dag(method="GET", user=u, access_entity=DagAccessEntity.TASK_LOGS, details=DAG),
            "asset GET": lambda: MANAGER.is_authorized_asset(method="GET", user=u),
            "variable GET": lambda: MANAGER.is_authorized_variable(method="GET", user=u),
            "variable POST": lambda: MANAGER.is_authorized_variable(method="POST", user=u),
            "pool GET": lambda: MANAGER.is_authorized_pool(method="GET", user=u),
            "pool DELETE": lambda: MANAGER.is_authorized_pool(method="DELETE", user=u),
            "connection GET": lambda: MANAGER.is_authorized_connection(method="GET", user=u),
            "connection PUT": lambda: MANAGER.is_authorized_connection(method="PUT", user=u),
            "configuration GET": lambda: MANAGER.is_authorized_configuration(method="GET", user=u),
            "configuration PUT": lambda: MANAGER.is_authorized_configuration(method="PUT", user=u),
            "view PROVIDERS": lambda: MANAGER.is_authorized_view(access_view=AccessView.PROVIDERS, user=u),
            "custom view GET": lambda: MANAGER.is_authorized_custom_view(method="GET", resource_name="Runtime", user=u),
            "custom view POST": lambda: MANAGER.is_authorized_custom_view(method="POST", resource_name="Runtime", user=u),
        }[check]()

    assert tuple(allowed(u) for u in (M, A, O, W)) == expected
    assert not allowed(user(organization="ORGANIZATION_MEMBER"))


def test_every_access_view_dag_entity_and_menu_item_is_mapped() -> None:
    assert set(permissions.VIEW_LEVELS) == set(AccessView), "map the new AccessView values in permissions.py"
    assert set(permissions.DAG_ENTITY_LEVELS) == set(DagAccessEntity), "map the new DagAccessEntity values"
    assert set(permissions.MENU_LEVELS) == set(MenuItem), "map the new MenuItem values in permissions.py"


def test_dag_grants_raise_access_on_matching_dags_only() -> None:
    member = user(workspace="WORKSPACE_MEMBER", dags=[{"role": "WORKSPACE_OPERATOR", "prefix": "etl_"}])
    assert MANAGER.is_authorized_dag(method="POST", user=member, access_entity=DagAccessEntity.RUN, details=DAG)
    assert not MANAGER.is_authorized_dag(
        method="POST", user=member, access_entity=DagAccessEntity.RUN, details=DagDetails(id="report_daily")
    )
    granted_only = user(organization="ORGANIZATION_MEMBER", dags=[{"role": "WORKSPACE_MEMBER", "dag_id": "etl_orders"}])
    ids = {"etl_orders", "etl_users", "report_daily"}
    assert MANAGER.filter_authorized_dag_ids(dag_ids=ids, user=granted_only) == {"etl_orders"}
    assert MANAGER.filter_authorized_dag_ids(dag_ids=ids, user=O) == ids
    assert MANAGER.filter_authorized_menu_items(list(MenuItem), user=granted_only) == [MenuItem.DAGS]
    assert MenuItem.CONNECTIONS not in MANAGER.filter_authorized_menu_items(list(MenuItem), user=A)
    assert MenuItem.CONNECTIONS in MANAGER.filter_authorized_menu_items(list(MenuItem), user=O)


def test_unknown_resource_method_pairs_fail_closed() -> None:
    assert permissions.required_level("something-new", "GET") is Level.OWNER
