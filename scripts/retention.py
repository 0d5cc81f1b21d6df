#!/usr/bin/env python3
"""Delete conversations older than N days from the SQL tracker store.

A conversation (all events of one sender id) is deleted when its *latest* event is older
than the cut-off, so a conversation still going on is never cut in half. Works on the
embedded profile's SQLite file and on the production profile's PostgreSQL database:

    python scripts/retention.py                       # endpoints.yml (SQLite, run/tracker.db), 30 days
    python scripts/retention.py --days 7 --dry-run    # only count
    python scripts/retention.py --endpoints deploy/rasa/endpoints.yml   # PostgreSQL; POSTGRES_* from the env
    python scripts/retention.py --db-url postgresql://rasa:...@db:5432/rasa

Where the database is: --db-url, else TRACKER_DB_URL, else the tracker_store section of
--endpoints (default endpoints.yml) with its ${VARS} taken from the environment
(TRACKER_DB defaults to run/tracker.db, as scripts/run.sh has it). The number of days:
--days, else RETENTION_DAYS, else 30. It prints counts only, never conversation content.

Deleted means gone from the file too: on SQLite the DELETE runs with ``secure_delete`` on
(freed pages are overwritten with zeros) and the database is VACUUMed afterwards; on
PostgreSQL the table is VACUUMed (its dead rows become free space, reused by new rows).

The logs get the same retention: in the log directory (--log-dir, else LOG_DIR, else
RUN_DIR, else run/) a rotated log file (``*.log.1``, ``*.log.2026-12-01``, ``*.log.3.gz``
...) whose last write is older than the cut-off is deleted, and in a live ``*.log`` file
the lines older than the cut-off are dropped in place (as logrotate's copytruncate: the
writing process keeps its file). A line without a time stamp (a traceback, a warning)
goes with the line before it. The time stamps read are those of Rasa and the action
server (``2026-12-01 23:10:21``), nginx (``2026/12/01 23:10:21``, ``[2026-12-01T23:10:21+00:00]``),
PostgreSQL and Redis (``01 Dec 2026 23:10:21``). --no-logs leaves the logs alone.

For cron (daily at 03:15):
    15 3 * * *  cd /srv/assistant && .venv/bin/python scripts/retention.py --days 30 >> /var/log/assistant-retention.log 2>&1
"""

import argparse
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import List, Optional, Tuple

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script (cron): the project's packages
    sys.path.insert(0, str(ROOT))
from assistant import store_url  # noqa: E402

DEFAULT_DAYS = 30
CHUNK = 500


def url_from_endpoints(path: Path) -> sa.engine.URL:
    """The tracker store's URL from an endpoints file (the rule is shared with the
    insights: assistant/store_url.py)."""
    try:
        return store_url.url_from_endpoints(path)
    except store_url.StoreConfigError as error:
        raise SystemExit(f"retention: {error}") from None


