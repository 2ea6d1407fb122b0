"""The component agent: one background thread per long-lived Airflow component.

The scheduler, dag-processor and triggerer start theirs through Airflow's lifecycle listener
(`listener.py`), each api-server worker through an ASGI lifespan middleware (`asgi.py`); task
processes never run one. The agent works out the component's identity once (its kind and one
instance id) and runs the component's periodic jobs: registration and heartbeats
(astronomer_plugins.registration) and the metrics flush and push (astronomer_plugins.metrics).

    identity   which component this is (the one classification) and its instance id
    agent      the thread: identity, the jobs' schedule, a stop bounded to 2 s
    lifecycle  the one agent of a process: which jobs it runs, start once, fork-safe, stop at exit
    listener   Airflow lifecycle hooks (Job-based components and task runners)
    asgi       the api-server's start-up and shutdown hook

Modules here import nothing heavy at import time: the plugin imports `listener` and `asgi` in every
Airflow process, task runners included.
"""

from __future__ import annotations
