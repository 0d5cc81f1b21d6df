"""deploy/logrotate.py: daily copytruncate rotation, rotated days kept as long as conversations."""

import datetime as dt
import os
import stat
import subprocess
import sys

from deploy.logrotate import expired, run_once

TODAY = dt.date(2026, 12, 1)


def age(path, days):
    when = (dt.datetime.combine(TODAY, dt.time(12)) - dt.timedelta(days=days)).timestamp()
    os.utime(path, (when, when))


def test_a_log_from_an_earlier_day_is_rotated_and_truncated_in_place(tmp_path):
    log = tmp_path / "rasa.log"
    log.write_text("yesterday's line\n")
    age(log, 1)
    inode = log.stat().st_ino
    assert run_once(tmp_path, days=30, today=TODAY) == {"rotated": 1, "removed": 0}
    rotated = tmp_path / "rasa.log.2026-12-01"
    assert rotated.read_text() == "yesterday's line\n"
    assert stat.S_IMODE(rotated.stat().st_mode) == 0o600
    assert log.read_text() == "" and log.stat().st_ino == inode  # the writer keeps its file


def test_todays_log_stays_unless_forced(tmp_path):
    log = tmp_path / "web.log"
    log.write_text("today\n")
    os.utime(log, (dt.datetime.combine(TODAY, dt.time(9)).timestamp(),) * 2)
    assert run_once(tmp_path, days=30, today=TODAY)["rotated"] == 0
    assert run_once(tmp_path, days=30, today=TODAY, force=True)["rotated"] == 1
    assert log.read_text() == ""


def test_rotations_older_than_the_retention_are_deleted(tmp_path):
    for day in ("2026-10-30", "2026-10-31", "2026-11-01", "2026-11-30"):
        (tmp_path / f"rasa.log.{day}").write_text("x")
    (tmp_path / "notes.txt.2026-01-01").write_text("not a log")
    assert [p.name for p in expired(tmp_path, 30, TODAY)] == ["rasa.log.2026-10-30", "rasa.log.2026-10-31"]
    assert run_once(tmp_path, days=30, today=TODAY)["removed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt.2026-01-01",
        "rasa.log.2026-11-01",
        "rasa.log.2026-11-30",
    ]


def test_command_line_refuses_a_zero_retention(tmp_path):
    done = subprocess.run(
        [sys.executable, "deploy/logrotate.py", "--dir", str(tmp_path), "--days", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--days" in done.stderr
