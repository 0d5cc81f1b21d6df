"""Clinic insights (assistant/insights) on generated tracker stores with known events.

The store holds rows shaped as Rasa 3.6 writes them (bench/insights_store.py); the
patients' words carry a marker word and the sender ids another, and neither may come out
of the page, the CSV, the command line or the logs. Exact counts are checked before
suppression (``aggregate.Raw``) and after it (``Summary``).
"""

import importlib.util
import logging
import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from assistant.insights import load_summary, privacy, render_csv, render_html
from assistant.insights.aggregate import collect
from assistant.insights.cli import main as cli_main
from assistant.insights.render import cells, render_text
from assistant.insights.summary import _rows
from bench.insights_store import Conversation, write_postgres, write_sqlite

ROOT = Path(__file__).resolve().parent.parent
TEXT_MARKER = "zebraquartzine"
SENDER_MARKER = "sendermarkerq"
START = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday
END = START + timedelta(days=7)
T0 = START.timestamp() + 9 * 3600  # Monday 09:00 UTC


def said(what: str) -> str:
    return f"{TEXT_MARKER} {what} my hip"


def conversation(client, start, channel="rest"):
    return Conversation(f"{SENDER_MARKER}-{uuid.uuid4()}", start, client=client, input_channel=channel)


def known_conversations():
    """16 conversations in the period (6 web, 9 kiosk, 1 other) and 2 outside it."""
    convs = []
    for i in range(6):  # web: a topic, tell me more, the second one; then clarify or no reply
        c = conversation("widget", T0 + i * 60, channel="socketio" if i % 2 else "rest")
        c.ask_topic(said("what are the symptoms"), "symptoms", first=True)
        c.follow_up(said("tell me more"), "tell_me_more", "symptoms")
        c.follow_up(said("the second one"), "choose_option", "exercises")
        if i < 5:
            c.clarify(said("hmm what about it"), ["causes", "symptoms"])
        else:
            c.no_reply(said("and then"))
        convs.append(c)
    for i in range(4):  # kiosk: a topic and an emergency red flag (one also unanswered)
        c = conversation("kiosk", T0 + 86400 + i * 60)
        c.ask_topic(said("what causes it"), "causes", first=True)
        c.red_flag(said("numb between my legs"), ["saddle_numbness"])
        if i == 0:
            c.no_reply(said("hello?"))
        convs.append(c)
    for i in range(5):  # kiosk: an urgent red flag and a check question
        c = conversation("kiosk", T0 + 2 * 86400 + i * 60)
        c.red_flag(said("hot swollen hip and a fever"), ["fever_hot_joint"])
        c.check(said("my leg feels odd when sitting"), "leg_weakness", topic="sitting")
        convs.append(c)
    other = conversation(None, T0 + 3 * 86400)
    other.red_flag(said("I want to end it"), ["crisis"])
    other.out_of_scope(said("what is the weather"))
    convs.append(other)
    before = conversation("widget", START.timestamp() - 86400)
    before.ask_topic(said("old question"), "surgery")
    after = conversation("kiosk", END.timestamp() + 3600)
    after.ask_topic(said("late question"), "surgery")
    return convs + [before, after]


def rows_of(convs):
    for c in convs:
        yield from c.rows


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "tracker.db"
    write_sqlite(path, rows_of(known_conversations()))
    return f"sqlite:///{path}"


def raw_counts(url, start=START, end=END, zone=timezone.utc):
    return collect(_rows(sa.engine.make_url(url), start.timestamp(), end.timestamp()), zone)


def check_raw(raw):
    """The exact counts of known_conversations() in the period."""
    assert raw.conversations == 16
    assert dict(raw.conversations_by_client) == {"web": 6, "kiosk": 9, "other": 1}
    assert raw.messages == 6 * 4 + (4 * 2 + 1) + 5 * 2 + 2 == 45
    assert dict(raw.messages_by_client) == {"web": 24, "kiosk": 19, "other": 2}
    assert dict(raw.topics) == {"symptoms": 12, "exercises": 6, "causes": 4, "sitting": 5}
    assert dict(raw.tiers) == {"emergency": 4, "urgent": 5}
    assert raw.crisis == 1
    assert dict(raw.flags) == {"saddle_numbness": 4, "fever_hot_joint": 5, "crisis": 1}
    assert raw.clarify == 5 and dict(raw.clarify_offered) == {"causes": 5, "symptoms": 5}
    assert dict(raw.out_of_scope) == {"out_of_scope": 1}
    assert raw.no_reply == 2  # one in a plain conversation, one in an escalating one
    assert dict(raw.checks) == {"leg_weakness": 5}
    assert dict(raw.follow_ups) == {"tell_me_more": 6, "choose_option": 6}
    assert raw.conversations_with_follow_up == 6
    assert dict(raw.escalations_by_client) == {
        ("emergency", "kiosk"): 4,
        ("urgent", "kiosk"): 5,
        ("crisis", "other"): 1,
    }
    assert dict(raw.conversation_lengths) == {4: 6, 3: 1, 2: 9}
    assert raw.messages_by_day[START.date()] == 24
    assert raw.messages_by_hour_of_week[(0, 9)] == 24


