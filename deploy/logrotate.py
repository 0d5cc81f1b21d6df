#!/usr/bin/env python3
"""Daily log rotation with the conversations' retention, run by the process manager.

Logs can hold a patient's topic words (never message text, but still health data), so
they must not outlive the conversations: `scripts/retention.py` deletes conversations
older than RETENTION_DAYS (30) days, and this keeps the logs to the same span. It is
logrotate's ``copytruncate`` scheme, so it works whoever writes the file (``tee -a`` in
the Procfile, supervisord, nginx, Redis) without signalling the writer:

* once a day (and at start for a log last written on an earlier day) ``<name>.log`` is
  copied to ``<name>.log.<YYYY-MM-DD>`` (the day it was rotated on, mode 0600) and truncated
  in place; writers that append (O_APPEND) carry on at the new end;
* rotated files older than the retention are deleted.

    python deploy/logrotate.py --dir run --days 30           # once
    python deploy/logrotate.py --dir run --days 30 --watch   # as a Procfile / supervisord program

Only the standard library; it prints file names and counts, never log content.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Callable, List, Optional

logger = logging.getLogger(__name__)

ROTATED = re.compile(r"^(?P<base>.+\.log)\.(?P<day>\d{4}-\d{2}-\d{2})$")
CHUNK = 1 << 20


def _day_of(path: Path) -> dt.date:
    return dt.date.fromtimestamp(path.stat().st_mtime)


def rotate_file(path: Path, today: dt.date) -> Optional[Path]:
    """Copy ``path`` to ``path.<today>`` (appending if that exists) and truncate it."""
    if path.is_symlink() or not path.is_file() or path.stat().st_size == 0:
        return None
    target = path.with_name(f"{path.name}.{today.isoformat()}")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(path, "rb") as source, os.fdopen(fd, "ab") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
        # Whatever was appended between the copy and the truncate is lost (logrotate's
        # documented copytruncate window); read once more to keep that window tiny.
        out.write(source.read())
        os.truncate(path, 0)
    return target


def expired(directory: Path, days: int, today: dt.date) -> List[Path]:
    """Rotated logs whose day is more than ``days`` days before ``today``."""
    cut = today - dt.timedelta(days=days)
    old = []
    for path in directory.iterdir():
        match = ROTATED.match(path.name)
        if match and path.is_file():
            try:
                day = dt.date.fromisoformat(match["day"])
            except ValueError:
                continue
            if day < cut:
                old.append(path)
    return sorted(old)


def run_once(directory: Path, days: int, today: Optional[dt.date] = None, force: bool = False) -> dict:
    """One pass: rotate logs written before ``today`` (every non-empty log with ``force``),
    then delete the expired rotations. Returns counts for the caller to print."""
    today = today or dt.date.today()
    rotated = 0
    for path in sorted(directory.glob("*.log")):
        try:
            if force or _day_of(path) < today:
                rotated += rotate_file(path, today) is not None
        except OSError as err:  # a file that vanished or is not ours: next time
            logger.warning("could not rotate %s: %s", path.name, type(err).__name__)
    removed = 0
    for path in expired(directory, days, today):
        path.unlink(missing_ok=True)
        removed += 1
    return {"rotated": rotated, "removed": removed}


def watch(directory: Path, days: int, interval: float) -> None:
    """Rotate at start, then at the first check of every new day, until SIGTERM/SIGINT."""
    stopping = False

    def stop(_signum: int, _frame: Optional[FrameType]) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    day = dt.date.today()
    logger.info("log rotation in %s: daily, %d day(s) kept: %s", directory, days, run_once(directory, days, day))
    while not stopping:
        _sleep(interval, lambda: stopping)
        if dt.date.today() != day and not stopping:
            day = dt.date.today()
            logger.info("daily log rotation: %s", run_once(directory, days, day, force=True))


def _sleep(seconds: float, stop_requested: Callable[[], bool]) -> None:
    """Sleep in short steps, so a stop request is served within a second."""
    deadline = time.monotonic() + seconds
    while not stop_requested() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(1.0, left))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Daily copytruncate log rotation with a retention in days.")
    parser.add_argument("--dir", required=True, type=Path, help="the log directory")
    parser.add_argument("--days", type=int, default=int(os.environ.get("RETENTION_DAYS", "30")))
    parser.add_argument("--watch", action="store_true", help="keep running, rotate at each new day")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between checks with --watch")
    parser.add_argument("--force", action="store_true", help="rotate every non-empty log now")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s logrotate %(message)s", stream=sys.stdout)
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.watch:
        watch(args.dir, args.days, args.interval)
    else:
        print(run_once(args.dir, args.days, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
