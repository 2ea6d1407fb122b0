"""A FastAPI dependency for our plugin routes: Airflow does not authenticate plugin apps, so each
route declares the permission it needs and gets the authenticated user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status

from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN, BaseUser


def _token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


def requires_permission(method: str, resource_name: str) -> Callable[[Request], Awaitable[BaseUser]]:
    """`Depends(requires_permission("GET", "Runtime"))`: 401 without a valid token, 403 without the
    permission (our auth manager maps custom views: GET for members, writes for owners)."""

    async def dependency(request: Request) -> BaseUser:
        from airflow.api_fastapi.app import get_auth_manager

        token = _token(request)
        if not token:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
        manager = get_auth_manager()
        try:
            user = await manager.get_user_from_token(token)
        except HTTPException:
            raise
        except Exception:  # noqa: BLE001 - any other auth manager's refusal is a 401 here
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated", headers={"WWW-Authenticate": "Bearer"}) from None
        if not manager.is_authorized_custom_view(method=method, resource_name=resource_name, user=user):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{method} on {resource_name} is not allowed for this user")
        return user

    return dependency
