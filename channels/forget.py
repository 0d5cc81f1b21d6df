"""Forget one conversation now: delete its events from the tracker store.

The kiosk's "start again" button calls ``POST /webhooks/rest/forget`` with its
conversation id, so the next patient at the front desk cannot be followed by anyone who
learns the old id, and nothing of the previous patient waits for the nightly retention.
Whoever holds the id may forget the conversation - the same possession that lets them
read its replies - and ids are random UUIDs (122 bits), so no one can guess another's.

Supported stores: Rasa's SQL tracker store (SQLite in the embedded profile, PostgreSQL in
production, also deploy.tracker_store's subclass) and the in-memory store. On SQLite the
delete runs with ``secure_delete`` on, so the deleted rows are overwritten with zeros in
the file, not just unlinked, and the write-ahead log (WAL mode) is checkpointed and
truncated. PostgreSQL frees the rows at its next (auto)vacuum.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import sqlalchemy as sa

logger = logging.getLogger(__name__)


class NotSupported(Exception):
    """The configured tracker store has no way to delete one conversation here."""


def _unwrap(store: Any) -> Any:
    """Rasa wraps the configured store (FailSafeTrackerStore, AwaitableTrackerStore)."""
    for _ in range(5):
        inner = getattr(store, "_tracker_store", None)
        if inner is None:
            return store
        store = inner
    return store


def delete_conversation(tracker_store: Any, sender_id: str) -> int:
    """Delete every event of ``sender_id``; the number of events deleted."""
    from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore

    store = _unwrap(tracker_store)
    if isinstance(store, SQLTrackerStore):
        with store.session_scope() as session:
            if session.bind.dialect.name == "sqlite":
                session.execute(sa.text("PRAGMA secure_delete = ON"))
            deleted = (
                session.query(store.SQLEvent)
                .filter(store.SQLEvent.sender_id == sender_id)
                .delete(synchronize_session=False)
            )
            session.commit()
            if session.bind.dialect.name == "sqlite":
                # In WAL mode the old pages also sit in the -wal file until a checkpoint.
                session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        forget_cached = getattr(store, "forget_cached", None)  # serving/tracker_cache.py
        if forget_cached is not None:
            forget_cached(sender_id)
        return int(deleted or 0)
    if isinstance(store, InMemoryTrackerStore):
        return 1 if store.store.pop(sender_id, None) is not None else 0
    raise NotSupported(type(store).__name__)


async def forget(agent: Optional[Any], sender_id: str, wait_seconds: float = 5.0) -> int:
    """Delete the conversation under the lock store's lock, so a turn that is still
    running cannot write it back half-way; a turn that comes later starts afresh."""
    if agent is None or getattr(agent, "tracker_store", None) is None:
        raise NotSupported("no agent loaded")
    lock_store = getattr(agent, "lock_store", None)
    if lock_store is None:
        return delete_conversation(agent.tracker_store, sender_id)
    async with lock_store.lock(sender_id, lock_lifetime=wait_seconds * 2, wait_time_in_seconds=0.1):
        return delete_conversation(agent.tracker_store, sender_id)
