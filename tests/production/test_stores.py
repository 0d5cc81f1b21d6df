"""The two store classes of the production profile (deploy/tracker_store.py,
deploy/lock_store.py), against the cluster's own PostgreSQL and Redis."""

import asyncio
import json
import time
import uuid

import pytest
from prodlib import REPO  # noqa: F401  (puts the repository on sys.path)


@pytest.fixture
def lock_stores(cluster):
    from rasa.core.lock_store import RedisLockStore

    from deploy.lock_store import ResilientRedisLockStore

    kwargs = dict(
        host=cluster.s.listen_host,
        port=cluster.s.redis_port,
        db=cluster.s.redis_db,
        password=cluster.secrets()["REDIS_PASSWORD"],
        key_prefix="storetest",
    )
    return RedisLockStore(**kwargs), ResilientRedisLockStore(**kwargs)


def plant_stale_ticket(store, conversation_id, expires_in):
    """What an instance that died while holding the lock leaves behind."""
    store.red.set(
        store.key_prefix + conversation_id,
        json.dumps(
            {
                "conversation_id": conversation_id,
                "tickets": [json.dumps({"number": 7, "expires": time.time() + expires_in})],
            }
        ),
    )


async def acquire(store, conversation_id, lifetime):
    t0 = time.monotonic()
    async with store.lock(conversation_id, lock_lifetime=lifetime):
        return time.monotonic() - t0


def test_stock_lock_store_hangs_on_a_dead_instances_ticket(lock_stores):
    """The Rasa 3.6 behaviour the fix is for: the waiter's own ticket expires right after
    the dead one, and the waiter then waits for nothing (here: until we stop it)."""
    stock, _ = lock_stores
    conversation = str(uuid.uuid4())
    plant_stale_ticket(stock, conversation, expires_in=1.5)
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(acquire(stock, conversation, lifetime=1.6), timeout=6))
    stock.red.delete(stock.key_prefix + conversation)


def test_resilient_lock_store_serves_the_waiter(lock_stores):
    _, resilient = lock_stores
    conversation = str(uuid.uuid4())
    plant_stale_ticket(resilient, conversation, expires_in=1.5)
    waited = asyncio.run(asyncio.wait_for(acquire(resilient, conversation, lifetime=1.6), timeout=6))
    assert 1.0 < waited < 4.0
    assert resilient.red.get(resilient.key_prefix + conversation) is None  # cleaned up


def test_resilient_lock_store_keeps_order(lock_stores):
    """Two messages of one conversation are still served one after the other."""
    _, resilient = lock_stores
    conversation, order = str(uuid.uuid4()), []

    async def message(n):
        async with resilient.lock(conversation, lock_lifetime=10, wait_time_in_seconds=0.05):
            order.append(("start", n))
            await asyncio.sleep(0.3)
            order.append(("end", n))

    async def both():
        first = asyncio.ensure_future(message(1))
        await asyncio.sleep(0.05)
        await asyncio.gather(first, message(2))

    asyncio.run(both())
    assert order == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]


def test_tracker_store_checks_connections_and_hides_values(cluster):
    """A failed save names the statement, never the values - which hold the patient's words."""
    import sqlalchemy as sa
    from rasa.shared.core.domain import Domain

    from deploy.tracker_store import ResilientSQLTrackerStore

    store = ResilientSQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host=cluster.s.listen_host,
        port=cluster.s.postgres_port,
        db=cluster.s.postgres_db,
        username=cluster.s.postgres_user,
        password=cluster.secrets()["POSTGRES_PASSWORD"],
    )
    try:
        assert store.engine.pool._pre_ping is True
        assert store.engine.hide_parameters is True
        too_long_sender = "x" * 300  # the column holds 255 characters: the INSERT fails
        with pytest.raises(sa.exc.SQLAlchemyError) as failure:
            with store.session_scope() as session:
                session.add(
                    store.SQLEvent(
                        sender_id=too_long_sender,
                        type_name="user",
                        timestamp=time.time(),
                        data=json.dumps({"event": "user", "text": "my hip hurts so much"}),
                    )
                )
                session.commit()
        assert "value too long" in str(failure.value)
        assert "my hip hurts" not in str(failure.value)
        assert "hidden due to hide_parameters" in str(failure.value)
    finally:
        store.engine.dispose()
