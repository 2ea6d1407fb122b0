"""A FastAPI dependency for our plugin routes: Airflow does not authorize plugin apps, so each route
declares the permission it needs and gets the user Airflow's own `get_user` authenticated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from airflow.api_fastapi.auth.managers.base_auth_manager import BaseUser
from fastapi import Depends, HTTPException, status

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod


def requires_permission(method: ResourceMethod, resource_name: str) -> Callable[..., Awaitable[BaseUser]]:
    """`Depends(requires_permission("GET", "Runtime"))`: 401 without a valid token (Airflow's
    `get_user`: Bearer header, else the session cookie), 403 without the permission (our auth manager
    maps custom views: GET for members, writes for owners)."""
    from airflow.api_fastapi.core_api.security import get_user

    async def dependency(user: BaseUser = Depends(get_user)) -> BaseUser:
        from airflow.api_fastapi.app import get_auth_manager

        manager = get_auth_manager()
        if not manager.is_authorized_custom_view(method=method, resource_name=resource_name, user=user):
            detail = f"{method} on {resource_name} is not allowed for this user"
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail)
        return user

    return dependency
