"""OIDC discovery, JWKS, the authorization endpoint (a user picker for development), the token endpoint."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from astronomer_control_plane.context import ControlPlane, control_plane
from astronomer_control_plane.schemas import TokenResponse
from astronomer_control_plane.services import identity

router = APIRouter(tags=["identity"])


@router.get("/.well-known/openid-configuration")
def openid_configuration(cp: ControlPlane = Depends(control_plane)) -> dict[str, Any]:
    return identity.discovery(cp)


@router.get("/.well-known/jwks.json")
def jwks(cp: ControlPlane = Depends(control_plane)) -> dict[str, Any]:
    with cp.transaction() as session:
        return cp.keys.jwks(session)


PICKER = """<!doctype html><html><head><meta charset="utf-8"><title>Sign in to {deployment}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#222}}
button{{display:block;width:100%;margin:.4rem 0;padding:.6rem;text-align:left;font-size:1rem}}</style></head>
<body><h1>Sign in to {deployment}</h1><p>Reference control plane: pick a user (development only).</p>
<form method="post" action="/authorize">{hidden}{buttons}</form></body></html>"""


@router.get("/authorize", response_class=HTMLResponse)
def authorize_page(
    client_id: str = Query(max_length=40),
    redirect_uri: str = Query(max_length=2048),
    state: str = Query(min_length=8, max_length=512),
    code_challenge: str = Query(max_length=128),
    code_challenge_method: str = Query(default="S256", max_length=10),
    response_type: str = Query(default="code", max_length=10),
    cp: ControlPlane = Depends(control_plane),
) -> HTMLResponse:
    identity.check_pkce_request(code_challenge, code_challenge_method, response_type)
    with cp.transaction() as session:
        if client_id == identity.CLI_CLIENT_ID:
            identity.check_cli_redirect(redirect_uri)
            choices = [(u, f"{u.name} <{u.email}> ({org})") for u, org in identity.all_users(session)]
            name = "astro-runtime (command line)"
        else:
            deployment = identity.check_client(session, client_id, redirect_uri)
            choices = [(u, f"{u.name} <{u.email}>") for u in identity.org_users(session, deployment)]
            name = deployment.name
    fields = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge,
    }
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in fields.items())
    buttons = "".join(
        f'<button name="user_id" value="{escape(u.id)}">{escape(label)}</button>' for u, label in choices
    )
    return HTMLResponse(
        PICKER.format(deployment=escape(name), hidden=hidden, buttons=buttons or "<p>No users.</p>")
    )


LOGGED_OUT = """<!doctype html><html><head><meta charset="utf-8"><title>Signed out</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#222}}</style></head>
<body><h1>You are signed out</h1><p>Reference control plane (development only).</p>{back}</body></html>"""


@router.get("/logout", response_class=HTMLResponse)
def logout_page(
    client_id: str | None = Query(default=None, max_length=40), cp: ControlPlane = Depends(control_plane)
) -> HTMLResponse:
    """Where a deployment's logout lands (`end_session_endpoint`). The control plane keeps no session
    of its own, so there is nothing to end here; with a known `client_id` it links back to that
    deployment's base URL (a link, never a redirect)."""
    with cp.transaction() as session:
        link = identity.logout_link(session, client_id)
    back = f'<p><a href="{escape(link[1])}">Back to {escape(link[0])}</a></p>' if link else ""
    return HTMLResponse(LOGGED_OUT.format(back=back))


@router.post("/authorize", response_class=RedirectResponse, status_code=303)
def authorize(
    client_id: str = Form(max_length=40),
    redirect_uri: str = Form(max_length=2048),
    state: str = Form(min_length=8, max_length=512),
    code_challenge: str = Form(min_length=43, max_length=128),
    user_id: str = Form(max_length=40),
    cp: ControlPlane = Depends(control_plane),
) -> RedirectResponse:
    target = identity.issue_code(
        cp,
        client_id=client_id,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=code_challenge,
        user_id=user_id,
    )
    return RedirectResponse(target, status_code=303)


@router.post("/oauth/token")
def token(
    grant_type: str = Form(max_length=40),
    code: str = Form(max_length=256),
    redirect_uri: str = Form(max_length=2048),
    client_id: str = Form(max_length=40),
    code_verifier: str = Form(max_length=256),
    cp: ControlPlane = Depends(control_plane),
) -> TokenResponse:
    return identity.exchange_code(
        cp,
        grant_type=grant_type,
        code=code,
        redirect_uri=redirect_uri,
        client_id=client_id,
        code_verifier=code_verifier,
    )
