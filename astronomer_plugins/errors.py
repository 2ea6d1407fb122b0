"""The exceptions of astronomer_plugins, one tree.

AstronomerError                   anything raised on purpose by this package
 ├─ AstronomerConfigError         a setting in [astronomer] is missing or invalid (also a ValueError)
 ├─ ProjectSettingsError          airflow_settings.yaml is invalid or could not be applied (no secrets shown)
 ├─ BundleRefused                 a DAG bundle was refused: bad digest, too big, unsafe member
 │   ├─ MemberRefused             one member breaks a rule (bundle_rules.py, which defines these four)
 │   │   └─ UnpackedTooLarge      the members add up to more than the unpacked limit
 │   ├─ MissingRequiredRoot       no dags/ folder
 │   └─ StreamTooLarge            the decompressed stream (headers included) exceeds the limit
 ├─ TokenRejected                 a bearer token failed verification (never shows the token)
 │   └─ VerificationUnavailable   it could not be checked: keys or revocation list stale (HTTP 503)
 └─ ControlPlaneError             a call to the control plane failed (never shows the token)
     ├─ ControlPlaneUnavailable   unreachable, timed out, TLS failed, or 5xx after retries
     ├─ ControlPlaneAuthError     401/403: bad, revoked or insufficient token
     └─ ControlPlaneResponseError any other unexpected status or body (status and body kept)
"""

from __future__ import annotations


class AstronomerError(Exception):
    """Base of every error this package raises on purpose."""


class AstronomerConfigError(AstronomerError, ValueError):
    """A setting is missing or invalid; the message names the key and its environment variable."""


class ProjectSettingsError(AstronomerError, ValueError):
    """airflow_settings.yaml is invalid or could not be applied; the one-line message names the file,
    the entry and the field, never a password, an extra's value or a variable's value."""


class BundleRefused(AstronomerError, ValueError):
    """A DAG bundle from the control plane was not used: its digest or size does not match its
    BundleRef, it exceeds a limit, or a member is unsafe; the message names the version and the member."""


class TokenRejected(AstronomerError):
    """A token failed verification; the reason is safe to log (it never contains the token)."""


class VerificationUnavailable(TokenRejected):
    """A token cannot be checked now (signing keys or revocation list stale or not yet fetched):
    refused, fail closed, but the fix is on the server side (reach the control plane), not the token."""


class ControlPlaneError(AstronomerError):
    """A call to the control plane failed; the message never contains a token."""


class ControlPlaneUnavailable(ControlPlaneError):
    """No usable answer: connection refused, timeout, TLS failure, or 5xx after the retries."""


class ControlPlaneAuthError(ControlPlaneError):
    """401/403: the token is missing, invalid, revoked, or not allowed; fix the named setting."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class ControlPlaneResponseError(ControlPlaneError):
    """Any other unexpected answer (4xx, or a body that does not parse); keeps status and body."""

    def __init__(self, message: str, *, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
