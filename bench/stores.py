"""Tracker stores of a given size: seed N stored conversations into SQLite or a private
PostgreSQL instance, to see whether a new conversation's turn costs more when the store
is big (Rasa looks a conversation up by sender_id; the `events` table has an index on it).

Each seeded conversation is a copy of the first events of a real conversation of this
run (same event types and JSON sizes), under a new sender id. PostgreSQL runs from
Debian's binaries in build/bench-perf/pg on port BENCH_PG_PORT (55432), socket in that
directory, trust auth on the socket only; stopped at the end.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import List, Optional, Tuple

logger = logging.getLogger(__name__)

PG_PORT = int(os.environ.get("BENCH_PG_PORT", "55432"))
Row = Tuple[str, float, Optional[str], Optional[str], str]


def template_events(sqlite_db: Path, sender: str, limit: int = 8) -> List[Row]:
    """The first ``limit`` events of one stored conversation (type, timestamp, intent, action, data)."""
    with sqlite3.connect(sqlite_db) as con:
        rows = con.execute(
            "SELECT type_name, timestamp, intent_name, action_name, data FROM events "
            "WHERE sender_id = ? ORDER BY id LIMIT ?",
            (sender, limit),
        ).fetchall()
    if not rows:
        raise RuntimeError("no template conversation in the tracker store")
    return rows


def _copies(template: List[Row], n: int):
    for i in range(n):
        sender = f"seed-{uuid.uuid4()}"
        for type_name, ts, intent, action, data in template:
            yield sender, type_name, ts - 86400 - i, intent, action, data


def count_conversations_sqlite(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COUNT(DISTINCT sender_id) FROM events").fetchone()[0]


def seed_sqlite(db: Path, template: List[Row], n: int) -> None:
    """Add ``n`` conversations in one transaction (the server keeps running meanwhile)."""
    con = sqlite3.connect(db, timeout=60)
    try:
        con.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            _copies(template, n),
        )
        con.commit()
    finally:
        con.close()


class Postgres:
    """A throw-away PostgreSQL cluster for the bench (initdb, start, stop, remove)."""

    def __init__(self, root: Path, port: int = PG_PORT) -> None:
        self.root = root
        self.port = port
        self.data = root / "data"
        self.bin = self._bindir()

    @staticmethod
    def _bindir() -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL is not installed: `make deploy-deps`")
        return found[-1].parent

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        kwargs = {}
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            kwargs = {"user": "postgres"}
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120, **kwargs)

    def start(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "rasa", "--no-sync")
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "pg.log"),
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=on",
            "start",
        )
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", "rasa", "rasa")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", "rasa", name)

    def endpoints(self, path: Path, db: str = "rasa") -> Path:
        """endpoints.yml for the assistant on this instance (the production store class)."""
        path.write_text(
            "action_endpoint:\n  url: ${ACTION_SERVER_URL}\n"
            "tracker_store:\n  type: deploy.tracker_store.ResilientSQLTrackerStore\n  dialect: postgresql\n"
            f"  url: {self.root}\n  port: {self.port}\n  db: {db}\n  username: rasa\n  password: ''\n"
        )
        return path

    def connect(self):
        import psycopg2

        return psycopg2.connect(host=str(self.root), port=self.port, user="rasa", dbname="rasa")

    def seed(self, template: List[Row], n: int) -> None:
        """COPY ``n`` conversations in (fast, one transaction), then ANALYZE."""
        buf = io.StringIO()
        for row in _copies(template, n):
            buf.write("\t".join(_pg_text(v) for v in row) + "\n")
        buf.seek(0)
        with self.connect() as con, con.cursor() as cur:
            cur.copy_expert(
                "COPY events (sender_id, type_name, timestamp, intent_name, action_name, data) FROM STDIN", buf
            )
        with self.connect() as con:
            con.autocommit = True
            con.cursor().execute("ANALYZE events")

    def count_conversations(self) -> int:
        with self.connect() as con, con.cursor() as cur:
            cur.execute("SELECT COUNT(DISTINCT sender_id) FROM events")
            return cur.fetchone()[0]


def _pg_text(value: object) -> str:
    if value is None:
        return r"\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
