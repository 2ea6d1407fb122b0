"""RS256 signing keys: private keys in 0600 PEM files, metadata in the database.

Rotation makes a new key the signer; a retired key stays in the JWKS until the latest `exp` of any
token it signed has passed, so tokens issued before a rotation keep validating.

Parsed keys and their JWKs are cached per `kid` (a kid's key file never changes once written), so a
token check or a JWKS request costs no disk read and no PEM parse. Which keys are active and published
is read from the database each time: a rotation by another process (`rotate-keys` while the server
runs) is seen at once, its new kid loaded on first use.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from astronomer_control_plane.orm import SigningKey, utcnow
from astronomer_control_plane.secrets_store import write_private
from astronomer_control_plane.settings import Settings


class KeyStore:
    def __init__(self, settings: Settings) -> None:
        self._dir = settings.keys_dir
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._jwks: dict[str, dict[str, Any]] = {}
        self._document: tuple[tuple[str, ...], dict[str, Any]] | None = None
        self.loads = 0  # key files read and parsed: once per kid per process

    def _path(self, kid: str) -> Path:
        return self._dir / f"{kid}.pem"

    def _private_key(self, kid: str) -> rsa.RSAPrivateKey:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            if kid not in self._keys:
                loaded = serialization.load_pem_private_key(self._path(kid).read_bytes(), password=None)
                assert isinstance(loaded, rsa.RSAPrivateKey)
                self._keys[kid] = loaded
                self.loads += 1
            return self._keys[kid]

    def _jwk(self, kid: str) -> dict[str, Any]:
        jwk = self._jwks.get(kid)
        if jwk is None:
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._private_key(kid).public_key()))
            jwk = self._jwks[kid] = {**public, "kid": kid, "use": "sig", "alg": "RS256"}
        return jwk

    def create(self, session: Session) -> SigningKey:
        """A new signing key; it becomes the only active one."""
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = utcnow().strftime("%Y%m%d%H%M%S-") + secrets.token_hex(4)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(self._path(kid), pem.decode())
        for key in session.scalars(select(SigningKey).where(SigningKey.active)):
            key.active = False
        record = SigningKey(kid=kid, active=True)
        session.add(record)
        session.flush()
        return record

    def active(self, session: Session) -> SigningKey:
        key = session.scalars(select(SigningKey).where(SigningKey.active)).first()
        return key or self.create(session)

    def sign(self, session: Session, claims: dict[str, Any]) -> str:
        key = self.active(session)
        expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
        if key.last_token_expires_at is None or expires > key.last_token_expires_at:
            key.last_token_expires_at = expires
        return jwt.encode(claims, self._private_key(key.kid), algorithm="RS256", headers={"kid": key.kid})

    def published(self, session: Session) -> list[SigningKey]:
        now = utcnow()
        return [
            key
            for key in session.scalars(select(SigningKey).order_by(SigningKey.created_at))
            if key.active or (key.last_token_expires_at is not None and key.last_token_expires_at > now)
        ]

    def jwks(self, session: Session) -> dict[str, Any]:
        """The JWKS document, rebuilt only when the set of published kids changes."""
        kids = tuple(key.kid for key in self.published(session))
        cached = self._document
        if cached is not None and cached[0] == kids:
            return cached[1]
        document = {"keys": [self._jwk(kid) for kid in kids]}
        self._document = (kids, document)
        return document

    def public_key(self, session: Session, kid: str) -> rsa.RSAPublicKey | None:
        if not any(key.kid == kid for key in self.published(session)):
            return None
        return self._private_key(kid).public_key()
