"""Property-based tests of the message path (Hypothesis) against a running Rasa instance:
whatever a client sends - any text, any JSON, any bytes - the answer is a reply or a 4xx,
never a 5xx, and a 200 always carries at least one message.

Bounded: a fixed number of examples per property, no deadline per example (a turn runs
the whole NLU pipeline and the action server), straight at one instance so that nginx's
per-client rate limit does not get in the way (test_bad_input.py covers nginx)."""

import json

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prodlib import WEBHOOK, new_sender

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
senders = st.uuids().map(str) | st.text(max_size=140) | json_values
# Text as patients (and attackers) type it: any code point, lone surrogates included.
texts = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=400)


def post(base, data):
    resp = requests.post(base + WEBHOOK, data=data, headers={"Content-Type": "application/json"}, timeout=60)
    assert resp.status_code < 500, (resp.status_code, resp.text[:300], data[:200])
    if resp.status_code == 200:
        body = resp.json()
        assert isinstance(body, list) and body, "a turn is never silent"
    else:
        assert resp.status_code >= 400
    return resp


def test_any_text_gets_a_reply(cluster):
    base = cluster.rasa_url(cluster.s.rasa_names()[0])

    @FUZZ
    @given(text=texts)
    def prop(text):
        # json.dumps escapes lone surrogates as \\udXXX, which is valid JSON.
        resp = post(base, json.dumps({"sender": new_sender(), "message": text}).encode())
        assert resp.status_code == 200

    prop()


def test_any_json_object_gets_a_reply_or_a_4xx(cluster):
    base = cluster.rasa_url(cluster.s.rasa_names()[0])

    @FUZZ
    @given(
        sender=senders,
        message=json_values | texts,
        extra=st.dictionaries(st.text(max_size=10), json_values, max_size=3),
    )
    def prop(sender, message, extra):
        body = dict(extra, sender=sender, message=message)
        post(base, json.dumps(body).encode())

    prop()


def test_any_bytes_get_a_4xx_or_a_reply(cluster):
    base = cluster.rasa_url(cluster.s.rasa_names()[-1])
    prefix = b'{"sender": "' + new_sender().encode() + b'", "message": "'

    @FUZZ
    @given(raw=st.binary(max_size=600), wrap=st.booleans())
    def prop(raw, wrap):
        post(base, prefix + raw + b'"}' if wrap else raw)

    prop()