def delete_old_conversations(url, days: float, dry_run: bool = False, now: Optional[float] = None) -> dict:
    """Delete (or count) conversations whose latest event is older than ``days``."""
    url = sa.engine.make_url(url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return {"conversations": 0, "events": 0, "note": "no tracker store yet"}
    cutoff = (now if now is not None else time.time()) - days * 86400
    engine = sa.create_engine(url, hide_parameters=True)
    try:
        if not sa.inspect(engine).has_table("events"):
            return {"conversations": 0, "events": 0, "note": "no tracker store yet"}
        events = sa.Table("events", sa.MetaData(), autoload_with=engine)
        latest = sa.func.max(events.c.timestamp)
        with engine.begin() as conn:
            old: List[str] = [
                row[0]
                for row in conn.execute(
                    sa.select(events.c.sender_id).group_by(events.c.sender_id).having(latest < cutoff)
                )
            ]
        deleted_events = 0
        sqlite = url.get_backend_name() == "sqlite"
        if dry_run:
            with engine.connect() as conn:
                for start in range(0, len(old), CHUNK):
                    chunk = old[start : start + CHUNK]
                    deleted_events += conn.execute(
                        sa.select(sa.func.count()).select_from(events).where(events.c.sender_id.in_(chunk))
                    ).scalar_one()
        else:
            # Re-checked inside each DELETE: a conversation that came back to life since
            # the first query keeps all of its events.
            recent = sa.select(events.c.sender_id).where(events.c.timestamp >= cutoff)
            for start in range(0, len(old), CHUNK):
                chunk = old[start : start + CHUNK]
                with engine.begin() as conn:
                    if sqlite:  # freed pages are zeroed, not just unlinked
                        conn.execute(sa.text("PRAGMA secure_delete = ON"))
                    deleted_events += conn.execute(
                        events.delete().where(events.c.sender_id.in_(chunk)).where(events.c.sender_id.not_in(recent))
                    ).rowcount
            if deleted_events:
                vacuum(engine, sqlite)
        return {"conversations": len(old), "events": deleted_events}
    finally:
        engine.dispose()


def vacuum(engine: sa.engine.Engine, sqlite: bool) -> None:
    """Rebuild the SQLite file without the freed pages; let PostgreSQL reuse the dead rows.
    VACUUM cannot run inside a transaction, hence autocommit."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if sqlite:
            conn.execute(sa.text("PRAGMA secure_delete = ON"))
            conn.execute(sa.text("VACUUM"))
            # In WAL mode the old pages also sit in the -wal file until a checkpoint.
            conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            conn.execute(sa.text("VACUUM events"))


# -- logs ------------------------------------------------------------------------------

_MONTHS = {
    name: i
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_STAMPS = [  # (pattern, how to read it); only the start of a line is searched
    (re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})"), "ymd"),
    (re.compile(r"^(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})"), "ymd"),
    (re.compile(r"^\S* ?\[(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-]\d{2}:?\d{2}|Z)?\]"), "iso"),
    (re.compile(r"^\d+:[A-Z] (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2})"), "redis"),
]
_ROTATED = re.compile(r"\.log([.-].+)$")


def line_time(line: str) -> Optional[float]:
    """The time stamp at the start of a log line (epoch seconds), or None."""
    head = line[:120]
    for pattern, kind in _STAMPS:
        match = pattern.search(head)
        if not match:
            continue
        g = match.groups()
        try:
            if kind == "redis":
                month = _MONTHS.get(g[1].lower())
                if month is None:
                    continue
                return time.mktime((int(g[2]), month, int(g[0]), int(g[3]), int(g[4]), int(g[5]), 0, 0, -1))
            fields = tuple(int(x) for x in g[:6])
            if kind == "iso" and g[6]:
                offset = g[6] if g[6] != "Z" else "+00:00"
                stamp = f"{fields[0]:04d}-{fields[1]:02d}-{fields[2]:02d}T{fields[3]:02d}:{fields[4]:02d}:{fields[5]:02d}{offset}"
                return datetime.fromisoformat(stamp if ":" in offset else stamp[:-2] + ":" + stamp[-2:]).timestamp()
            return time.mktime(fields + (0, 0, -1))
        except (ValueError, OverflowError):
            continue
    return None


def keep_recent_lines(data: bytes, cutoff: float, fallback: float) -> Tuple[bytes, int]:
    """The lines of a log written at or after ``cutoff`` and how many were dropped.
    Untimed lines go with the line before them (the first ones with the first stamp)."""
    lines = data.splitlines(keepends=True)
    stamps = [line_time(line.decode("utf-8", "replace")) for line in lines]
    first = next((t for t in stamps if t is not None), fallback)
    kept, dropped, current = [], 0, first
    for line, stamp in zip(lines, stamps):
        current = stamp if stamp is not None else current
        if current >= cutoff:
            kept.append(line)
        else:
            dropped += 1
    return b"".join(kept), dropped


def purge_logs(log_dir: Path, days: float, dry_run: bool = False, now: Optional[float] = None) -> dict:
    """Apply the retention to the log files in ``log_dir`` (not below it, no symlinks)."""
    cutoff = (now if now is not None else time.time()) - days * 86400
    result = {"files_deleted": 0, "lines_dropped": 0}
    if not log_dir.is_dir():
        return result
    for path in sorted(log_dir.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        mtime = path.stat().st_mtime
        if _ROTATED.search(path.name):
            if mtime < cutoff:
                result["files_deleted"] += 1
                if not dry_run:
                    path.unlink()
        elif path.name.endswith(".log"):
            result["lines_dropped"] += _trim_log(path, cutoff, mtime, dry_run)
    return result


def _trim_log(path: Path, cutoff: float, mtime: float, dry_run: bool) -> int:
    with open(path, "rb") as handle:
        data = handle.read()
    kept, dropped = keep_recent_lines(data, cutoff, fallback=mtime)
    if dropped and not dry_run:
        with open(path, "r+b") as handle:  # same file: the writer keeps appending to it
            handle.write(kept)
            handle.truncate(len(kept))
    return dropped


def default_log_dir() -> Path:
    for name in ("LOG_DIR", "RUN_DIR"):
        if os.environ.get(name):
            path = Path(os.environ[name])
            return path if path.is_absolute() else ROOT / path
    return ROOT / "run"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--days",
        type=float,
        default=float(os.environ.get("RETENTION_DAYS", DEFAULT_DAYS)),
        help="keep conversations active in the last N days (default: RETENTION_DAYS or 30)",
    )
    parser.add_argument(
        "--db-url",
        default=os.environ.get("TRACKER_DB_URL"),
        help="SQLAlchemy URL of the tracker store (default: TRACKER_DB_URL, else --endpoints)",
    )
    parser.add_argument(
        "--endpoints",
        type=Path,
        default=ROOT / "endpoints.yml",
        help="Rasa endpoints file to read the tracker store from (default: endpoints.yml)",
    )
    parser.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="directory of the log files (default: LOG_DIR, else RUN_DIR, else run/)",
    )
    parser.add_argument("--no-logs", action="store_true", help="leave the log files alone")
    args = parser.parse_args(argv)
    if args.days < 0:
        parser.error("--days must be 0 or more")

    url = sa.engine.make_url(args.db_url) if args.db_url else url_from_endpoints(args.endpoints)
    result = delete_old_conversations(url, args.days, dry_run=args.dry_run)
    where = url.render_as_string(hide_password=True)
    verb = "would delete" if args.dry_run else "deleted"
    note = f" ({result['note']})" if result.get("note") else ""
    print(
        f"retention: {verb} {result['conversations']} conversation(s), {result['events']} event(s) "
        f"older than {args.days:g} days from {where}{note}"
    )
    if not args.no_logs:
        log_dir = args.log_dir or default_log_dir()
        logs = purge_logs(log_dir, args.days, dry_run=args.dry_run)
        print(
            f"retention: {verb} {logs['files_deleted']} rotated log file(s) and "
            f"{logs['lines_dropped']} log line(s) older than {args.days:g} days in {log_dir}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
