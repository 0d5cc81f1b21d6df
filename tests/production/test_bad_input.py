"""Bad input on the REST and socket.io channels, through nginx and straight at a Rasa
instance: every request gets a polite reply or a 4xx - never a 5xx, never a crash - and
the cluster keeps serving everybody else."""

import json
import time

import pytest
from prodlib import WEBHOOK, chat, new_sender, patient_ip, session_from, sio_connected

LONG = "my hip hurts " * 8_000  # ~100 kB

# (id, text) - valid JSON with a string message: answered with a reply (200).
ODD_TEXTS = [
    ("empty", ""),
    ("whitespace", " \t\n\r  \u00a0\u2003 "),
    ("control-chars", "\x00\x01\x07my hip\x1b[31m hurts\x7f\x9b"),
    ("zero-width-and-bidi", "hip\u200b pain \u202e\u2066reversed\u2069 \ufeff"),
    ("lone-surrogates", "my hip \ud800 hurts \udfff"),
    ("emoji", "\U0001f9b5\U0001f4a5 my buttock hurts \U0001f62d\U0001f3c3\u200d\u2640\ufe0f"),
    ("spanish", "Me duele la cadera cuando camino"),
    ("german", "Mein Gesäß tut beim Sitzen weh"),
    ("japanese", "お尻が痛いです"),
    ("arabic", "أشعر بألم في الورك"),
    ("russian", "Болит бедро после бега"),
    ("hindi", "मेरे कूल्हे में दर्द है"),
    ("script", "<script>alert(document.cookie)</script>"),
    ("html", '<img src=x onerror="alert(1)"><b>hip</b> <a href="javascript:alert(1)">pain</a>'),
    ("markdown", "**bold** [link](javascript:alert(1)) ![img](http://127.0.0.1/x.png)"),
    ("template", "{{7*7}} ${7*7} {% raw %} #{7*7} ${jndi:ldap://127.0.0.1/a}"),
    ("sql", "'; DROP TABLE events; -- \" OR 1=1"),
    ("path", "../../../../etc/passwd %00 %2e%2e%2f"),
    ("format-string", "%s%s%s%n %x {0} {__class__}"),
    ("very-long-word", "a" * 1_999),
    ("over-char-limit", "hip pain " * 300),
    ("numbers-only", "1234567890"),
    ("punctuation-only", "?!?!...,,,;;"),
    ("slash-only", "/"),
    ("slash-version", "/greet@1.0 hello there"),
    ("slash-bad-entities", '/choose_option{"ordinal": "\u00b2"}'),
    ("slash-unknown", "/does_not_exist{} hi"),
]

