"""Writing the revocation log so that its cursor never skips an entry.

Deployments page through an organization's revocations with `seq > cursor`. A sequence number is
taken when a row is inserted, but the row becomes visible when its transaction commits: two
concurrent revocations can commit out of order (seq 6 before seq 5), and a poll in between would move
the cursor past 5 for ever. So revocations are serialised per organization: every transaction that
inserts one first locks the organization's row (`SELECT ... FOR NO KEY UPDATE` on PostgreSQL), and
takes its seq only after any earlier revocation of that organization has committed. SQLite has one
writer at a time, which gives the same order (the lock is a no-op there).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from astronomer_control_plane.orm import Organization, Revocation


def lock(session: Session, organization_id: str) -> None:
    """Hold the organization's revocation lock until this transaction ends. Take it before reading
    what to revoke, so that the reads see every revocation committed before."""
    # NO KEY UPDATE: conflicts with itself, not with the key-share locks of foreign-key checks, so
    # creating workspaces, users or tokens in the organization is not blocked meanwhile.
    # (SQLAlchemy spells FOR NO KEY UPDATE `key_share=True`.)
    session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update(key_share=True)
    )


def record(session: Session, organization_id: str, jti: str, expires_at: dt.datetime | None) -> None:
    """Append `jti` to the log (once), under the organization's lock."""
    lock(session, organization_id)
    if session.scalar(select(Revocation.seq).where(Revocation.jti == jti)) is None:
        session.add(Revocation(organization_id=organization_id, jti=jti, expires_at=expires_at))
        session.flush()  # take the seq now, while the lock is held


def is_revoked(session: Session, jti: str) -> bool:
    return session.scalar(select(Revocation.seq).where(Revocation.jti == jti)) is not None
