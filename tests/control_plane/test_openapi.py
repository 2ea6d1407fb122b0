"""The committed OpenAPI document is the one the service serves."""

from __future__ import annotations

import json

import pytest
import requests

from astronomer_control_plane.cli import OPENAPI_FILE, openapi_document
from tests.support.servers import ControlPlaneServer


def test_committed_openapi_is_current() -> None:
    assert OPENAPI_FILE.read_text() == openapi_document(), (
        "control_plane/openapi.json is stale: run `.venv/bin/astro-runtime control-plane openapi --write`"
    )


@pytest.mark.integration
def test_served_openapi_matches(server: ControlPlaneServer) -> None:
    served = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert served == json.loads(OPENAPI_FILE.read_text())
    paths = set(served["paths"])
    assert {"/.well-known/jwks.json", "/oauth/token", "/v1/deployments/{deployment_id}/metrics",
            "/v1/deployments/{deployment_id}/revoked-tokens", "/v1/runtime-releases"} <= paths  # fmt: skip
