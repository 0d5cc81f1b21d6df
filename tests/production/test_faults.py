"""Faults under load, each injected for real into the running cluster:

* one Rasa instance is killed (SIGKILL) - conversations carry on through the other one,
  with their history;
* the action server is killed - red flags still escalate, other messages get the safe
  reply, and answers come back when it restarts;
* PostgreSQL is restarted (fast shutdown, and a crash: immediate shutdown) and Redis is
  restarted - the service recovers without restarting Rasa and no saved conversation is lost.

Every fault goes through supervisord (deploy/supervise.py), as an operator's
`supervisorctl stop/start/signal` would: a kill is "stop, then SIGKILL at once", so
supervisord leaves the process stopped instead of restarting it behind the test's back.
"""

import time

import pytest
from prodlib import Patients, chat, new_sender, patient_ip, session_from, wait_until

RED_FLAG = "I suddenly can't feel my groin and I can't control my bladder"
QUESTION = "which exercises strengthen the gluteus medius"
ESCALATION_ORDER = ["none", "routine", "urgent", "emergency"]


def highest_escalation(reply):
    levels = [ESCALATION_ORDER.index(e) for e in reply.escalations if e in ESCALATION_ORDER]
    return ESCALATION_ORDER[max(levels)] if levels else None


@pytest.fixture
def healthy_afterwards(cluster):
    """Whatever a fault test did, the next test finds every component up again."""
    yield
    for name in cluster.components():
        if not cluster.healthy(name):
            cluster.start(name)
    cluster.wait_healthy(cluster.components())


def test_kill_one_rasa_instance_during_load(cluster, db, is_assistant, healthy_afterwards):
    victim, survivor = cluster.s.rasa_names()[0], cluster.s.rasa_names()[1]
    # A conversation whose history lives on: its topic is set on the instance that dies.
    context_sender = new_sender()
    if is_assistant:
        first = chat(cluster.rasa_url(victim), context_sender, "what is sciatica")
        assert "sciatica" in first.topics

    patients = Patients(cluster.base_url, count=8, think=0.3, first_ip=100).start()
    time.sleep(8)
    killed_at = time.monotonic()
    cluster.kill(victim)
    assert cluster.pid(victim) is None
    assert cluster.sup.state(victim) == "STOPPED"  # supervisord does not bring it back by itself
    time.sleep(20)
    patients.stop()

    # Every conversation carried on: model replies after the kill.
    after = patients.kinds_after(killed_at + 12)
    for sender, kinds in after.items():
        assert "model" in kinds, f"{sender}: no answer after the kill ({kinds})"
    # Requests fail only at the moment of the kill (those in flight on the victim).
    late = [f for f in patients.ledger.failures if f[3] > killed_at + 2]
    assert late == [], late
    assert len(patients.ledger.failures) <= len(patients.threads)
    # Nothing answered is lost, nothing is stored twice.
    assert patients.ledger.problems(db) == []
    # History carried over: "tell me more" continues the topic set on the dead instance.
    if is_assistant:
        more = chat(cluster.base_url, context_sender, "tell me more")
        assert more.status == 200 and "sciatica" in more.topics
    # The survivor carried the load; the victim comes back and rejoins.
    assert cluster.healthy(survivor)
    cluster.start(victim)
    cluster.wait_healthy([victim])
    log = cluster.s.log_dir / "nginx-access.log"
    offset = log.stat().st_size
    victim_port = cluster.s.rasa_port(victim)

    def victim_serves_again():
        chat(cluster.base_url, new_sender(), "hello", session=session_from(patient_ip(90)))
        with open(log, "rb") as handle:
            handle.seek(offset)
            return f"upstream=127.0.0.1:{victim_port}" in handle.read().decode("utf-8", "replace")

    wait_until(victim_serves_again, timeout=30, interval=0.5, what="nginx sending to the restarted instance")


def test_action_server_down_red_flags_still_escalate(cluster, assistant_only, healthy_afterwards):
    before = chat(cluster.base_url, new_sender(), QUESTION)
    assert "exercises" in before.topics and not before.safe_net
    cluster.kill("actions")
    try:
        red = chat(cluster.base_url, new_sender(), RED_FLAG)
        assert red.status == 200
        assert "red_flag" in red.topics
        assert highest_escalation(red) in {"emergency", "urgent"}
        other = chat(cluster.base_url, new_sender(), QUESTION)
        assert other.status == 200 and other.safe_net, other.messages
    finally:
        cluster.start("actions")
        cluster.wait_healthy(["actions"])
    after = chat(cluster.base_url, new_sender(), QUESTION)
    assert after.status == 200 and "exercises" in after.topics and not after.safe_net


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_loses_nothing(cluster, db, mode, healthy_afterwards):
    """`fast` is a normal restart; `immediate` stops without a checkpoint, like a crash, and
    the server recovers from its write-ahead log on start."""
    old_sender = new_sender()
    for text in ("hello", "what is the gluteus medius", "thanks"):
        assert chat(cluster.base_url, old_sender, text, session=session_from(patient_ip(91))).status == 200
    stored_before = db.user_texts(old_sender)
    rasa_pids = {name: cluster.pid(name) for name in cluster.s.rasa_names()}

    patients = Patients(cluster.base_url, count=6, think=0.2, first_ip=120).start()
    time.sleep(4)
    old_postmaster = cluster.pid("postgres")
    cluster.restart_postgres(mode)
    assert cluster.pid("postgres") not in (None, old_postmaster), "PostgreSQL was not restarted"
    time.sleep(8)
    patients.stop()

    assert {name: cluster.pid(name) for name in cluster.s.rasa_names()} == rasa_pids, "Rasa was restarted"
    assert patients.ledger.failures == []
    assert patients.ledger.count("safe") == 0, "a turn could not run while the database restarted"
    assert patients.ledger.problems(db) == []
    assert db.user_texts(old_sender) == stored_before
    assert chat(cluster.base_url, old_sender, "bye", session=session_from(patient_ip(91))).status == 200
    assert db.user_texts(old_sender) == stored_before + ["bye"]


def test_redis_restart_loses_nothing(cluster, db, healthy_afterwards):
    old_sender = new_sender()
    for text in ("hello", "what is the gluteus medius"):
        assert chat(cluster.base_url, old_sender, text, session=session_from(patient_ip(92))).status == 200
    stored_before = db.user_texts(old_sender)
    rasa_pids = {name: cluster.pid(name) for name in cluster.s.rasa_names()}

    patients = Patients(cluster.base_url, count=6, think=0.2, first_ip=130).start()
    time.sleep(4)
    cluster.stop("redis")
    cluster.start("redis")
    cluster.wait_healthy(["redis"], timeout=30)
    restarted_at = time.monotonic()
    time.sleep(8)
    patients.stop()

    assert {name: cluster.pid(name) for name in cluster.s.rasa_names()} == rasa_pids, "Rasa was restarted"
    assert patients.ledger.failures == [], "never an error status"
    for sender, kinds in patients.kinds_after(restarted_at + 2).items():
        assert kinds and set(kinds) == {"model"}, f"{sender}: {kinds}"
    assert patients.ledger.problems(db) == []
    assert db.user_texts(old_sender) == stored_before
    assert chat(cluster.base_url, old_sender, "thanks", session=session_from(patient_ip(92))).status == 200
    assert db.user_texts(old_sender) == stored_before + ["thanks"]
