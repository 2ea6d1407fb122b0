"""The auth manager's FastAPI app, mounted by Airflow at /auth. Route bodies stay thin: the logic
is in login.py, and all they get of the manager is its LoginService."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.api_fastapi.app import get_cookie_path
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from fastapi import Body, FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from astronomer_plugins.auth import login

if TYPE_CHECKING:
    from astronomer_plugins.auth.login import LoginService


class TokenExchangeBody(BaseModel):
    token: str | None = None


class TokenResponse(BaseModel):
    access_token: str


TOKEN_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "Invalid token"},
    503: {"description": "Tokens cannot be checked now"},
}
NO_TOKEN = "send a control-plane token as 'Authorization: Bearer ...' or {\"token\": ...}"


def _redirect(target: login.Redirect) -> RedirectResponse:
    response = RedirectResponse(target.url, status_code=303)
    secure = login.cookie_secure()
    for name, cookie in target.cookies.items():
        if cookie.value:
            response.set_cookie(
                name,
                cookie.value,
                max_age=cookie.max_age,
                path=cookie.path,
                httponly=True,
                secure=secure,
                samesite="lax",
            )
        else:
            response.delete_cookie(name, path=cookie.path, httponly=True, secure=secure, samesite="lax")
    return response


def _error_page(error: login.LoginError) -> HTMLResponse:
    from html import escape

    return HTMLResponse(
        f"<!doctype html><title>Login failed</title><h1>Login failed</h1><p>{escape(str(error))}</p>"
        f'<p><a href="{escape(login.login_url())}">Log in again</a></p>',
        status_code=error.status,
    )


def create_auth_app(service: LoginService) -> FastAPI:
    app = FastAPI(
        title="Astronomer auth manager", description="Login through the control plane; token exchange."
    )

    @app.get("/login", response_model=None, status_code=303)
    def start_login(
        next: str | None = Query(default=None, max_length=2048),  # noqa: A002
    ) -> RedirectResponse | HTMLResponse:
        try:
            return _redirect(login.start_login(service, next))
        except login.LoginError as error:
            return _error_page(error)

    @app.get("/callback", response_model=None, status_code=303)
    async def callback(
        request: Request, code: str = Query(max_length=512), state: str = Query(max_length=512)
    ) -> RedirectResponse | HTMLResponse:
        try:
            login_cookie = request.cookies.get(login.LOGIN_COOKIE)
            target = await login.finish_login(service, code=code, state=state, login_cookie=login_cookie)
            return _redirect(target)
        except login.LoginError as error:
            return _error_page(error)

    @app.get("/logout", response_class=RedirectResponse, status_code=303)
    def logout() -> RedirectResponse:
        response = RedirectResponse(login.logout_target(service), status_code=303)
        secure = login.cookie_secure()
        path = get_cookie_path()
        response.delete_cookie(COOKIE_NAME_JWT_TOKEN, path=path, httponly=True, secure=secure, samesite="lax")
        return response

    @app.post("/token", status_code=201, response_model=TokenResponse, responses=TOKEN_RESPONSES)
    def token(
        body: TokenExchangeBody | None = Body(default=None), authorization: str | None = Header(default=None)
    ) -> TokenResponse | JSONResponse:
        supplied = (body.token if body else None) or _bearer(authorization)
        if not supplied:
            return JSONResponse({"detail": NO_TOKEN}, 401)
        try:
            return TokenResponse(access_token=login.exchange_token(service, supplied))
        except login.LoginError as error:
            headers = {"Retry-After": "30"} if error.status == 503 else {"WWW-Authenticate": "Bearer"}
            return JSONResponse({"detail": str(error)}, status_code=error.status, headers=headers)

    return app


def _bearer(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
