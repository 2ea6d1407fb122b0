"""ControlPlaneDagBundle: the deployment's DAG deploys as an Airflow 3 versioned DAG bundle.

Two uses, as for every Airflow bundle:
- the dag-processor (no `version`): each refresh asks the control plane for the current deploy's
  BundleRef, installs that version if it is new here (download, verify, unpack) and points its
  stable `current` folder at it; the version it reports is the BundleRef's version (the sha256), so
  every DAG version and DAG run records the code it came from;
- a task runner or a callback (`version=<sha256>`, from the DAG run): its path is that version's
  folder, fetched from the control plane if this machine does not have it yet. So a run keeps its
  code after later deploys, and a rollback is just the old version becoming current again.

The bundle's folder is both the DAG discovery root (DAG files live in dags/) and the first sys.path
entry, so `from include.x import y` resolves to this version's include/, never to an older copy
baked into the image.

Without [astronomer] control_plane_url (an image run on its own, `airflow dags test`) the bundle is
the image's `[core] dags_folder`, unversioned, exactly like Airflow's LocalDagBundle.

The served version is marked in use for Airflow's stale-bundle cleanup as a task runner marks its
version (a shared lock on the version's tracking file), and a version it stops serving is stamped as
last used then, so the cleanup (`[dag_processor] stale_bundle_cleanup_*`) removes old deploys from
the dag-processor's storage too, never the one being parsed.

Once a deploy is served, the dag-processor reports its version to the control plane (once a deploy), so
the deploy records when its code went live and `astro-runtime deploy --wait` can wait for that with
the deployer's own login. The refresh keeps one client (and its connection) between refreshes.

Failures never reach Airflow's loop: an unreachable control plane, a refused token or a corrupt
download keeps the version being served and is logged once until it changes or heals.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.dag_processing.bundles.base import BaseDagBundle, BundleVersion, BundleVersionLock

from astronomer_plugins import config
from astronomer_plugins.bundles.download import check_version, fetch
from astronomer_plugins.bundles.store import BundleStore
from astronomer_plugins.control_plane.models import BundleRef
from astronomer_plugins.errors import (
    AstronomerConfigError,
    BundleRefused,
    ControlPlaneError,
    ControlPlaneUnavailable,
)

if TYPE_CHECKING:
    from astronomer_plugins.control_plane.client import ControlPlaneClient

log = logging.getLogger(__name__)


class ControlPlaneDagBundle(BaseDagBundle):
    """DAG deploys of this deployment, fetched from its control plane (see the module docstring)."""

    supports_versioning = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._store = BundleStore(self.base_dir, self.versions_dir)
        self._served: str | None = None
        self._served_ref: BundleRef | None = None
        self._problem: str | None = None  # the kind of failure logged last; logged again when it changes
        self._reported_empty = False
        self._confirmed: str | None = None  # the deploy whose serving the control plane has been told of
        self._client: ControlPlaneClient | None = None
        self._client_key: tuple[str, str] | None = None  # (url, sha256 of the token) it was made for
        self._in_use: BundleVersionLock | None = None  # the served version's lock against the cleanup

    # -- Airflow's bundle interface --------------------------------------------------------------

    @property
    def path(self) -> Path:
        if self.version:
            return self._store.version_path(check_version(self.version))
        if not _connected():
            return _dags_folder()
        return self._store.current

    def get_current_version(self) -> BundleVersion | None:
        if self.version:
            return BundleVersion(self.version)
        if self._served is None:
            return None
        data = _version_data(self._served_ref) if self._served_ref else None
        return BundleVersion(self._served, data)

    def initialize(self) -> None:
        if self.version:
            self._materialise(check_version(self.version))
            _first_on_sys_path(self.path)
        elif _connected():
            with self.lock():
                self._store.ensure_current()
                self._served, self._served_ref = self._store.served()
                self._hold(self._served)
            if self._served:
                log.info("DAG bundle %s: serving version %s from local storage", self.name, self._served)
            _first_on_sys_path(self.path)
        super().initialize()

    def refresh(self) -> None:
        """Follow the control plane's current deploy; never raises for the control plane's sake."""
        if self.version:
            raise BundleRefused(f"DAG bundle {self.name}: a fixed version ({self.version}) is not refreshed")
        if not _connected():
            return
        with self.lock():
            try:
                self._follow()
            except (ControlPlaneError, BundleRefused, AstronomerConfigError) as exc:
                self._drop_client()  # a fresh connection next time
                self._report(exc)
                return
        if self._problem is not None:
            log.info("DAG bundle %s: refresh works again; serving %s", self.name, self._served or "no DAGs")
            self._problem = None

    # -- the work ------------------------------------------------------------------------------------

    def _follow(self) -> None:
        deployment_id = config.require(config.DEPLOYMENT_ID)
        client = self._control_plane()
        ref = client.current_bundle(deployment_id)
        if ref is None:
            self._no_deploy()
            return
        check_version(ref.version)
        if ref.sha256 != ref.version:
            raise BundleRefused(f"bundle {ref.version[:12]}: BundleRef sha256 differs from its version")
        installed = self._store.has(ref.version)
        if ref != self._served_ref or not installed:
            if not installed:
                self._install(client, deployment_id, ref.version, ref.size_bytes)
            self._store.serve(ref)
            previous, self._served, self._served_ref = self._served, ref.version, ref
            self._hold(ref.version)
            log.info(
                "DAG bundle %s: now serving version %s (deploy %s by %s%s); was %s",
                self.name,
                ref.version,
                ref.deploy_id,
                ref.author,
                f": {ref.description}" if ref.description else "",
                previous or "empty",
            )
        if self._confirmed != ref.deploy_id:  # per deploy: a redeploy of the same bundle is told too
            client.bundle_served(deployment_id, ref.version)  # fails: told again on the next refresh
            self._confirmed = ref.deploy_id

    def _hold(self, version: str | None) -> None:
        """Lock `version` against the stale-bundle cleanup; the version served before is stamped
        last used now, then let go. Never raises: the cleanup is housekeeping, not serving."""
        previous, self._in_use = self._in_use, None
        try:
            if version:
                self._in_use = BundleVersionLock(bundle_name=self.name, bundle_version=version)
                self._in_use.acquire()
            if previous is not None and previous.version != version:
                stamp = BundleVersionLock(bundle_name=self.name, bundle_version=previous.version)
                stamp.acquire()  # writes "last used: now" into its tracking file
                stamp.release()
        except OSError as exc:
            log.warning(
                "DAG bundle %s: cannot mark version %s in use for the cleanup: %s", self.name, version, exc
            )
        finally:
            if previous is not None:
                previous.release()

    def _control_plane(self) -> ControlPlaneClient:
        """The kept client; a new one when the URL or the agent token changed (a rotated token file
        is read on every refresh)."""
        from astronomer_plugins.control_plane.client import BUNDLE, client_for

        url, token = config.require(config.CONTROL_PLANE_URL), config.agent_token()
        key = (url, hashlib.sha256(token.encode()).hexdigest())
        if self._client is None or self._client_key != key:
            self._drop_client()
            self._client, self._client_key = client_for(BUNDLE, url=url, token=token), key
        return self._client

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._client_key = None

    def _no_deploy(self) -> None:
        if self._served is not None:
            # Not "yet": never drop every DAG on the word of one answer; a new deploy replaces it.
            raise BundleRefused(
                f"the control plane reports no DAG deploy, but version {self._served} was deployed; "
                "keeping it until a new deploy"
            )
        self._store.serve(None)
        if not self._reported_empty:
            log.info("DAG bundle %s: no DAG deploy yet for this deployment; serving no DAGs", self.name)
            self._reported_empty = True

    def _install(
        self, client: ControlPlaneClient, deployment_id: str, version: str, expected_size: int | None
    ) -> None:
        from airflow.configuration import conf

        archive = fetch(
            client,
            deployment_id,
            version,
            directory=self._store.tmp,
            max_bytes=config.get_int(config.BUNDLE_MAX_BYTES),
            expected_size=expected_size,
        )
        try:
            self._store.install(
                version,
                archive,
                max_unpacked_bytes=config.get_int(config.BUNDLE_MAX_UNPACKED_BYTES),
                ignore_syntax=conf.get("core", "dag_ignore_file_syntax", fallback="glob"),
            )
        finally:
            archive.unlink(missing_ok=True)

    def _materialise(self, version: str) -> None:
        """A task runner's version: on disk already (the usual case), or fetched now."""
        if self._store.has(version):
            return
        with self.lock():
            if self._store.has(version):
                return
            try:
                self._install(self._control_plane(), config.require(config.DEPLOYMENT_ID), version, None)
            finally:
                self._drop_client()  # a task runner fetches once
        log.info("DAG bundle %s: fetched version %s for this task", self.name, version)

    def _report(self, exc: Exception) -> None:
        """Log a failure once: an outage is one kind however its messages vary (addresses, errno);
        a refusal or an HTTP status is one kind per message, so a different one is logged again."""
        outage = isinstance(exc, ControlPlaneUnavailable)
        kind = type(exc).__name__ if outage else f"{type(exc).__name__}: {exc}"
        if kind == self._problem:
            return
        self._problem = kind
        keeping = f"version {self._served}" if self._served else "no DAGs (nothing deployed here yet)"
        log.error("DAG bundle %s: refresh failed, keeping %s: %s", self.name, keeping, exc)


def _connected() -> bool:
    return bool(config.get(config.CONTROL_PLANE_URL))


def _dags_folder() -> Path:
    from airflow import settings

    return Path(settings.DAGS_FOLDER)


def _first_on_sys_path(path: Path) -> None:
    """The bundle's copy of dags/, include/ and plugins/ wins over any other one (e.g. the image's)."""
    entry = str(path)
    if sys.path[:1] != [entry]:
        if entry in sys.path:
            sys.path.remove(entry)
        sys.path.insert(0, entry)


def _version_data(ref: BundleRef) -> dict[str, Any]:
    """What DagVersion.version_data records of a deploy (the Runtime page's history reads it)."""
    fields = {"deploy_id", "author", "created_at", "description", "git_commit"}
    return ref.model_dump(mode="json", include=fields)
