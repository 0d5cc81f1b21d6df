"""Rasa's SQL tracker store on SQLite, tuned for one server process (the embedded profile).

Rasa 3.6's ``SQLTrackerStore`` talks to SQLite synchronously on the event loop, so every
millisecond a commit takes is a millisecond no other patient is served. Stock settings
use SQLite's rollback journal with a full fsync per commit, and SQLAlchemy 1.4 opens a new
connection for every session on a file database. Here:

* ``journal_mode=WAL`` and ``synchronous=NORMAL``: a commit appends to the write-ahead log
  without waiting for the disk (durable across a process crash; a power cut may lose the
  last turns, never corrupt the file). Readers (retention, exports) do not block the server.
* one connection kept per thread (``SingletonThreadPool``) instead of one per turn.
* the last-used conversations kept in memory, checked against the database before each
  use (serving/tracker_cache.py), so a turn does not re-read and re-parse the whole
  conversation.
* ``busy_timeout``: a concurrent writer (``make retention``) makes the server wait briefly
  rather than fail the turn.

Same table, same keys as ``type: SQL``; endpoints.yml::

    tracker_store:
      type: serving.sqlite_store.TunedSQLiteTrackerStore
      dialect: sqlite
      db: ${TRACKER_DB}
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.pool import SingletonThreadPool

from serving import speedups
from serving.tracker_cache import CachedSQLTrackerStoreMixin

logger = logging.getLogger(__name__)

# journal_size_limit=0: after each checkpoint the WAL file is cut back to nothing, so rows
# deleted by retention do not linger there (retention should still end with
# `PRAGMA wal_checkpoint(TRUNCATE)`; its owner's call).
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_size_limit=0",
)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class TunedSQLiteTrackerStore(CachedSQLTrackerStoreMixin, SQLTrackerStore):
    """``SQLTrackerStore`` on SQLite with WAL, NORMAL sync, a kept connection and the
    fingerprint-checked conversation cache (serving/tracker_cache.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        speedups.install()  # start-up work for the whole Rasa process (serving/speedups.py)
        self._init_tracker_cache()
        url = self.engine.url
        if url.get_backend_name() != "sqlite":
            logger.info("Tracker store: %s left as is on %s", type(self).__name__, url.get_backend_name())
            return
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=SingletonThreadPool, hide_parameters=True)
        sa.event.listen(self.engine, "connect", _on_connect)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        logger.info("Tracker store: SQLite with WAL, synchronous=NORMAL, one kept connection")
