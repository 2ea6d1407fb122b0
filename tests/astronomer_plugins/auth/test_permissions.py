"""Roles to permissions as a literal table, and every Airflow enum value mapped explicitly."""

from __future__ import annotations

import pytest
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity, DagDetails
from airflow.api_fastapi.common.types import MenuItem

from astronomer_plugins.auth import permissions
from astronomer_plugins.auth.manager import AstronomerAuthManager
from astronomer_plugins.auth.permissions import Level
from astronomer_plugins.auth import manager as manager_module
from astronomer_plugins.auth.user import AstroUser, DagGrantRule, MalformedRoles, parse_roles


def user(kind: str = "user", **roles: object) -> AstroUser:
    return AstroUser(user_id="u1", name="U", kind=kind, roles=parse_roles(roles))


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
    assert permissions.DAG_ENTITIES_AT_DAG_LEVEL == set(DagAccessEntity), "map the new DagAccessEntity values"
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


@pytest.mark.parametrize(
    ("identity", "grants"),
    [
        (user(workspace="WORKSPACE_MEMBER"), ()),
        (user(dags=[{"role": "WORKSPACE_AUTHOR", "dag_id": "etl_orders"}, {"role": "WORKSPACE_OWNER", "tag": "finance"}]),
         (DagGrantRule(Level.AUTHOR, dag_id="etl_orders"), DagGrantRule(Level.OWNER, tag="finance"))),
        (user(dags=[{"role": "ORGANIZATION_MEMBER", "prefix": "etl_"}, {"role": "NO_SUCH_ROLE", "prefix": "x"}]),
         (DagGrantRule(Level.NONE, prefix="etl_"), DagGrantRule(Level.NONE, prefix="x"))),
        (user("api_token", workspace="WORKSPACE_OPERATOR", dags=[{"role": "WORKSPACE_OPERATOR", "prefix": "etl_"}],
              dags_only=True), (DagGrantRule(Level.OPERATOR, prefix="etl_"),)),
    ],
)  # fmt: skip
def test_dag_grants(identity: AstroUser, grants: tuple[DagGrantRule, ...]) -> None:
    assert identity.dag_grants == grants


def test_level_and_grants_are_worked_out_once_when_the_user_is_built() -> None:
    built = user(workspace="WORKSPACE_AUTHOR", dags=[{"role": "WORKSPACE_OWNER", "tag": "finance"}])
    assert vars(built)["level"] is Level.AUTHOR  # stored on the user, not a property computed per check
    assert vars(built)["dag_grants"] == (DagGrantRule(Level.OWNER, tag="finance"),)


@pytest.mark.parametrize(
    "roles",
    [["WORKSPACE_OWNER"], "WORKSPACE_OWNER", {"workspace": 3}, {"workspace": "WORKSPACE_MEMBER", "superuser": True},
     {"dags": {"role": "WORKSPACE_OWNER"}}, {"dags": ["WORKSPACE_OWNER"]}, {"dags": [{"prefix": "etl_"}]},
     {"dags": [{"role": "WORKSPACE_OWNER"}]}, {"dags": [{"role": "WORKSPACE_OWNER", "prefix": "a", "tag": "b"}]},
     {"dags_only": "yes"}],
)  # fmt: skip
def test_malformed_roles_are_refused(roles: object) -> None:
    with pytest.raises(MalformedRoles, match="astro_roles claim is malformed"):
        parse_roles(roles)


@pytest.fixture
def tag_queries(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """Each call of the manager's tag query, with the DAG ids it asked for (tags are literal here)."""
    tags = {"etl_orders": frozenset({"finance"}), "report_daily": frozenset({"reports"})}
    calls: list[set[str]] = []

    def dag_tags(dag_ids: set[str] | list[str]) -> dict[str, frozenset[str]]:
        calls.append(set(dag_ids))
        return {dag_id: tags[dag_id] for dag_id in dag_ids if dag_id in tags}

    monkeypatch.setattr(manager_module, "_dag_tags", dag_tags)
    return calls


TAGGED = user(organization="ORGANIZATION_MEMBER", dags=[{"role": "WORKSPACE_AUTHOR", "tag": "finance"}])
IDS = {"etl_orders", "etl_users", "report_daily"}


def test_list_filtering_with_tag_grants_asks_for_tags_once(tag_queries: list[set[str]]) -> None:
    assert MANAGER.filter_authorized_dag_ids(dag_ids=IDS, user=TAGGED) == {"etl_orders"}
    assert tag_queries == [IDS]


def test_batch_checks_with_tag_grants_ask_for_tags_once(tag_queries: list[set[str]]) -> None:
    def batch(*dag_ids: str) -> bool:
        requests = [{"method": "POST", "access_entity": DagAccessEntity.RUN, "details": DagDetails(id=d)} for d in dag_ids]
        return MANAGER.batch_is_authorized_dag(requests, user=TAGGED)

    assert batch("etl_orders")
    assert not batch("etl_orders", "etl_users", "report_daily")
    assert tag_queries == [{"etl_orders"}, IDS]


def test_users_without_tag_grants_never_ask_for_tags(tag_queries: list[set[str]]) -> None:
    MANAGER.filter_authorized_dag_ids(dag_ids=IDS, user=user(workspace="WORKSPACE_MEMBER"))
    MANAGER.batch_is_authorized_dag([{"method": "GET", "details": DagDetails(id="etl_orders")}], user=A)
    assert tag_queries == []


def test_unknown_resource_method_pairs_fail_closed() -> None:
    assert permissions.required_level("something-new", "GET") is Level.OWNER
