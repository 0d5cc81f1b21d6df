"""The one SQL statement the insights run on Rasa's ``events`` table.

Rasa's ``SQLTrackerStore`` keeps one row per event: ``id, sender_id, type_name,
timestamp (epoch seconds), intent_name, action_name, data`` (the event's JSON as text).
Everything the insights show comes from three kinds of row, and the statement returns
them already counted, in groups small enough to be shown (no sender id, no text):

* ``message``: each ``user`` event (a patient message) by 15-minute bucket, front end
  (``metadata.client``), follow-up intent and whether a reply carrying the reply
  contract's ``custom`` payload followed it in the store;
* ``conversation``: each conversation (sender id) with a message in the period, by the
  bucket of its first message, its front end, its length (messages) and whether it used
  a follow-up;
* ``reply``: each ``bot`` event with a ``custom`` payload, by topic, escalation, flags,
  the clarify reply's candidate topics, the check question's flag, ``unavailable``, and
  the front end of its conversation.

Why one statement: reading the events is the cost (1.8 GB of JSON for 100,000
conversations). The rows of the period are read once, the fields needed are pulled out
of the JSON once into a small materialized row set (``e``), and everything else works on
that. Sender ids are used inside the database only (to order a conversation's events and
to count conversations); message text is never selected.

Two fields are read without the JSON parser, for speed, where that is exact:

* The front end: ``"client": "widget"`` / ``"client": "kiosk"`` matched as raw text.
  Rasa writes ``data`` with ``json.dumps`` (``": "`` between key and value), and inside a
  JSON string every quote is escaped, so the patient's own words cannot produce the raw
  sequence; ``channels/safety.py`` keeps only ``client`` in the metadata.
* Bot events whose ``custom`` is ``null`` (plain text messages such as the see-a-clinician
  line) are skipped before parsing, by the raw ``"custom": null``. A bot event the filter
  lets through is still parsed, so a format change can only cost time, never a count.
"""

from typing import Dict

# The 15-minute buckets in which times travel out of the database (epoch // 900), so that
# days and hours can be cut in the clinic's own time zone afterwards (every zone's offset
# is a multiple of 15 minutes).
BUCKET_SECONDS = 900
FOLLOW_UP_INTENTS = ("tell_me_more", "choose_option", "affirm")

# Each dialect's way to read a field. SQLite parses a row's JSON once however many paths
# are read from it (its JSON cache), so fields come straight from ``data``; PostgreSQL's
# ``json`` operators re-read the text each time, so the ``custom`` object is cut out once
# (an ``OFFSET 0`` subquery keeps the planner from repeating it) and read from there.
_DIALECT: Dict[str, Dict[str, str]] = {
    "sqlite": {
        "bucket": "CAST({col} / 900 AS INTEGER)",
        "client": (
            "CASE WHEN instr(data, '\"client\": \"widget\"') > 0 THEN 'widget' "
            "WHEN instr(data, '\"client\": \"kiosk\"') > 0 THEN 'kiosk' END"
        ),
        "source": "events",
        "maybe_custom": "instr(data, '\"custom\": null') = 0",
        "topic": "json_extract(data, '$.data.custom.topic')",
        "escalation": "json_extract(data, '$.data.custom.escalation')",
        "flags": "json_extract(data, '$.data.custom.flags')",
        "candidates": "json_extract(data, '$.data.custom.candidates')",
        "check_flag": "json_extract(data, '$.data.custom.check.flag')",
        "unavailable": "CASE WHEN json_extract(data, '$.data.custom.unavailable') THEN 1 ELSE 0 END",
    },
    "postgresql": {
        "bucket": "CAST(FLOOR({col} / 900) AS BIGINT)",
        "client": (
            "CASE WHEN strpos(data, '\"client\": \"widget\"') > 0 THEN 'widget' "
            "WHEN strpos(data, '\"client\": \"kiosk\"') > 0 THEN 'kiosk' END"
        ),
        "source": (
            "(SELECT sender_id, id, timestamp, type_name, intent_name, "
            "CASE WHEN type_name = 'user' THEN data END AS data, "
            "CASE WHEN type_name = 'bot' THEN data::json #> '{{data,custom}}' END AS custom "
            "FROM events WHERE timestamp >= :start AND timestamp < :end "
            "AND (type_name = 'user' OR (type_name = 'bot' AND strpos(data, '\"custom\": null') = 0)) OFFSET 0) AS raw"
        ),
        "maybe_custom": "TRUE",
        "topic": "(custom ->> 'topic')",
        "escalation": "(custom ->> 'escalation')",
        "flags": "CAST(custom -> 'flags' AS TEXT)",
        "candidates": "CAST(custom -> 'candidates' AS TEXT)",
        "check_flag": "(custom #>> '{{check,flag}}')",
        "unavailable": "CASE WHEN (custom ->> 'unavailable') = 'true' THEN 1 ELSE 0 END",
    },
}

