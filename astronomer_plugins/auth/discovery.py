"""The control plane's OIDC discovery document, read as a relying party should: the endpoints that
login and the key refresh use come from it, not from paths spelled here.

The auth context's background thread reads it once (with the AUTH client profile's timeouts), before
its first key refresh, and again each round until a document passes the checks. Until then no keys
are fetched (control-plane tokens are refused) and a login answers 503: fail closed. A document is
refused, never followed, when its `issuer` is not exactly the configured control plane URL (the
issuer that tokens must name), or when an endpoint is not a plain URL under that issuer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from astronomer_plugins.errors import ControlPlaneResponseError

REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class Endpoints:
    """What the auth manager uses: full URLs for the browser, paths under the issuer for our client."""

    authorization_url: str
    end_session_url: str | None  # optional in OIDC: without it, logout ends on the deployment's home page
    token_path: str
    jwks_path: str


def endpoints_from(document: dict[str, Any], issuer: str) -> Endpoints:
    """The checked endpoints of `document`, or ControlPlaneResponseError naming what is wrong."""
    if document.get("issuer") != issuer:
        _refuse(f"its issuer {document.get('issuer')!r} is not the configured {issuer!r}")
    authorization, token, jwks = (_under(issuer, document, name) for name in REQUIRED)
    end_session = None
    if document.get("end_session_endpoint"):
        end_session = _under(issuer, document, "end_session_endpoint")
    paths = {"token_path": token[len(issuer) :], "jwks_path": jwks[len(issuer) :]}
    return Endpoints(authorization, end_session, **paths)


def _under(issuer: str, document: dict[str, Any], name: str) -> str:
    """`document[name]` when it is a plain URL below the issuer: same scheme and host, a path under the
    issuer's, no query, fragment, dot segment, encoded separator or backslash."""
    url = document.get(name)
    if not isinstance(url, str) or not url.startswith(issuer + "/"):
        _refuse(f"{name} {url!r} is not under the issuer {issuer!r}")
    parts, base = urlsplit(url), urlsplit(issuer)
    path = unquote(parts.path)
    plain = (
        (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        and not parts.query
        and not parts.fragment
        and "\\" not in path
        and not {".", ".."} & set(path.split("/"))
        and not any(code in url.lower() for code in ("%2e", "%2f", "%5c"))
        and all(char.isprintable() and not char.isspace() for char in path)
    )
    if not plain:
        _refuse(f"{name} {url!r} is not a plain URL under the issuer {issuer!r}")
    return url


def _refuse(reason: str) -> NoReturn:
    message = f"the control plane's discovery document is refused: {reason}"
    raise ControlPlaneResponseError(message, status=200, body="")
