"""AstronomerAuthManager: people and API tokens of the control plane use Airflow.

Enable with `[core] auth_manager = astronomer_plugins.auth.manager.AstronomerAuthManager`.
Control-plane tokens (RS256, our issuer) are verified locally by `ControlPlaneTokenVerifier`;
everything else is one of Airflow's own tokens (issued here after a login or a token exchange) and
goes through Airflow's validator. Every `is_authorized_*` funnels into `_is_authorized`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.api_fastapi.app import AUTH_MANAGER_FASTAPI_APP_PREFIX
from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
from airflow.models.revoked_token import RevokedToken  # already imported by BaseAuthManager
from anyio import to_thread
from fastapi import HTTPException, status
from jwt import InvalidTokenError

from astronomer_plugins.auth import permissions
from astronomer_plugins.auth.permissions import Level
from astronomer_plugins.auth.user import AstroUser, roles_claim, user_from_claims
from astronomer_plugins.errors import TokenRejected, VerificationUnavailable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod
    from airflow.api_fastapi.auth.managers.models.batch_apis import IsAuthorizedDagRequest
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        AccessView,
        AssetAliasDetails,
        AssetDetails,
        ConfigurationDetails,
        ConnectionDetails,
        DagAccessEntity,
        DagDetails,
        PoolDetails,
        VariableDetails,
    )
    from airflow.api_fastapi.common.types import MenuItem
    from fastapi import FastAPI

    from astronomer_plugins.auth.context import AuthContext
    from astronomer_plugins.auth.login import LoginService


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=f"Not authenticated: {reason}",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _unavailable(reason: VerificationUnavailable) -> HTTPException:
    """The token cannot be checked now (fail closed); the fix is on the server side, so 503, not 401."""
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=f"Control-plane tokens cannot be checked right now: {reason}; try again later",
        headers={"Retry-After": "30"},
    )


class AstronomerAuthManager(BaseAuthManager[AstroUser]):
    @cached_property
    def context(self) -> AuthContext:
        from astronomer_plugins.auth.context import AuthContext

        return AuthContext.from_config()

    def init(self) -> None:
        """Runs once when the api-server builds its app: check settings, start the sync loop."""
        super().init()
        self.context.start()

    # Users and tokens
    def serialize_user(self, user: AstroUser) -> dict[str, Any]:
        return {
            "sub": user.user_id,
            "name": user.name,
            "email": user.email,
            "astro_kind": user.kind,
            "astro_org": user.organization_id,
            "astro_roles": roles_claim(user),
            "astro_jti": user.source_jti,
        }

    def deserialize_user(self, token: dict[str, Any]) -> AstroUser:
        if "astro_kind" not in token or "purpose" in token:
            raise ValueError("not a session token of this auth manager")
        return user_from_claims(token)

    def user_from_control_plane_token(self, token: str) -> AstroUser:
        """Verify a control-plane token (raises TokenRejected); also the login's and /auth/token's way in."""
        self.context.ensure_running()
        return self.context.verifier.verify(token)

    async def get_user_from_token(self, token: str) -> AstroUser:
        """Never waits for the network: control-plane tokens are checked from memory, Airflow's own
        tokens by Airflow's validator, with its revoked-token lookup (a database query) off the loop."""
        context = self.context
        context.ensure_running()  # a gunicorn worker forked after init() starts its own sync thread
        verifier = context.verifier
        try:
            if verifier.claims_to_be_ours(token):
                return self.user_from_control_plane_token(token)
            user = await self._user_from_airflow_token(token)
        except TokenRejected as exc:
            raise self._refusal(exc, "invalid or expired token") from None
        except InvalidTokenError:
            raise _unauthorized("invalid or expired token") from None
        if not isinstance(user, AstroUser):
            raise _unauthorized("invalid token")
        if user.source_jti:  # a session made from a control-plane token lives and dies with it
            try:
                verifier.check_not_revoked(user.source_jti)
            except TokenRejected as exc:
                raise self._refusal(exc, "the token was revoked") from None
        return user

    def _refusal(self, exc: TokenRejected, reason: str) -> HTTPException:
        if isinstance(exc, VerificationUnavailable):
            from astronomer_plugins.auth.middleware import mark_unavailable

            self.context.report_unavailable(exc)
            mark_unavailable()  # keep the browser's session cookie (see middleware.py)
            return _unavailable(exc)
        self.log.info("Refused a control-plane token: %s", exc)
        return _unauthorized(reason)

    async def _user_from_airflow_token(self, token: str) -> AstroUser:
        """BaseAuthManager.get_user_from_token, with its revoked-token query in a worker thread."""
        payload: dict[str, Any] = await self._get_token_validator().avalidated_claims(token)
        if (jti := payload.get("jti")) and await to_thread.run_sync(RevokedToken.is_revoked, jti):
            raise InvalidTokenError("Token has been revoked")
        try:
            return self.deserialize_user(payload)
        except (ValueError, KeyError) as exc:
            raise InvalidTokenError(str(exc)) from None

    def revoke_token(self, token: str) -> None:
        """Airflow's own tokens are revoked in Airflow's database; control-plane tokens are revoked
        in the control plane, not here."""
        if not self.context.verifier.claims_to_be_ours(token):
            super().revoke_token(token)

    def get_url_login(self, **kwargs: Any) -> str:
        return f"{AUTH_MANAGER_FASTAPI_APP_PREFIX}/login"

    def get_url_logout(self) -> str | None:
        return f"{AUTH_MANAGER_FASTAPI_APP_PREFIX}/logout"

    def get_fastapi_middlewares(self) -> list[tuple[Any, dict[str, Any]]]:
        """Added after (outside) Airflow's JWTRefreshMiddleware: an outage must not log browsers out."""
        from astronomer_plugins.auth.middleware import KeepSessionWhileUnavailable

        return [(KeepSessionWhileUnavailable, {})]

    def get_fastapi_app(self) -> FastAPI | None:
        from astronomer_plugins.auth.routes import create_auth_app

        return create_auth_app(self.login_service())

    def login_service(self) -> LoginService:
        """What the login routes may use of this manager (see login.LoginService)."""
        from astronomer_plugins import config
        from astronomer_plugins.auth.login import LoginService

        context = self.context

        def sign_state(claims: dict[str, Any], seconds: int) -> str:
            return self._get_token_signer(expiration_time_in_seconds=seconds).generate(claims)

        return LoginService(
            deployment_id=context.verifier.settings.deployment_id,
            endpoints=context.require_endpoints,
            login_timeout=float(config.get_int(config.AUTH_LOGIN_TIMEOUT_SECONDS)),
            verify=self.user_from_control_plane_token,
            exchange_code=context.exchange_code,
            mint=lambda user, seconds: self.generate_jwt(user, expiration_time_in_seconds=seconds),
            sign_state=sign_state,
            read_state=self._get_token_validator().avalidated_claims,
            report_unavailable=context.report_unavailable,
        )

    # Authorization: every check funnels into _is_authorized.
    def _is_authorized(
        self,
        *,
        user: AstroUser,
        resource: str,
        method: str,
        dag_id: str | None = None,
        entity: DagAccessEntity | None = None,
        required: Level | None = None,
        dag_tags: dict[str, frozenset[str]] | None = None,
    ) -> bool:
        """`dag_tags`: the tags of the DAGs of a batch, fetched once (else one query for this DAG)."""
        needed = (
            required if required is not None else permissions.required_level(resource, str(method), entity)
        )
        if resource != "dag":
            return user.level >= needed
        if dag_id is None:  # e.g. listing: allowed when some DAG is reachable; lists are then filtered
            return user.reaches_some_dag(needed)
        if user.needs_tags and dag_tags is None:
            dag_tags = _dag_tags([dag_id])
        return user.dag_level(dag_id, (dag_tags or {}).get(dag_id, frozenset())) >= needed

    def batch_is_authorized_dag(self, requests: Sequence[IsAuthorizedDagRequest], *, user: AstroUser) -> bool:
        """All of the requests, with one tag query for all their DAGs (Airflow's default asks per DAG)."""
        dag_ids = {details.id for request in requests if (details := request.get("details")) and details.id}
        tags = _dag_tags(dag_ids) if user.needs_tags and dag_ids else {}
        return all(
            self._is_authorized(
                user=user,
                resource="dag",
                method=str(request["method"]),
                entity=request.get("access_entity"),
                dag_id=details.id if (details := request.get("details")) is not None else None,
                dag_tags=tags,
            )
            for request in requests
        )

    def is_authorized_configuration(
        self, *, method: ResourceMethod, user: AstroUser, details: ConfigurationDetails | None = None
    ) -> bool:
        return self._is_authorized(user=user, resource="configuration", method=method)

    def is_authorized_connection(
        self, *, method: ResourceMethod, user: AstroUser, details: ConnectionDetails | None = None
    ) -> bool:
        return self._is_authorized(user=user, resource="connection", method=method)

    def is_authorized_dag(
        self,
        *,
        method: ResourceMethod,
        user: AstroUser,
        access_entity: DagAccessEntity | None = None,
        details: DagDetails | None = None,
    ) -> bool:
        dag_id = details.id if details is not None else None
        return self._is_authorized(
            user=user, resource="dag", method=method, dag_id=dag_id, entity=access_entity
        )

    def is_authorized_asset(
        self, *, method: ResourceMethod, user: AstroUser, details: AssetDetails | None = None
    ) -> bool:
        return self._is_authorized(user=user, resource="asset", method=method)

    def is_authorized_asset_alias(
        self, *, method: ResourceMethod, user: AstroUser, details: AssetAliasDetails | None = None
    ) -> bool:
        return self._is_authorized(user=user, resource="asset_alias", method=method)

    def is_authorized_pool(
        self, *, method: ResourceMethod, user: AstroUser, details: PoolDetails | None = None
    ) -> bool:
        return self._is_authorized(user=user, resource="pool", method=method)

    def is_authorized_variable(
        self, *, method: ResourceMethod, user: AstroUser, details: VariableDetails | None = None
    ) -> bool:
        return self._is_authorized(user=user, resource="variable", method=method)

    def is_authorized_view(self, *, access_view: AccessView, user: AstroUser) -> bool:
        required = permissions.VIEW_LEVELS.get(access_view, Level.OWNER)
        return self._is_authorized(user=user, resource="view", method="GET", required=required)

    def is_authorized_custom_view(
        self, *, method: ResourceMethod | str, resource_name: str, user: AstroUser
    ) -> bool:
        return self._is_authorized(user=user, resource="custom_view", method=str(method))

    def is_authorized_team(self, *, method: ResourceMethod, user: AstroUser, details: Any = None) -> bool:
        return self._is_authorized(user=user, resource="team", method=method)

    def filter_authorized_menu_items(self, menu_items: list[MenuItem], *, user: AstroUser) -> list[MenuItem]:
        def visible(item: MenuItem) -> bool:
            needed = permissions.MENU_LEVELS.get(item, Level.OWNER)
            return (
                user.reaches_some_dag(needed) if item in permissions.DAG_MENU_ITEMS else user.level >= needed
            )

        return [item for item in menu_items if visible(item)]

    def filter_authorized_dag_ids(
        self,
        *,
        dag_ids: set[str],
        user: AstroUser,
        method: ResourceMethod = "GET",
        team_name: str | None = None,
    ) -> set[str]:
        """One pass (and at most one tag query) for a whole list, so lists never leak DAGs."""
        needed = permissions.required_level("dag", str(method))
        if user.level >= needed:
            return set(dag_ids)
        tags = _dag_tags(dag_ids) if user.needs_tags and dag_ids else {}
        return {
            dag_id for dag_id in dag_ids if user.dag_level(dag_id, tags.get(dag_id, frozenset())) >= needed
        }


def _dag_tags(dag_ids: set[str] | list[str]) -> dict[str, frozenset[str]]:
    """Tags of the given DAGs, in one query (only for users with tag grants)."""
    from airflow.models.dag import DagTag
    from airflow.utils.session import create_session
    from sqlalchemy import select

    found: dict[str, set[str]] = {}
    with create_session() as session:
        query = select(DagTag.dag_id, DagTag.name).where(DagTag.dag_id.in_(list(dag_ids)))
        for dag_id, name in session.execute(query):
            found.setdefault(dag_id, set()).add(name)
    return {dag_id: frozenset(names) for dag_id, names in found.items()}
