"""Deployment registration: every long-lived Airflow component enrolls with the control plane.

The scheduler, dag-processor and triggerer register through Airflow's lifecycle listener
(`listener.py`), the api-server through an ASGI lifespan middleware (`asgi.py`); task processes never
register. One daemon thread per process (`agent.py`) registers, heartbeats and deregisters, and never
blocks, slows or crashes its component.

    settings   what [astronomer] says (enabled? where? how often?), read when a component starts
    identity   which component this is (one classification, also used by metrics) and the process's
               one instance id (also named by its metric batches)
    payload    what is sent: the registration and each heartbeat's status
    agent      the background thread: backoff with jitter, fault handling, bounded deregistration
    lifecycle  the one agent of a process: start once, stop within 2 s, fork-safe
    listener   Airflow lifecycle hooks (Job-based components)
    asgi       the api-server's start-up and shutdown hook

Modules here import nothing heavy at import time: the plugin imports `listener` and `asgi` in every
Airflow process, task runners included.
"""

from __future__ import annotations
