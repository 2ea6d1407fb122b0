"""The command line's control-plane errors; each prints as one line and exits 1 (astronomer_runtime.cli).

CloudError               anything about the control plane the commands refuse or fail on (never a token)
 ├─ NotLoggedIn          no stored login and no ASTRO_RUNTIME_API_TOKEN, or it expired or was rejected
 ├─ LoginFailed          the browser login did not complete (state, timeout, denied, bad discovery)
 ├─ NotAllowed           HTTP 403: the caller's role does not allow this
 ├─ ArchiveRefused       the project cannot be packed, fails to parse, or the control plane refused it
 └─ NothingSelected      no workspace or deployment chosen and none given
"""

from __future__ import annotations

from astronomer_runtime.errors import RuntimeToolError


class CloudError(RuntimeToolError):
    """Base of the control-plane command errors; messages never contain a token."""


class NotLoggedIn(CloudError):
    """Log in (again): no credentials, or the control plane no longer accepts them."""


class LoginFailed(CloudError):
    """The login flow stopped; the message says at which step."""


class NotAllowed(CloudError):
    """The control plane answered 403."""


class ArchiveRefused(CloudError, ValueError):
    """The DAG bundle was refused, locally or by the control plane; the message names the member."""


class NothingSelected(CloudError, LookupError):
    """A command needs a workspace or deployment and none is selected."""
