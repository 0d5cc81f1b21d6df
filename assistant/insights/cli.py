"""Command line: print the insights for a period, optionally write the CSV and the page.

    python -m assistant.insights                          # last 30 days, endpoints.yml's store
    python -m assistant.insights --days 7 --csv out.csv --html out.html
    python -m assistant.insights --since 2026-11-01 --until 2026-12-01 --timezone Europe/London
    python -m assistant.insights --endpoints deploy/rasa/endpoints.yml   # PostgreSQL; POSTGRES_* from the env

The store is found as retention finds it (``assistant/store_url.py``): --db-url, else
TRACKER_DB_URL, else the endpoints file. Dates are read in the clinic's time zone
(--timezone, else INSIGHTS_TIMEZONE, TZ, the machine's); --until is exclusive.
"""

import argparse
import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import List, Optional

from assistant.insights.render import render_csv, render_html, render_text
from assistant.insights.summary import load_summary, resolve_zone
from assistant.store_url import StoreConfigError, resolve_db_url

logger = logging.getLogger(__name__)


def _date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM): {value!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m assistant.insights", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--days", type=float, default=30, help="the last N days up to now (default 30)")
    p.add_argument("--since", type=_date, help="start (inclusive), instead of --days")
    p.add_argument("--until", type=_date, help="end (exclusive; default now)")
    p.add_argument("--db-url", help="SQLAlchemy URL of the tracker store (default: TRACKER_DB_URL, else --endpoints)")
    p.add_argument("--endpoints", type=Path, help="Rasa endpoints file with the tracker store (default endpoints.yml)")
    p.add_argument(
        "--timezone", help="IANA time zone for days and hours (default INSIGHTS_TIMEZONE, TZ, the machine's)"
    )
    p.add_argument("--csv", type=Path, help="write the CSV (section,key,value) here")
    p.add_argument("--html", type=Path, help="write the HTML page here (it links /static/insights.css)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    if args.days <= 0:
        parser().error("--days must be more than 0")
    try:
        zone, _ = resolve_zone(args.timezone)
        url = resolve_db_url(args.db_url, args.endpoints)
    except (StoreConfigError, ValueError) as error:
        print(f"insights: {error}", file=sys.stderr)
        return 2
    end = args.until or datetime.now(zone)
    start = args.since or (end - timedelta(days=args.days))
    try:
        summary = load_summary(url, start, end, timezone_name=args.timezone)
    except ValueError as error:
        print(f"insights: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render_text(summary))
    if args.csv:
        args.csv.write_text(render_csv(summary), encoding="utf-8")
        print(f"insights: CSV written to {args.csv}")
    if args.html:
        args.html.write_text(render_html(summary), encoding="utf-8")
        print(f"insights: page written to {args.html}")
    return 0
