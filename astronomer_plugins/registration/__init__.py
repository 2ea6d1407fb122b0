"""Deployment registration: every long-lived Airflow component enrolls with the control plane.

A periodic job of the component agent (astronomer_plugins.agent): it registers, heartbeats and
deregisters, and never blocks, slows or crashes its component.

    settings   what [astronomer] says (enabled? where? how often?), read when a component starts
    payload    what is sent: the registration and each heartbeat's status
    job        the registration job: backoff with jitter, fault handling, bounded deregistration
"""

from __future__ import annotations
