"""The action server entry point (serving/action_server.py), as a real process on
127.0.0.1:5755: no request body or exception text in its responses or logs, the optional
shared token, bounded compressed bodies, loopback by default, 4xx for malformed calls."""

import gzip
import json
import uuid
import zlib

import psutil
import pytest
import requests
from servers import ACTIONS_PORT, action_server

URL = f"http://127.0.0.1:{ACTIONS_PORT}"
TOKEN = "t-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("actions") / "actions.log"
    handle = action_server(log, ACTION_SERVER_TOKEN=TOKEN, SANIC_REQUEST_MAX_SIZE="1000000").start(timeout=120)
    yield handle
    handle.stop()


def action_call(text: str, action: str = "action_greet") -> dict:
    tracker = {
        "sender_id": str(uuid.uuid4()),
        "slots": {},
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "events": [{"event": "user", "text": text, "timestamp": 1.0}],
        "latest_message": {
            "text": text,
            "intent": {"name": "greet", "confidence": 1.0},
            "entities": [],
            "intent_ranking": [{"name": "greet", "confidence": 1.0}],
        },
    }
    return {
        "next_action": action,
        "sender_id": tracker["sender_id"],
        "tracker": tracker,
        "domain": {},
        "version": "3.6.21",
    }


def post(body: bytes, headers=None, **kwargs):
    return requests.post(
        URL + "/webhook",
        data=body,
        headers={"Content-Type": "application/json", **AUTH, **(headers or {})},
        timeout=10,
        **kwargs,
    )


def test_health_needs_no_token(server):
    assert requests.get(URL + "/health", timeout=10).json() == {"status": "ok"}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_every_other_route_needs_the_token(server, headers):
    assert requests.get(URL + "/actions", headers=headers, timeout=10).status_code == 401
    resp = requests.post(URL + "/webhook", json=action_call("hello"), headers=headers, timeout=10)
    assert resp.status_code == 401 and "hello" not in resp.text


def test_with_the_token_actions_run(server):
    names = {a["name"] for a in requests.get(URL + "/actions", headers=AUTH, timeout=10).json()}
    assert {"action_greet", "action_answer_topic", "action_red_flag"} <= names
    resp = post(json.dumps(action_call("hello")).encode())
    assert resp.status_code == 200
    assert [r["custom"]["topic"] for r in resp.json()["responses"] if r.get("custom")][0] == "greet"


def test_a_failing_action_echoes_nothing_and_logs_only_name_and_type(server):
    marker = "zq" + uuid.uuid4().hex[:12]
    resp = post(json.dumps(action_call(f"my hip hurts {marker} fail on purpose")).encode())
    assert resp.status_code == 500
    assert marker not in resp.text and "request_body" not in resp.text and len(resp.content) < 200
    log = server.log_text()
    assert "action action_greet failed: ValueError" in log
    assert marker not in log


def test_deflate_and_gzip_bodies_are_inflated_up_to_the_limit_only(server):
    small = json.dumps(action_call("hello")).encode()
    assert post(zlib.compress(small), {"Content-Encoding": "deflate"}).status_code == 200
    assert post(gzip.compress(small), {"Content-Encoding": "gzip"}).status_code == 200
    rss_before = psutil.Process(server.proc.pid).memory_info().rss
    bomb = b'{"next_action": "action_greet", "pad": "' + b" " * 300_000_000 + b'"}'
    for encoding, packed in [("deflate", zlib.compress(bomb, 9)), ("gzip", gzip.compress(bomb, 9))]:
        assert len(packed) < 1_000_000
        resp = post(packed, {"Content-Encoding": encoding})
        assert resp.status_code == 413, (encoding, resp.status_code)
    grown = psutil.Process(server.proc.pid).memory_info().rss - rss_before
    assert grown < 50_000_000, f"memory grew by {grown / 1e6:.0f} MB"


@pytest.mark.parametrize("encoding", ["br", "compress", "zstd", "deflate, gzip"])
def test_other_encodings_are_refused(server, encoding):
    assert post(b"\x00\x01", {"Content-Encoding": encoding}).status_code == 415


@pytest.mark.parametrize(
    "body,status",
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        (b"null", 400),
        (b'{"next_action": "action_greet"}', 400),
        (json.dumps({"next_action": 5, "tracker": {}}).encode(), 400),
        (json.dumps({"next_action": "action_greet", "tracker": {}, "domain": []}).encode(), 400),
        (json.dumps(action_call("hi", action="action_does_not_exist")).encode(), 404),
        (b"\xff\xfe", 400),
        (b"[" * 100_000, 400),
    ],
)
def test_malformed_calls_get_a_4xx(server, body, status):
    assert post(body).status_code == status


def test_an_over_large_body_is_refused(server):
    assert post(b" " * 1_100_000).status_code == 413


def test_loopback_by_default(server):
    listening = [
        c
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == ACTIONS_PORT
    ]
    assert listening and all(c.laddr.ip in {"127.0.0.1", "::1"} for c in listening)
