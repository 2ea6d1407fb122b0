"""Import, in the calling thread, everything our background threads will use.

Airflow components fork (the triggerer's trigger runner, executor workers, DAG-file processors).
A child forked while one of our threads holds a module's import lock inherits that lock held by a
thread that does not exist in the child: the child's next import of that module hangs forever
(seen: the triggerer's trigger runner stuck importing `requests`). So threads must never import:
this runs before any of them starts.
"""

from __future__ import annotations

import importlib

# What requests and its helpers import lazily on first use, then our own modules on the threads' paths.
MODULES = (
    *("requests", "requests.adapters", "urllib3", "urllib3.util.ssl_", "encodings.idna", "idna"),
    *("charset_normalizer", "http.client", "email.parser", "ssl", "gzip", "json", "uuid", "random", "fcntl"),
    *("astronomer_plugins.config", "astronomer_plugins.errors", "astronomer_plugins.agent.identity"),
    *("astronomer_plugins.control_plane.client", "astronomer_plugins.control_plane.models"),
)


def preload(*extra: str) -> None:
    """Import MODULES and `extra` now; a missing optional module is skipped."""
    for name in (*MODULES, *extra):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
