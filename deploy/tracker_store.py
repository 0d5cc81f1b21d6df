"""Rasa's SQL tracker store, made to ride out a database restart.

Rasa 3.6's ``SQLTrackerStore`` (``type: SQL``) is used as it is, with three changes to how
it talks to the database. Each one was seen to matter in the fault tests
(tests/production/test_faults.py):

* ``pool_pre_ping``: after PostgreSQL restarts, every pooled connection is dead. Stock
  Rasa finds out by failing the next query; its ``FailSafeTrackerStore`` then answers that
  message from an empty tracker (no history) and the turn is never stored. Here a dead
  connection is replaced before it is used.
* Short retries: while the database is unreachable (a restart takes one to three
  seconds), reading and saving a conversation is retried for up to ``retry_seconds``
  (env ``TRACKER_STORE_RETRY_SECONDS``, default 10) without blocking the event loop, so
  the turn waits instead of losing its history. A longer outage ends in Rasa's own
  behaviour (the channel's safe reply, or an answer from an empty tracker).
* The last-used conversations are kept in memory and served only while the database's
  fingerprint of them (count, max id, max timestamp) is unchanged, so the cluster's other
  Rasa process, retention and "forget" are always seen (serving/tracker_cache.py).
* ``hide_parameters``: SQLAlchemy puts the statement's parameters into its error
  messages, and Rasa logs those errors - a failed save would write the patient's message
  (the event JSON) into the log. Here SQLAlchemy's errors list no parameters.

Configured like the stock store (same keys, same ``events`` table), in
deploy/rasa/endpoints.yml::

    tracker_store:
      type: deploy.tracker_store.ResilientSQLTrackerStore
      dialect: postgresql
      ...
"""

import asyncio
import json
import logging
import os
import time
from typing import Any, Awaitable, Callable, Optional, Text, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import exc as sa_exc

from serving import speedups
from serving.tracker_cache import CachedSQLTrackerStoreMixin

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Errors that mean "the database is not reachable right now", not "the query is wrong".
TRANSIENT_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)


class ResilientSQLTrackerStore(CachedSQLTrackerStoreMixin, SQLTrackerStore):
    """``SQLTrackerStore`` with connection checks, short retries and no values in errors."""

    def __init__(self, *args: Any, retry_seconds: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        speedups.install()  # start-up work for the whole Rasa process (serving/speedups.py)
        self._init_tracker_cache()
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        if retry_seconds is None:
            retry_seconds = float(os.environ.get("TRACKER_STORE_RETRY_SECONDS", "10"))
        self.retry_seconds = float(retry_seconds)
        logger.info(
            "Tracker store: %s on %s (connection checks on, retries for %.0f s)",
            type(self).__name__,
            url.get_backend_name(),
            self.retry_seconds,
        )

    async def _retrying(self, what: Text, attempt: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.1
        while True:
            try:
                return await attempt()
            except TRANSIENT_ERRORS as error:
                if time.monotonic() + delay > deadline:
                    logger.error("tracker store: %s failed, database unreachable (%s)", what, type(error).__name__)
                    raise
                logger.warning("tracker store: %s failed (%s); retrying in %.1f s", what, type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        parent = super()._retrieve
        return await self._retrying("read", lambda: parent(sender_id, fetch_events_from_all_sessions))

    async def keys(self) -> Any:
        parent = super().keys
        return await self._retrying("keys", parent)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events the database does not have yet (as Rasa does), retried as a whole.

        Each attempt counts what is already stored and adds only the rest in one
        transaction, so a retry after a lost commit acknowledgement adds nothing twice.
        """
        await self.stream_events(tracker)

        async def attempt() -> None:
            self._store_new_events(tracker)

        await self._retrying("save", attempt)
        self._remember_saved(tracker)

    def _store_new_events(self, tracker: DialogueStateTracker) -> None:
        # The database part of rasa.core.tracker_store.SQLTrackerStore.save (Rasa 3.6).
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
