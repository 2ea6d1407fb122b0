"""Signing keys are parsed once per kid: a forged token with a real kid costs about what garbage
costs, and a rotation by another process is still picked up by the running control plane."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from astronomer_control_plane.app import bootstrap
from astronomer_control_plane.settings import Settings
from tests.support.control_plane import Tree
from tests.support.servers import ControlPlaneServer

pytestmark = pytest.mark.integration


def test_keys_are_parsed_once_per_kid_and_a_rotation_elsewhere_is_seen(tmp_path: Path) -> None:
    cp = bootstrap(Settings(data_dir=tmp_path / "data"))
    try:
        with cp.transaction() as session:
            [first] = [key["kid"] for key in cp.keys.jwks(session)["keys"]]
        for _ in range(20):
            with cp.transaction() as session:
                cp.keys.jwks(session)
                assert cp.keys.public_key(session, first) is not None
                cp.keys.sign(session, {"sub": "x", "exp": int(time.time()) + 60})
        assert cp.keys.loads == 1
        rotated = ControlPlaneServer(tmp_path / "data").run("rotate-keys")  # another process, same data
        assert rotated.returncode == 0, rotated.stderr
        with cp.transaction() as session:
            kids = [key["kid"] for key in cp.keys.jwks(session)["keys"]]
            token = cp.keys.sign(session, {"sub": "x", "exp": int(time.time()) + 60})
        assert kids[0] == first and len(kids) == 2  # the old key stays published (it signed tokens)
        assert jwt.get_unverified_header(token)["kid"] == kids[1]  # the new one signs
        assert cp.keys.loads == 2
    finally:
        cp.engine.dispose()


def _median_seconds(session: requests.Session, url: str, token: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        times.append(time.perf_counter() - started)
        assert response.status_code == 401
    return statistics.median(times)


def test_a_forged_token_with_a_real_kid_costs_about_what_garbage_costs(server: ControlPlaneServer, tree: Tree) -> None:
    kid = requests.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()["keys"][-1]["kid"]
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = jwt.encode(
        {"iss": server.url, "sub": "usr_x", "aud": tree.deployment_id, "iat": now, "nbf": now, "exp": now + 600, "jti": "j"},
        impostor, algorithm="RS256", headers={"kid": kid},
    )  # fmt: skip
    url = f"{server.url}/v1/deployments/{tree.deployment_id}/endpoint"
    with requests.Session() as session:  # one kept-alive connection for both kinds
        _median_seconds(session, url, forged, 2)  # warm-up
        forged_costs, garbage_costs = [], []
        for _ in range(5):  # interleaved, so load from elsewhere hits both alike
            forged_costs.append(_median_seconds(session, url, forged, 5))
            garbage_costs.append(_median_seconds(session, url, "garbage", 5))
    forged_cost, garbage_cost = statistics.median(forged_costs), statistics.median(garbage_costs)
    # Parsing the private key from disk per check made this about 12-20x; a signature check is ~0.1 ms.
    assert forged_cost < 3 * garbage_cost, f"forged {forged_cost * 1000:.1f} ms vs garbage {garbage_cost * 1000:.1f} ms"