# (id, raw body) - malformed requests: answered with a 4xx.
MALFORMED = [
    ("not-json", b"hello there"),
    ("truncated-json", b'{"sender": "abc", "message": "hi'),
    ("json-array", b'["sender", "message"]'),
    ("json-string", b'"hello"'),
    ("json-number", b"42"),
    ("json-null", b"null"),
    ("empty-body", b""),
    ("missing-sender", json.dumps({"message": "hello"}).encode()),
    ("missing-message", json.dumps({"sender": "b6f1c8e2-2f0a-4a51-9b52-0d5f3f1c9a11"}).encode()),
    ("sender-number", json.dumps({"sender": 12345, "message": "hello"}).encode()),
    ("sender-null", json.dumps({"sender": None, "message": "hello"}).encode()),
    ("sender-empty", json.dumps({"sender": "", "message": "hello"}).encode()),
    ("sender-object", json.dumps({"sender": {"id": 1}, "message": "hello"}).encode()),
    ("sender-too-long", json.dumps({"sender": "a" * 500, "message": "hello"}).encode()),
    ("sender-path", json.dumps({"sender": "../../etc/passwd", "message": "hello"}).encode()),
    ("sender-script", json.dumps({"sender": "<script>x</script>", "message": "hello"}).encode()),
    ("sender-newline", json.dumps({"sender": "abc\ndef", "message": "hello"}).encode()),
    ("message-number", json.dumps({"sender": "b6f1c8e2", "message": 42}).encode()),
    ("message-list", json.dumps({"sender": "b6f1c8e2", "message": ["hello"]}).encode()),
    ("message-object", json.dumps({"sender": "b6f1c8e2", "message": {"text": "hello"}}).encode()),
    ("message-null", json.dumps({"sender": "b6f1c8e2", "message": None}).encode()),
    ("message-bool", json.dumps({"sender": "b6f1c8e2", "message": True}).encode()),
    ("message-nan", b'{"sender": "b6f1c8e2", "message": NaN}'),
    ("message-huge-number", b'{"sender": "b6f1c8e2", "message": 1e999999}'),
    ("invalid-utf8", b'{"sender": "b6f1c8e2", "message": "my hip \xff\xfe\xc3\x28 hurts"}'),
    ("utf16-body", json.dumps({"sender": "b6f1c8e2", "message": "hello"}).encode("utf-16")),
    ("deep-nesting", b'{"sender": "b6f1c8e2", "message": "hi", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("deep-nesting-top", b"[" * 7000 + b"]" * 7000),
]


@pytest.fixture(scope="module")
def direct(cluster):
    return cluster.rasa_url(cluster.s.rasa_names()[0])


@pytest.fixture(params=["nginx", "direct"])
def base(request, cluster, direct):
    return cluster.base_url if request.param == "nginx" else direct


def post_raw(base, body, **kwargs):
    # Bad-input requests come from their own loopback address, so nginx's per-client rate
    # limit does not mix them up with the other tests' clients.
    http = session_from(patient_ip(240))
    return http.post(base + WEBHOOK, data=body, headers={"Content-Type": "application/json"}, timeout=60, **kwargs)


def assert_polite(resp):
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    messages = resp.json()
    assert isinstance(messages, list) and messages, "a turn is never silent"
    for message in messages:
        text = str(message.get("text", ""))
        assert "<script" not in text.lower() and "onerror=" not in text.lower(), "input echoed unescaped"


def assert_refused(resp):
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    assert "error" in resp.json()


@pytest.mark.parametrize("text", [t for _, t in ODD_TEXTS], ids=[i for i, _ in ODD_TEXTS])
def test_odd_messages_get_a_polite_reply(base, text):
    time.sleep(0.05)  # stay under the per-client rate limit
    resp = post_raw(base, json.dumps({"sender": new_sender(), "message": text}).encode())
    assert_polite(resp)


@pytest.mark.parametrize("body", [b for _, b in MALFORMED], ids=[i for i, _ in MALFORMED])
def test_malformed_requests_get_a_4xx(base, body):
    time.sleep(0.05)
    assert_refused(post_raw(base, body))


def test_100_kb_message(cluster, direct):
    body = json.dumps({"sender": new_sender(), "message": LONG}).encode()
    assert_refused(post_raw(cluster.base_url, body))  # nginx: 413, over the request size limit
    assert_polite(post_raw(direct, body))  # Rasa itself: "please keep it shorter"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_other_content_types(base, content_type):
    http = session_from(patient_ip(241))
    body = json.dumps({"sender": new_sender(), "message": "hello"})
    resp = http.post(base + WEBHOOK, data=body, headers={"Content-Type": content_type}, timeout=60)
    assert resp.status_code == 200 or 400 <= resp.status_code < 500
    assert resp.status_code == 415  # JSON only: no cross-site post without a CORS preflight


def test_one_sender_many_requests_get_a_quick_429(base):
    """30 concurrent requests for one conversation: one is answered, the others are told
    at once to wait (429), none waits in a queue for the turn timeout."""
    from concurrent.futures import ThreadPoolExecutor

    sender = new_sender()
    body = json.dumps({"sender": sender, "message": "which exercises help"}).encode()
    with ThreadPoolExecutor(30) as pool:
        results = list(
            pool.map(
                lambda n: session_from(patient_ip(200 + n)).post(
                    base + WEBHOOK, data=body, headers={"Content-Type": "application/json"}, timeout=30
                ),
                range(30),
            )
        )
    codes = [r.status_code for r in results]
    assert 200 in codes and 429 in codes and all(c in {200, 429} for c in codes), codes
    assert max(r.elapsed.total_seconds() for r in results) < 10


@pytest.mark.parametrize("prefix", ["/greet@1.0 ", '/gluteus_medius{"x":"y"} ', "/greet "])
def test_a_leading_slash_command_cannot_skip_triage(base, prefix):
    time.sleep(0.05)
    text = prefix + "I have lost control of my bladder and I am numb between my legs"
    reply = chat(base, new_sender(), text, session=session_from(patient_ip(242)))
    assert reply.status == 200 and reply.escalations[0] == "emergency" and reply.topics[0] == "red_flag"


@pytest.mark.parametrize("command", ["/restart", "/session_start"])
def test_built_in_commands_greet(base, command):
    reply = chat(base, new_sender(), command, session=session_from(patient_ip(243)))
    assert reply.status == 200 and reply.topics[0] == "greet" and not reply.safe_net


def test_cluster_still_serves_everybody_after_the_bad_input(cluster, direct):
    for name in cluster.components():
        assert cluster.pid(name), f"{name} is gone"
    for base_url in (cluster.base_url, direct, *[cluster.rasa_url(n) for n in cluster.s.rasa_names()]):
        reply = chat(base_url, new_sender(), "hello")
        assert reply.status == 200 and reply.messages


# -- socket.io ---------------------------------------------------------------------------

# Malformed user_uttered events; `sid` is the client's own session id.
SIO_BAD_PAYLOADS = [
    ("string", lambda sid: "hello"),
    ("number", lambda sid: 42),
    ("none", lambda sid: None),
    ("list", lambda sid: ["hello"]),
    ("no-message", lambda sid: {"session_id": sid}),
    ("no-session-id", lambda sid: {"message": "hello"}),
    ("message-number", lambda sid: {"message": 42, "session_id": sid}),
    ("message-object", lambda sid: {"message": {"text": "hi"}, "session_id": sid}),
    ("message-null", lambda sid: {"message": None, "session_id": sid}),
    ("session-id-object", lambda sid: {"message": "hi", "session_id": {"x": 1}}),
    ("session-id-too-long", lambda sid: {"message": "hi", "session_id": "x" * 500}),
]


class SioPatient:
    """One socket.io conversation: connect, ask for a session, send, collect replies."""

    def __init__(self, base_url, attempts=3):
        # A loaded CI machine once dropped a fresh connection through nginx before its
        # session was confirmed (the next emit: "/ is not a connected namespace"), right
        # after the 100 kB-frame test. The tests check what the server answers on a
        # connected socket, so a connection is tried up to ``attempts`` times, 2 s apart,
        # and must be connected with its session confirmed before any payload is sent.
        # (The handshake itself is retried by prodlib.sio_connected.)
        self.replies, self.errors, self.session = [], [], None
        self.session_id = new_sender()
        handlers = {
            "bot_uttered": lambda data: self.replies.append(data),
            "error": lambda data: self.errors.append(data),
            "session_confirm": self._confirm,
        }
        for attempt in range(attempts):
            self.client = sio_connected(base_url, on=handlers)
            try:
                self.client.emit("session_request", {"session_id": self.session_id})
                if self.wait(lambda: self.session is not None, 10) and self.client.connected:
                    return
            except Exception:  # socketio.exceptions.BadNamespaceError: dropped meanwhile
                if attempt == attempts - 1:
                    raise
            self.client.disconnect()
            time.sleep(2)
        raise AssertionError(f"no confirmed socket.io session in {attempts} connects")

    def _confirm(self, data):
        self.session = data if isinstance(data, str) else (data or {}).get("session_id")

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate():
            self.client.sleep(0.05)
        return predicate()

    def say(self, payload, timeout=30):
        before_r, before_e = len(self.replies), len(self.errors)
        self.client.emit("user_uttered", payload)
        return self.wait(lambda: len(self.replies) > before_r or len(self.errors) > before_e, timeout)

    def close(self):
        self.client.disconnect()


@pytest.fixture(params=["nginx", "direct"])
def sio_base(request, cluster, direct):
    return cluster.base_url if request.param == "nginx" else direct


def test_socketio_odd_messages_get_a_reply(sio_base):
    # A socket may send SOCKETIO_BURST (8) messages at once (channels/socketio.py rate
    # limit): a fresh socket for every 6 odd messages, so each one gets its own reply.
    # 10 kB: over the message limit, under the 16 kB frame limit (100 kB: next test).
    texts = [text for _, text in ODD_TEXTS + [("10kB", LONG[:10_000])]]
    for start in range(0, len(texts), 6):
        patient = SioPatient(sio_base)
        try:
            for text in texts[start : start + 6]:
                before = len(patient.replies)
                assert patient.say({"message": text, "session_id": patient.session_id}), text[:40]
                assert len(patient.replies) > before, ("no reply for", text[:40], patient.errors[-1:])
                assert not any((r.get("custom") or {}).get("rate_limited") for r in patient.replies[before:])
                patient.wait(lambda: False, 0.05)
            for reply in patient.replies:
                assert "<script" not in str(reply.get("text", "")).lower()
        finally:
            patient.close()


def _connect_again(sio_base, attempts=3):
    """A new patient's connection. The dropped one may still be closing on the server side
    (nginx and Rasa tear it down) for a moment; "the server carries on" means a new
    connection is served within a few seconds, not at the same instant."""
    for attempt in range(attempts):
        try:
            return SioPatient(sio_base)
        except Exception:  # socketio.exceptions.ConnectionError
            if attempt == attempts - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def test_socketio_a_100_kb_frame_closes_only_that_connection(cluster, sio_base):
    """Over the 16 kB frame limit (max_http_buffer_size): engine.io drops that connection;
    the server carries on."""
    patient = SioPatient(sio_base)
    try:
        patient.say({"message": LONG, "session_id": patient.session_id}, timeout=5)
    finally:
        patient.close()
    other = _connect_again(sio_base)
    try:
        assert other.say({"message": "hello", "session_id": other.session_id}) and other.replies
    finally:
        other.close()
    assert chat(cluster.base_url, new_sender(), "hello").status == 200


def test_socketio_malformed_events_are_answered_without_a_crash(sio_base):
    patient = SioPatient(sio_base)
    try:
        for name, payload in SIO_BAD_PAYLOADS:
            assert patient.say(payload(patient.session_id), timeout=20), f"no answer to {name}"
        # ...and the same connection still works
        assert patient.say({"message": "hello", "session_id": patient.session_id})
        assert patient.replies
    finally:
        patient.close()


def test_socketio_invalid_frames_close_only_that_connection(cluster, sio_base):
    """Invalid UTF-8 in a websocket text frame and garbage engine.io packets: the server
    drops that connection; everybody else carries on."""
    import websocket

    url = sio_base.replace("https://", "wss://").replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    for frame, opcode in [
        (b"\xff\xfe\xc3\x28", websocket.ABNF.OPCODE_TEXT),
        (b"4garbage\x00", websocket.ABNF.OPCODE_TEXT),
        (b'42["user_uttered",', websocket.ABNF.OPCODE_TEXT),
        (b"\x00\x01binary", websocket.ABNF.OPCODE_BINARY),
    ]:
        ws = websocket.create_connection(url, timeout=10, suppress_origin=True)
        try:
            ws.recv()  # engine.io open packet
            ws.send("40")  # socket.io connect
            ws.send(frame, opcode=opcode)
            time.sleep(0.2)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            ws.close()
    patient = SioPatient(sio_base)
    try:
        assert patient.say({"message": "hello", "session_id": patient.session_id})
        assert patient.replies
    finally:
        patient.close()
    assert chat(cluster.base_url, new_sender(), "hello").status == 200
