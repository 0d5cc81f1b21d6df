"""The socket.io channel: bound sessions, rate limit, origin check and rasa-webchat output."""

from __future__ import annotations

import asyncio
import uuid

from channels.socketio import ContractSocketIOOutput, RateLimit, SessionBook, markdown_text


def test_issued_ids_are_uuid4_and_only_ours_are_genuine():
    book, other = SessionBook("k1"), SessionBook("k2")
    issued = book.issue()
    assert uuid.UUID(issued).version == 4 and issued != book.issue()
    assert book.genuine(issued) and not other.genuine(issued)
    assert not book.genuine(str(uuid.uuid4())) and not book.genuine("abc") and not book.genuine(None)
    assert SessionBook("k1").genuine(issued)  # another instance with the same secret


def test_client_made_id_gets_a_server_id():
    book = SessionBook("k")
    made_by_client = str(uuid.uuid4())
    got = book.claim("sockA", made_by_client)
    assert got != made_by_client and book.genuine(got)


def test_another_socket_cannot_take_over_a_held_id_but_a_reload_can():
    book = SessionBook("k")
    a_id = book.claim("sockA", None)
    assert book.claim("sockA", a_id) == a_id  # the holder asking again keeps it
    b_id = book.claim("sockB", a_id)  # B presents A's id while A is connected
    assert b_id != a_id and book.holder[a_id] == "sockA" and book.by_socket["sockB"] == b_id
    book.release("sockA")  # A reloads: its socket goes away, the new one comes back with the id
    assert book.claim("sockA2", a_id) == a_id


def test_switching_ids_releases_the_old_one():
    book = SessionBook("k")
    first = book.claim("s", None)
    second = book.claim("s", None)
    assert first != second and first not in book.holder and book.holder[second] == "s"
    assert book.claim("t", first) == first  # free again


def test_rate_limit_burst_then_refill():
    limit = RateLimit(burst=3, rate=1.0)
    assert [limit.allow("s", now=0.0) for _ in range(5)] == [True, True, True, False, False]
    assert limit.allow("other", now=0.0)
    assert limit.allow("s", now=1.01) and not limit.allow("s", now=1.02)
    limit.forget("s")
    assert limit.allow("s", now=1.03)


def test_markdown_line_breaks_survive():
    text = "Steps:\n1. Stand\n2. Drop the hip\n\nStop if it hurts."
    assert markdown_text(text) == "Steps:  \n1. Stand  \n2. Drop the hip\n\nStop if it hurts."
    assert markdown_text("one line") == "one line"


class FakeSio:
    def __init__(self) -> None:
        self.sent = []

    async def emit(self, event, data=None, room=None, **kw):
        self.sent.append((event, data, room))


def test_output_is_what_rasa_webchat_renders():
    sio = FakeSio()
    out = ContractSocketIOOutput(sio, "bot_uttered")
    message = {
        "text": "Hip drops:\n\u2022 stand on a step\n\u2022 lower one hip",
        "buttons": [{"title": "Crab steps", "payload": "/exercise_crab_steps"}],
        "custom": {"topic": "exercise_hip_drop", "escalation": "routine"},
    }
    asyncio.run(out.send_response("room1", dict(message)))
    asyncio.run(out.send_response("room1", {"text": "Call 999 now\nor go to A&E"}))
    events = [data for _, data, _ in sio.sent]
    assert all(room == "room1" for _, _, room in sio.sent)
    assert events[0] == {
        "text": "Hip drops:  \n\u2022 stand on a step  \n\u2022 lower one hip",
        "buttons": [{"type": "postback", "title": "Crab steps", "payload": "/exercise_crab_steps"}],
    }
    assert events[1] == {"custom": {"topic": "exercise_hip_drop", "escalation": "routine"}}
    assert events[2] == {"text": "Call 999 now  \nor go to A&E"}
