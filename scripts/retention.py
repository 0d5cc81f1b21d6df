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

For cron (daily at 03:15):
    15 3 * * *  cd /srv/assistant && .venv/bin/python scripts/retention.py --days 30 >> /var/log/assistant-retention.log 2>&1
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import List, Optional

import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DAYS = 30
CHUNK = 500
ENV_DEFAULTS = {"TRACKER_DB": lambda: str(Path(os.environ.get("RUN_DIR", ROOT / "run")) / "tracker.db")}
_VAR = re.compile(r"\$\{([^}]+)\}")


def _expand(value: object) -> object:
    """Rasa's ${VAR} substitution (unset variables are an error, as in Rasa)."""
    if not isinstance(value, str):
        return value

    def lookup(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name in os.environ:
            return os.environ[name]
        if name in ENV_DEFAULTS:
            return ENV_DEFAULTS[name]()
        raise SystemExit(f"retention: the endpoints file needs the environment variable {name}")

    return _VAR.sub(lookup, value)


def url_from_endpoints(path: Path) -> sa.engine.URL:
    config = yaml.safe_load(path.read_text()) or {}
    store = {k: _expand(v) for k, v in (config.get("tracker_store") or {}).items()}
    kind = str(store.get("type", "")).lower()
    if kind != "sql" and not kind.endswith("sqltrackerstore"):
        raise SystemExit(f"retention: {path} has no SQL tracker store (type: {store.get('type')!r})")
    dialect = store.get("dialect", "sqlite")
    host = store.get("url")
    if host and "://" in str(host):
        return sa.engine.make_url(host)
    db = store.get("db", "rasa.db")
    if dialect == "sqlite":
        db = str((ROOT / db).resolve()) if not Path(db).is_absolute() else db
        return sa.engine.URL.create("sqlite", database=db)
    return sa.engine.URL.create(
        dialect, username=store.get("username"), password=store.get("password"), host=host,
        port=int(store["port"]) if store.get("port") else None, database=db,
    )


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
                row[0] for row in conn.execute(
                    sa.select(events.c.sender_id).group_by(events.c.sender_id).having(latest < cutoff)
                )
            ]
        deleted_events = 0
        if dry_run:
            with engine.connect() as conn:
                for start in range(0, len(old), CHUNK):
                    chunk = old[start:start + CHUNK]
                    deleted_events += conn.execute(
                        sa.select(sa.func.count()).select_from(events).where(events.c.sender_id.in_(chunk))
                    ).scalar_one()
        else:
            # Re-checked inside each DELETE: a conversation that came back to life since
            # the first query keeps all of its events.
            recent = sa.select(events.c.sender_id).where(events.c.timestamp >= cutoff)
            for start in range(0, len(old), CHUNK):
                chunk = old[start:start + CHUNK]
                with engine.begin() as conn:
                    deleted_events += conn.execute(
                        events.delete().where(events.c.sender_id.in_(chunk)).where(events.c.sender_id.not_in(recent))
                    ).rowcount
        return {"conversations": len(old), "events": deleted_events}
    finally:
        engine.dispose()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=float(os.environ.get("RETENTION_DAYS", DEFAULT_DAYS)),
                        help="keep conversations active in the last N days (default: RETENTION_DAYS or 30)")
    parser.add_argument("--db-url", default=os.environ.get("TRACKER_DB_URL"),
                        help="SQLAlchemy URL of the tracker store (default: TRACKER_DB_URL, else --endpoints)")
    parser.add_argument("--endpoints", type=Path, default=ROOT / "endpoints.yml",
                        help="Rasa endpoints file to read the tracker store from (default: endpoints.yml)")
    parser.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