def test_exact_counts_on_sqlite(store):
    check_raw(raw_counts(store))


def test_summary_suppresses_small_cells(store):
    s = load_summary(store, START, END, timezone_name="UTC")
    assert str(s.conversations) == "16" and str(s.messages) == "45"
    flags = {r.key: str(r.count) for r in s.flags}
    assert flags == {"fever_hot_joint": "5", "saddle_numbness": "fewer than 5", "crisis": "fewer than 5"}
    assert [r.key for r in s.flags] == ["fever_hot_joint", "crisis", "saddle_numbness"]  # hidden: by name
    topics = {r.key: (str(r.count), str(r.share)) for r in s.topics}
    assert topics["symptoms"] == ("12", "26.7 %")
    assert topics["causes"] == ("fewer than 5", "not shown")
    assert topics["sitting"] == ("5", "11.1 %")
    # emergency 4 is hidden, so urgent (5) is hidden too: otherwise total - urgent = 4
    assert {r.key: str(r.count) for r in s.escalations} == {"emergency": "fewer than 5", "urgent": "fewer than 5"}
    assert str(s.crisis_replies) == "fewer than 5"
    outcomes = {r.key: (str(r.count), str(r.share)) for r in s.outcomes}
    assert outcomes["clarify"] == ("5", "11.1 %")
    assert outcomes["no_reply"] == ("fewer than 5", "not shown")
    assert outcomes["out_of_scope"] == ("fewer than 5", "not shown")
    assert {r.key: str(r.count) for r in s.clarify_offered} == {"causes": "5", "symptoms": "5"}
    assert str(s.check_questions) == "5"
    assert {r.key: str(r.count) for r in s.follow_ups}["tell_me_more"] == "6"
    # web 6, kiosk 9, other 1: "other" is hidden, and with it the smallest other cell
    assert [(c, str(conv)) for c, conv, _ in s.clients] == [
        ("web", "fewer than 5"),
        ("kiosk", "9"),
        ("other", "fewer than 5"),
    ]
    assert str(s.escalations_by_client[("urgent", "kiosk")]) == "5"
    assert str(s.escalations_by_client[("emergency", "kiosk")]) == "fewer than 5"
    assert s.median_conversation_length == 2
    assert all(c.value is None or c.value >= privacy.SMALL_NUMBER for c in cells(s))


def test_threshold_is_four_hidden_five_shown():
    assert str(privacy.count(4)) == "fewer than 5" and privacy.count(4).value is None
    assert str(privacy.count(5)) == "5" and str(privacy.count(0)) == "fewer than 5"
    assert str(privacy.Share(privacy.count(4), privacy.count(100))) == "not shown"
    assert str(privacy.Share(privacy.count(5), privacy.count(100))) == "5.0 %"
    cells_ = privacy.partition({"a": 3, "b": 7, "c": 50})
    assert cells_["a"].suppressed and cells_["b"].suppressed and cells_["c"].value == 50
    assert all(not c.suppressed for c in privacy.partition({"a": 5, "b": 7}).values())


def test_no_text_or_sender_id_in_page_csv_text_or_logs(store, caplog, tmp_path, capsys):
    caplog.set_level(logging.DEBUG)
    s = load_summary(store, START, END, timezone_name="UTC")
    outputs = [render_html(s), render_csv(s), render_text(s)]
    code = cli_main(
        ["--db-url", store, "--since", "2026-11-02", "--until", "2026-11-09", "--timezone", "UTC"]
        + ["--csv", str(tmp_path / "out.csv"), "--html", str(tmp_path / "out.html")]
    )
    assert code == 0
    outputs += [capsys.readouterr().out, (tmp_path / "out.csv").read_text(), (tmp_path / "out.html").read_text()]
    outputs.append("\n".join(r.getMessage() for r in caplog.records))
    assert (tmp_path / "out.csv").read_text() == render_csv(s)
    for text in outputs:
        assert TEXT_MARKER not in text and SENDER_MARKER not in text
    assert any("insights:" in r.getMessage() for r in caplog.records)


def test_page_is_complete_and_csp_friendly(store):
    page = render_html(load_summary(store, START, END, timezone_name="UTC"))
    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    assert '<link rel="stylesheet" href="/static/insights.css">' in page
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert "http://" not in page and "https://" not in page
    assert page.count("<svg") == page.count("</svg>") >= 6
    assert page.count('role="img"') == page.count("<svg") and page.count("<title id=") == page.count("<svg")
    assert page.count("<h1>") == 1 and page.count("<h2 ") >= 6
    assert page.count("<table") == page.count("<caption>")
    assert "fewer than 5" in page
    assert (ROOT / "web" / "static" / "insights.css").is_file()


