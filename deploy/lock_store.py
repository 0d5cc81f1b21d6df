"""Rasa's Redis lock store, made to survive a dead instance and a Redis restart.

Rasa 3.6's ``RedisLockStore`` (``type: redis``) is used as it is, with two changes. Both
were found by the fault tests (tests/production/test_faults.py):

* **A waiter whose own ticket expires is served.** Rasa queues the messages of one
  conversation with numbered tickets that expire after ``TICKET_LOCK_LIFETIME`` seconds.
  When an instance dies while it holds a ticket, the next message of that conversation
  (on the surviving instance) waits for the dead ticket to expire - but its own ticket,
  issued a moment later, expires a moment later too, and when both are gone before the
  waiter looks again (it looks once a second), Rasa's loop waits for a ticket that no
  longer exists, forever: the conversation is stuck until the client gives up. Here the
  waiter puts its ticket back in the queue, in its place, and is served.
* **Redis restarts are ridden out.** Issuing, checking and returning a ticket are retried
  for up to ``retry_seconds`` (env ``LOCK_STORE_RETRY_SECONDS``, default 10) without
  blocking the event loop, so a message that arrives while Redis restarts waits a moment
  instead of failing.

Configured like the stock store, in deploy/rasa/endpoints.yml::

    lock_store:
      type: deploy.lock_store.ResilientRedisLockStore
      url: ...
"""

import asyncio
import logging
import os
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, Text, TypeVar

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis import exceptions as redis_exceptions

logger = logging.getLogger(__name__)

T = TypeVar("T")
TRANSIENT_ERRORS = (redis_exceptions.ConnectionError, redis_exceptions.TimeoutError, LockError)


class ResilientRedisLockStore(RedisLockStore):
    """``RedisLockStore`` that serves expired waiters and retries while Redis is away."""

    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, retry_seconds: Optional[float] = None, **kwargs: Any
    ) -> None:
        # Rasa hands a custom lock store its endpoint configuration as a whole.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
            retry_seconds = kwargs.pop("retry_seconds", retry_seconds)
        super().__init__(**kwargs)
        if retry_seconds is None:
            retry_seconds = float(os.environ.get("LOCK_STORE_RETRY_SECONDS", "10"))
        self.retry_seconds = float(retry_seconds)
        logger.info(
            "Lock store: %s (ticket lifetime %.0f s, retries for %.0f s)",
            type(self).__name__,
            LOCK_LIFETIME,
            self.retry_seconds,
        )

    async def _retrying(self, what: Text, attempt: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.1
        while True:
            try:
                return attempt()
            except TRANSIENT_ERRORS as error:
                if time.monotonic() + delay > deadline:
                    logger.error("lock store: %s failed, Redis unreachable (%s)", what, type(error).__name__)
                    raise
                logger.warning("lock store: %s failed (%s); retrying in %.1f s", what, type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        ticket = await self._retrying("issue ticket", lambda: self.issue_ticket(conversation_id, lock_lifetime))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds, lock_lifetime)
        finally:
            await self._retrying("return ticket", lambda: self.cleanup(conversation_id, ticket))

    async def _acquire_lock(  # type: ignore[override]
        self,
        conversation_id: Text,
        ticket: int,
        wait_time_in_seconds: float,
        lock_lifetime: float = LOCK_LIFETIME,
    ) -> TicketLock:
        while True:
            lock = await self._retrying("check lock", lambda: self.get_lock(conversation_id))
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            if lock._ticket_for_ticket_number(ticket) is None:
                # Our own ticket expired while we waited: put it back in its place.
                logger.warning("lock store: a waiting ticket expired; queueing it again")
                tickets = list(lock.tickets) + [Ticket(ticket, time.time() + lock_lifetime)]
                lock.tickets = deque(sorted(tickets, key=lambda t: t.number))
                await self._retrying("requeue ticket", lambda lock=lock: self.save_lock(lock))
                continue
            await asyncio.sleep(wait_time_in_seconds)
            await self._retrying("update lock", lambda: self.update_lock(conversation_id))
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