_TEMPLATE = """
WITH e AS MATERIALIZED (
  SELECT sender_id AS sid, id, timestamp AS ts, type_name AS kind,
    CASE WHEN type_name = 'user' THEN intent_name END AS intent,
    CASE WHEN type_name = 'user' THEN {client} END AS client,
    CASE WHEN type_name = 'bot' THEN {topic} END AS topic,
    CASE WHEN type_name = 'bot' THEN {escalation} END AS escalation,
    CASE WHEN type_name = 'bot' THEN {flags} END AS flags,
    CASE WHEN type_name = 'bot' THEN {candidates} END AS candidates,
    CASE WHEN type_name = 'bot' THEN {check_flag} END AS check_flag,
    CASE WHEN type_name = 'bot' THEN {unavailable} ELSE 0 END AS unavailable
  FROM {source}
  WHERE timestamp >= :start AND timestamp < :end
    AND (type_name = 'user' OR (type_name = 'bot' AND {maybe_custom}))
),
c AS (
  SELECT MIN(ts) AS first_ts, COUNT(*) AS messages, MAX(client) AS client,
    MAX(CASE WHEN intent IN ({follow_ups}) THEN 1 ELSE 0 END) AS followed_up
  FROM e WHERE kind = 'user' GROUP BY sid
),
m AS (
  SELECT kind, escalation, flags,
    MAX(client) OVER turn AS turn_client,
    LEAD(kind) OVER turn AS next_kind
  FROM e
  WHERE (kind = 'user' OR topic IS NOT NULL)
    AND sid IN (SELECT sid FROM e WHERE topic = 'red_flag' OR check_flag IS NOT NULL)
  WINDOW turn AS (PARTITION BY sid ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT 'message' AS section, {message_bucket} AS bucket, client,
  CASE WHEN intent IN ({follow_ups}) THEN intent END AS k1,
  CAST(NULL AS TEXT) AS k2, CAST(NULL AS TEXT) AS k3, CAST(NULL AS TEXT) AS k4, CAST(NULL AS TEXT) AS k5,
  0 AS num, COUNT(*) AS n
FROM e WHERE kind = 'user'
GROUP BY {message_bucket}, client, CASE WHEN intent IN ({follow_ups}) THEN intent END
UNION ALL
SELECT 'conversation', {conversation_bucket}, client, CAST(followed_up AS TEXT), NULL, NULL, NULL, NULL,
  messages, COUNT(*)
FROM c GROUP BY {conversation_bucket}, client, followed_up, messages
UNION ALL
SELECT 'reply', NULL, NULL, topic, escalation, flags, candidates, check_flag, unavailable, COUNT(*)
FROM e WHERE kind = 'bot' AND topic IS NOT NULL
GROUP BY topic, escalation, flags, candidates, check_flag, unavailable
UNION ALL
SELECT 'escalating', NULL, turn_client, kind, escalation, flags,
  CASE WHEN kind = 'user' AND COALESCE(next_kind, 'user') = 'user' THEN 'no_reply' END, NULL, 0, COUNT(*)
FROM m
GROUP BY turn_client, kind, escalation, flags,
  CASE WHEN kind = 'user' AND COALESCE(next_kind, 'user') = 'user' THEN 'no_reply' END
"""


def dialect_of(backend: str) -> str:
    """The dialect key for an SQLAlchemy backend name (``sqlite``, ``postgresql``)."""
    if backend not in _DIALECT:
        raise ValueError(f"insights read SQLite or PostgreSQL tracker stores, not {backend!r}")
    return backend


def summary_sql(backend: str) -> str:
    """The statement for one dialect; parameters ``:start`` and ``:end`` (epoch seconds)."""
    parts = dict(_DIALECT[dialect_of(backend)])
    bucket = parts.pop("bucket")
    return _TEMPLATE.format(
        follow_ups=", ".join(f"'{intent}'" for intent in FOLLOW_UP_INTENTS),
        message_bucket=bucket.format(col="ts"),
        conversation_bucket=bucket.format(col="first_ts"),
        **parts,
    )