def test_csv_is_tidy(store):
    text = render_csv(load_summary(store, START, END, timezone_name="UTC"))
    lines = text.splitlines()
    assert lines[0] == "section,key,value"
    rows = dict(((line.split(",")[0], line.split(",")[1]), line.split(",", 2)[2]) for line in lines[1:])
    assert rows[("overview", "conversations")] == "16"
    assert rows[("flags", "saddle_numbness")] == "fewer than 5"
    assert rows[("flags", "fever_hot_joint")] == "5"
    assert rows[("messages_per_day", "2026-11-02")] == "24"
    assert rows[("outcomes_share", "clarify")] == "11.1 %"


def test_days_and_hours_are_the_clinics_time(store):
    """Monday 09:00-09:05 UTC is Monday 20:00 in Sydney (UTC+11 in November)."""
    raw = raw_counts(store, zone=__import__("zoneinfo").ZoneInfo("Australia/Sydney"))
    assert raw.messages_by_hour_of_week[(0, 20)] == 24
    s = load_summary(store, START, END, timezone_name="Australia/Sydney")
    assert s.period.timezone == "Australia/Sydney"
    assert str(s.messages_per_hour_of_week[(0, 20)]) == "24"


def test_empty_or_missing_store(tmp_path):
    missing = tmp_path / "none.db"
    s = load_summary(f"sqlite:///{missing}", START, END, timezone_name="UTC")
    assert not missing.exists() and str(s.conversations) == "fewer than 5"
    assert s.median_conversation_length is None
    assert "<svg" in render_html(s)
    with pytest.raises(ValueError):
        load_summary(f"sqlite:///{missing}", END, START)


def _retention():
    spec = importlib.util.spec_from_file_location("retention", ROOT / "scripts" / "retention.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_retention_deletes_from_the_insights_too(tmp_path):
    """What retention deleted is gone from the insights: nothing else keeps a copy."""
    now = END.timestamp()
    old = [conversation("kiosk", now - 40 * 86400 + i) for i in range(6)]
    new = [conversation("widget", now - 2 * 86400 + i) for i in range(7)]
    for c in old:
        c.red_flag(said("numb"), ["saddle_numbness"])
    for c in new:
        c.ask_topic(said("symptoms"), "symptoms")
    path = tmp_path / "tracker.db"
    write_sqlite(path, rows_of(old + new))
    url, since = f"sqlite:///{path}", END - timedelta(days=60)
    before = raw_counts(url, start=since)
    assert before.conversations == 13 and before.flags["saddle_numbness"] == 6
    result = _retention().delete_old_conversations(url, 30, now=now)
    assert result["conversations"] == 6
    after = raw_counts(url, start=since)
    assert after.conversations == 7 and not after.flags and not after.tiers
    s = load_summary(url, since, END, timezone_name="UTC")
    assert s.flags == () and str(s.conversations) == "7"


def test_cli_reads_the_store_from_the_endpoints_file(store, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    monkeypatch.setenv("TRACKER_DB", store.removeprefix("sqlite:///"))
    assert cli_main(["--endpoints", str(ROOT / "endpoints.yml"), "--since", "2026-11-02", "--until", "2026-11-09"]) == 0
    assert "conversations" in capsys.readouterr().out
    monkeypatch.delenv("TRACKER_DB")
    monkeypatch.setenv("RUN_DIR", str(tmp_path))
    assert cli_main(["--endpoints", str(ROOT / "deploy" / "rasa" / "endpoints.yml")]) == 2  # POSTGRES_* unset


# --- PostgreSQL ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL (bench/stores.py's) on a socket in build/, port 5499."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL is not installed (make deploy-deps)")
    from bench.stores import Postgres

    root = ROOT / "build" / f"test-insights-pg-{os.getpid()}"
    pg = Postgres(root, port=5499)
    try:
        pg.start()
    except Exception as error:  # not startable here: say why
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not be started: {type(error).__name__}")
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_exact_counts_on_postgresql(postgres):
    pytest.importorskip("psycopg2")
    with postgres.connect() as connection:
        write_postgres(connection, rows_of(known_conversations()))
    url = sa.engine.URL.create(
        "postgresql", username="rasa", database="rasa", query={"host": str(postgres.root), "port": "5499"}
    )
    check_raw(raw_counts(url))
    s = load_summary(url, START, END, timezone_name="UTC")
    assert {r.key: str(r.count) for r in s.flags}["fever_hot_joint"] == "5"
    page, table = render_html(s), render_csv(s)
    assert TEXT_MARKER not in page + table and SENDER_MARKER not in page + table


def test_readme_and_docs_quote_the_bench_figures():
    """The speed figures in README.md and docs/insights.md are the last `make bench-insights` run's."""
    import json

    from bench.insights import RESULTS, headline

    block = headline(json.loads(RESULTS.read_text()))
    for doc in ("README.md", "docs/insights.md"):
        assert block in (ROOT / doc).read_text(), f"{doc}: paste the block `make bench-insights` printed:\n{block}"
