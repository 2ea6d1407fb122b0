"""The discovery document as a relying party reads it: the endpoints it names are used only when its
issuer is exactly the configured one and every endpoint is a plain URL under that issuer."""

from __future__ import annotations

import pytest

from astronomer_plugins.auth.discovery import Endpoints, endpoints_from
from astronomer_plugins.errors import ControlPlaneResponseError

ISSUER = "https://cp.example.com/tenant"


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/oidc/authorize",
        "token_endpoint": f"{ISSUER}/oidc/token",
        "jwks_uri": f"{ISSUER}/keys.json",
        "end_session_endpoint": f"{ISSUER}/logout",
    }
    document.update(changes)
    return {name: value for name, value in document.items() if value is not None}


def test_the_endpoints_of_an_acceptable_document() -> None:
    assert endpoints_from(_document(), ISSUER) == Endpoints(
        authorization_url="https://cp.example.com/tenant/oidc/authorize",
        end_session_url="https://cp.example.com/tenant/logout",
        token_path="/oidc/token",
        jwks_path="/keys.json",
    )


def test_no_end_session_endpoint_is_allowed() -> None:
    assert endpoints_from(_document(end_session_endpoint=None), ISSUER).end_session_url is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"issuer": "https://evil.example.com/tenant"},
            "issuer 'https://evil.example.com/tenant' is not the configured",
        ),
        ({"issuer": ISSUER + "/"}, "is not the configured"),
        ({"issuer": None}, "issuer None is not the configured"),
        (
            {"jwks_uri": "https://evil.example.com/tenant/keys.json"},
            "jwks_uri 'https://evil.example.com/tenant/keys.json'",
        ),
        ({"jwks_uri": "http://cp.example.com/tenant/keys.json"}, "jwks_uri"),
        ({"token_endpoint": "https://cp.example.com/tenant-b/token"}, "token_endpoint"),
        ({"token_endpoint": "https://cp.example.com/tenant"}, "token_endpoint"),
        ({"token_endpoint": "https://cp.example.com/tenant/../other/token"}, "not a plain URL"),
        ({"token_endpoint": "https://cp.example.com/tenant/%2e%2e/other/token"}, "not a plain URL"),
        ({"token_endpoint": "https://cp.example.com/tenant/a%2fb"}, "not a plain URL"),
        ({"jwks_uri": "https://cp.example.com/tenant/keys.json?host=evil"}, "not a plain URL"),
        ({"authorization_endpoint": "https://cp.example.com/tenant/authorize#x"}, "not a plain URL"),
        ({"authorization_endpoint": "https://cp.example.com/tenant/a\\b"}, "not a plain URL"),
        ({"authorization_endpoint": "https://cp.example.com/tenant/a b"}, "not a plain URL"),
        ({"authorization_endpoint": None}, "authorization_endpoint None"),
        ({"token_endpoint": 5}, "token_endpoint 5"),
        ({"end_session_endpoint": "https://evil.example.com/logout"}, "end_session_endpoint"),
    ],
)
def test_a_document_not_of_the_configured_issuer_is_refused(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(ControlPlaneResponseError, match="discovery document is refused") as refused:
        endpoints_from(_document(**changes), ISSUER)
    assert reason in str(refused.value)
