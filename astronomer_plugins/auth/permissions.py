"""Roles to permissions: the one table.

Each identity gets an access level for this deployment from its control-plane roles; every Airflow
resource and method needs a minimum level. DAG-level grants (by DAG id, prefix or tag) raise the
level on matching DAGs, and for a DAG-limited API token they are the only DAGs it can reach.
"""

from __future__ import annotations

from enum import IntEnum

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity
from airflow.api_fastapi.common.types import MenuItem


class Level(IntEnum):
    NONE = 0
    MEMBER = 1  # read what a viewer reads: DAGs, runs, task instances, logs, assets
    AUTHOR = 2  # + trigger, clear, mark runs and tasks, pause/unpause; read variables and pools
    OPERATOR = 3  # + connections, variables, pools (write), read configuration
    OWNER = 4  # everything


# Control-plane role -> level in this deployment.
ROLE_LEVELS: dict[str, Level] = {
    "ORGANIZATION_OWNER": Level.OWNER,  # organization owners act as workspace owners everywhere
    "ORGANIZATION_BILLING_ADMIN": Level.NONE,
    "ORGANIZATION_MEMBER": Level.NONE,
    "WORKSPACE_OWNER": Level.OWNER,
    "WORKSPACE_OPERATOR": Level.OPERATOR,
    "WORKSPACE_AUTHOR": Level.AUTHOR,
    "WORKSPACE_MEMBER": Level.MEMBER,
    "DEPLOYMENT_ADMIN": Level.OWNER,
}
# Deployment API tokens act as Workspace Operators (unless scoped lower by DAG grants).
DEPLOYMENT_API_TOKEN_LEVEL = Level.OPERATOR

# (resource, method) -> minimum level. Methods: GET, POST, PUT, DELETE.
RESOURCE_LEVELS: dict[tuple[str, str], Level] = {
    ("configuration", "GET"): Level.OPERATOR,
    ("configuration", "POST"): Level.OWNER,
    ("configuration", "PUT"): Level.OWNER,
    ("configuration", "DELETE"): Level.OWNER,
    ("connection", "GET"): Level.OPERATOR,
    ("connection", "POST"): Level.OPERATOR,
    ("connection", "PUT"): Level.OPERATOR,
    ("connection", "DELETE"): Level.OPERATOR,
    ("variable", "GET"): Level.AUTHOR,
    ("variable", "POST"): Level.OPERATOR,
    ("variable", "PUT"): Level.OPERATOR,
    ("variable", "DELETE"): Level.OPERATOR,
    ("pool", "GET"): Level.AUTHOR,
    ("pool", "POST"): Level.OPERATOR,
    ("pool", "PUT"): Level.OPERATOR,
    ("pool", "DELETE"): Level.OPERATOR,
    ("dag", "GET"): Level.MEMBER,
    ("dag", "POST"): Level.AUTHOR,  # trigger, clear
    ("dag", "PUT"): Level.AUTHOR,  # pause/unpause, mark runs and tasks
    ("dag", "DELETE"): Level.OPERATOR,
    ("asset", "GET"): Level.MEMBER,
    ("asset", "POST"): Level.AUTHOR,
    ("asset", "PUT"): Level.AUTHOR,
    ("asset", "DELETE"): Level.OPERATOR,
    ("asset_alias", "GET"): Level.MEMBER,
    ("asset_alias", "POST"): Level.OPERATOR,
    ("asset_alias", "PUT"): Level.OPERATOR,
    ("asset_alias", "DELETE"): Level.OPERATOR,
    ("team", "GET"): Level.MEMBER,
    ("team", "POST"): Level.OWNER,
    ("team", "PUT"): Level.OWNER,
    ("team", "DELETE"): Level.OWNER,
    ("custom_view", "GET"): Level.MEMBER,
    ("custom_view", "POST"): Level.OWNER,
    ("custom_view", "PUT"): Level.OWNER,
    ("custom_view", "DELETE"): Level.OWNER,
}

# DAG sub-entities needing more than the DAG's own level for a method; every other entity (listed
# below, so a new Airflow entity is a conscious choice) uses the DAG's level from RESOURCE_LEVELS.
DAG_ENTITY_LEVELS: dict[tuple[DagAccessEntity, str], Level] = {
    (DagAccessEntity.XCOM, "POST"): Level.OPERATOR,  # writing XComs by hand
    (DagAccessEntity.XCOM, "PUT"): Level.OPERATOR,
}
DAG_ENTITIES_AT_DAG_LEVEL = frozenset(
    {
        DagAccessEntity.AUDIT_LOG,
        DagAccessEntity.CODE,
        DagAccessEntity.DEPENDENCIES,
        DagAccessEntity.HITL_DETAIL,  # responding to a human-in-the-loop task is an author's act (PUT)
        DagAccessEntity.RUN,
        DagAccessEntity.TASK,
        DagAccessEntity.TASK_INSTANCE,
        DagAccessEntity.TASK_LOGS,
        DagAccessEntity.VERSION,
        DagAccessEntity.WARNING,
        DagAccessEntity.XCOM,
    }
)

VIEW_LEVELS: dict[AccessView, Level] = {
    AccessView.CLUSTER_ACTIVITY: Level.MEMBER,
    AccessView.DOCS: Level.MEMBER,
    AccessView.IMPORT_ERRORS: Level.MEMBER,
    AccessView.JOBS: Level.MEMBER,
    AccessView.PLUGINS: Level.MEMBER,
    AccessView.PROVIDERS: Level.MEMBER,
    AccessView.TRIGGERS: Level.MEMBER,
    AccessView.WEBSITE: Level.MEMBER,
}

MENU_LEVELS: dict[MenuItem, Level] = {
    MenuItem.REQUIRED_ACTIONS: Level.MEMBER,
    MenuItem.ASSETS: Level.MEMBER,
    MenuItem.AUDIT_LOG: Level.MEMBER,
    MenuItem.CONFIG: Level.OPERATOR,
    MenuItem.CONNECTIONS: Level.OPERATOR,
    MenuItem.DAGS: Level.MEMBER,
    MenuItem.DEADLINES: Level.MEMBER,
    MenuItem.DOCS: Level.MEMBER,
    MenuItem.JOBS: Level.MEMBER,
    MenuItem.PLUGINS: Level.MEMBER,
    MenuItem.POOLS: Level.AUTHOR,
    MenuItem.PROVIDERS: Level.MEMBER,
    MenuItem.VARIABLES: Level.AUTHOR,
    MenuItem.XCOMS: Level.MEMBER,
}


# Menu entries that lead to DAG pages: shown when any DAG is reachable (DAG grants included).
DAG_MENU_ITEMS = frozenset({MenuItem.DAGS})


def required_level(resource: str, method: str, entity: DagAccessEntity | None = None) -> Level:
    """The minimum level for a method on a resource; unknown pairs need OWNER (fail closed)."""
    if resource == "dag" and entity is not None:
        override = DAG_ENTITY_LEVELS.get((entity, method))
        if override is not None:
            return override
    return RESOURCE_LEVELS.get((resource, str(method)), Level.OWNER)
