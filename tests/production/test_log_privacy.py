"""Logs at INFO hold no message text: not Rasa's, not the action server's, not nginx's,
not PostgreSQL's or Redis's - also on the error paths (malformed requests, over-long
messages, a failed turn while the action server is down).

Runs after every other production test (marker `last`), so the logs it reads also hold
whatever the load, fault, fuzz and bad-input tests made the cluster write; their most
telling phrases are checked too."""

import json
import time
import uuid

import psutil
import pytest
from prodlib import WEBHOOK, chat, log_files, new_sender, patient_ip, session_from, sio_connected

# Phrases the other production tests send; none may show up in a log.
OTHER_TESTS_PHRASES = [
    "can't feel my groin",  # test_faults / locustfile red flag
    "which exercises strengthen",  # test_faults, Patients
    "what causes pain in the side",  # Patients, locustfile
    "Me duele la cadera",  # test_bad_input
    "DROP TABLE events",  # test_bad_input
    "alert(document.cookie)",  # test_bad_input
]


def session_logs(cluster):
    """Every log file of the cluster, from where it stood when this test session began."""
    logs = {}
    for path in log_files(cluster):
        with open(path, "rb") as handle:
            handle.seek(cluster.log_offsets.get(path, 0))
            logs[path.name] = handle.read().decode("utf-8", "replace")
    return logs


@pytest.mark.last
def test_logs_at_info_hold_no_message_text(cluster):
    marker = "zq" + uuid.uuid4().hex[:12]
    rasa_urls = [cluster.rasa_url(n) for n in cluster.s.rasa_names()]
    http = session_from(patient_ip(245))

    texts = [
        f"hello {marker}",
        f"my buttock hurts when I sit {marker}",
        f"I suddenly can't feel my groin {marker} and I can't control my bladder",
        f"what exercises help {marker} " * 200,  # over the channel's length limit
        f"/greet@1.0 {marker} I have lost control of my bladder",  # slash text: never logged at WARNING
        f'/gluteus_medius{{"x":"y"}} {marker}',
        f'/choose_option{{"ordinal": "\u00b2"}} {marker}',
    ]
    for base in [cluster.base_url, *rasa_urls]:
        for text in texts:
            chat(base, new_sender(), text, session=http)
            time.sleep(0.1)
    # malformed requests that carry the text
    for body in [
        ('{"sender": "abc", "message": "' + marker + " unterminated").encode(),
        json.dumps({"sender": [marker], "message": f"{marker} wrong sender"}).encode(),
        json.dumps({"sender": new_sender(), "message": [marker]}).encode(),
        b'{"sender": "abc", "message": "' + marker.encode() + b' \xff\xfe"}',
    ]:
        for base in [cluster.base_url, rasa_urls[0]]:
            resp = http.post(base + WEBHOOK, data=body, headers={"Content-Type": "application/json"}, timeout=60)
            assert resp.status_code < 500
            time.sleep(0.1)
    # socket.io
    client = sio_connected(cluster.base_url)  # retries a refused handshake on a loaded machine
    try:
        session = new_sender()
        client.emit("session_request", {"session_id": session})
        client.sleep(0.5)
        client.emit("user_uttered", {"message": f"my hip clicks {marker}", "session_id": session})
        client.emit("user_uttered", {"message": 12345, "session_id": f"{marker}"})
        client.sleep(3)
    finally:
        client.disconnect()
    # an action that fails: a forged call the action server cannot run (it must not echo
    # or log the tracker), then a real turn after a question with an ordinal that is a digit
    # but no decimal ("\u00b2")
    token = psutil.Process(cluster.pid("actions")).environ().get("ACTION_SERVER_TOKEN", "")
    forged = {"next_action": "action_answer_topic", "tracker": {"latest_message": {"text": marker}}, "domain": {}}
    resp = http.post(
        f"http://{cluster.s.listen_host}:{cluster.s.actions_port}/webhook",
        json=forged,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert resp.status_code == 500 and marker not in resp.text
    sender = new_sender()
    chat(cluster.base_url, sender, f"which exercises help {marker}", session=http)
    chat(cluster.base_url, sender, '/choose_option{"ordinal": "\u00b2"}', session=http)
    # a turn that fails: the action server is down
    cluster.kill("actions")
    try:
        chat(cluster.base_url, new_sender(), f"how do I do hip drops {marker}", session=http)
        chat(cluster.base_url, new_sender(), f"I can't control my bladder {marker}", session=http)
    finally:
        cluster.start("actions")
        cluster.wait_healthy(["actions"])
    time.sleep(1)

    logs = session_logs(cluster)
    assert any(" INFO " in text for name, text in logs.items() if name.startswith("rasa-")), "Rasa logs at INFO"
    leaks = {name: marker for name, text in logs.items() if marker in text}
    leaks.update(
        {name: "Failed to parse arguments" for name, text in logs.items() if "Failed to parse arguments" in text}
    )
    leaks.update({name: "request_body" for name, text in logs.items() if "request_body" in text})
    leaks.update({name: phrase for name, text in logs.items() for phrase in OTHER_TESTS_PHRASES if phrase in text})
    assert leaks == {}, f"message text in the logs: {leaks}"
