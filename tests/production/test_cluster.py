"""The cluster as deployed: nginx in front of two Rasa instances that share PostgreSQL and Redis."""

import concurrent.futures
import re

import pytest
import requests
from prodlib import WEBHOOK, Ledger, chat, new_sender, patient_ip, session_from


def access_log_since(cluster, offset):
    log = cluster.s.log_dir / "nginx-access.log"
    with open(log, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


def access_log_size(cluster):
    log = cluster.s.log_dir / "nginx-access.log"
    return log.stat().st_size if log.exists() else 0


def test_every_component_is_up(cluster):
    assert {row["name"]: row["healthy"] for row in cluster.status()} == {name: True for name in cluster.components()}


def test_nginx_spreads_messages_over_both_instances(cluster):
    start = access_log_size(cluster)
    for n in range(12):
        assert chat(cluster.base_url, new_sender(), "hello", session=session_from(patient_ip(200 + n))).status == 200
    upstreams = re.findall(r"upstream=127\.0\.0\.1:(\d+)", access_log_since(cluster, start))
    assert {int(port) for port in upstreams} == set(cluster.s.rasa_ports)


def test_a_conversation_moves_between_instances_with_its_history(cluster, db, is_assistant):
    """Messages of one patient alternate between the instances; each instance sees the
    whole conversation, because the tracker lives in PostgreSQL."""
    sender = new_sender()
    rasa_1, rasa_2 = (cluster.rasa_url(name) for name in cluster.s.rasa_names()[:2])
    texts = ["hello", "what is sciatica", "tell me more", "thanks", "hello", "bye"]
    replies = [chat(rasa_1 if i % 2 == 0 else rasa_2, sender, text) for i, text in enumerate(texts)]
    assert all(r.status == 200 and r.messages for r in replies)
    ledger = Ledger()
    for text, reply in zip(texts, replies, strict=True):
        ledger.record(sender, text, reply)
    assert ledger.problems(db) == []
    assert db.user_texts(sender) == texts
    if is_assistant:
        # "tell me more" (on rasa-1) continues the topic asked on rasa-2.
        assert replies[1].topics and replies[2].topics
        assert replies[2].topics[0] == replies[1].topics[0] == "sciatica"


def test_tls_server_answers_with_the_certificate(cluster):
    cert = cluster.s.tls_dir / "localhost.crt"
    http = session_from()
    resp = http.post(
        cluster.tls_url + WEBHOOK, json={"sender": new_sender(), "message": "hello"}, verify=str(cert), timeout=60
    )
    assert resp.status_code == 200 and resp.json()
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "nginx/" not in resp.headers.get("Server", "")


def test_request_body_over_the_limit_is_refused_by_nginx(cluster):
    body = {"sender": new_sender(), "message": "x" * 100_000}
    resp = session_from(patient_ip(230)).post(cluster.base_url + WEBHOOK, json=body, timeout=30)
    assert resp.status_code == 413
    assert resp.json() == {"error": "request body too large"}


def test_rate_limit_is_per_client(cluster):
    """One client that floods gets 429s; another client at the same time is not slowed down."""
    flooder, patient = session_from("127.0.9.9"), session_from("127.0.9.10")
    bad_json = b'{"not json'

    def flood(_):
        return flooder.post(
            cluster.base_url + WEBHOOK, data=bad_json, headers={"Content-Type": "application/json"}, timeout=30
        ).status_code  # JSON content type (else 415), malformed body: 400

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(flood, range(3 * cluster.s.rate_burst + 20)))
    assert 429 in codes, codes
    assert set(codes) <= {400, 429}
    assert chat(cluster.base_url, new_sender(), "hello", session=patient).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/status",
        "/version",
        "/domain",
        "/model/parse",
        "/conversations/abc/tracker",
        "/webhooks/rest/",
        "/webhooks/socketio/",
        "/socket.io.js",
        "/..%2fstatus",
        "/webhooks/rest/webhook/../../../status",
    ],
)
def test_nothing_but_the_channels_is_published(cluster, path):
    resp = requests.get(cluster.base_url + path, timeout=10)
    assert resp.status_code in {400, 403, 404}, (path, resp.status_code, resp.text[:200])


def test_webhook_takes_post_only(cluster):
    resp = requests.get(cluster.base_url + WEBHOOK, timeout=10)
    assert resp.status_code in {403, 405}
