"""Where the tracker store is: one resolution for every tool that reads the store.

Retention (``scripts/retention.py``) and the insights (``assistant/insights``) both read
Rasa's ``events`` table directly, from the same database Rasa writes. They must agree on
where it is, so the rule lives here once:

1. an explicit SQLAlchemy URL (``--db-url``), else
2. the ``TRACKER_DB_URL`` environment variable, else
3. the ``tracker_store`` section of a Rasa endpoints file (default ``endpoints.yml``), with
   its ``${VARS}`` taken from the environment as Rasa does. ``TRACKER_DB`` defaults to
   ``run/tracker.db`` (under ``RUN_DIR`` when set), as ``scripts/run.sh`` has it.

Only SQL tracker stores (``type: SQL`` or a subclass such as the embedded profile's
``serving.sqlite_store.TunedSQLiteTrackerStore``) can be resolved. No Rasa import: the
endpoints file is plain YAML.
"""

import os
import re
from pathlib import Path
from typing import Callable, Dict, Optional, Union

import sqlalchemy as sa
import yaml

from assistant.paths import ROOT

DEFAULT_ENDPOINTS = ROOT / "endpoints.yml"
URL_ENV = "TRACKER_DB_URL"
ENV_DEFAULTS: Dict[str, Callable[[], str]] = {
    "TRACKER_DB": lambda: str(Path(os.environ.get("RUN_DIR", ROOT / "run")) / "tracker.db")
}
_VAR = re.compile(r"\$\{([^}]+)\}")


class StoreConfigError(ValueError):
    """The endpoints file does not say where an SQL tracker store is."""


def expand(value: object) -> object:
    """Rasa's ${VAR} substitution (an unset variable is an error, as in Rasa)."""
    if not isinstance(value, str):
        return value

    def lookup(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name in os.environ:
            return os.environ[name]
        if name in ENV_DEFAULTS:
            return ENV_DEFAULTS[name]()
        raise StoreConfigError(f"the endpoints file needs the environment variable {name}")

    return _VAR.sub(lookup, value)


def url_from_endpoints(path: Path) -> sa.engine.URL:
    """The SQLAlchemy URL of the SQL tracker store an endpoints file configures."""
    config = yaml.safe_load(Path(path).read_text()) or {}
    store = {k: expand(v) for k, v in (config.get("tracker_store") or {}).items()}
    kind = str(store.get("type", "")).lower()
    if kind != "sql" and not (kind.endswith("trackerstore") and "sql" in kind):  # also subclasses
        raise StoreConfigError(f"{path} has no SQL tracker store (type: {store.get('type')!r})")
    dialect = str(store.get("dialect", "sqlite"))
    host = store.get("url")
    if host and "://" in str(host):
        return sa.engine.make_url(str(host))
    db = str(store.get("db", "rasa.db"))
    if dialect == "sqlite":
        db = str((ROOT / db).resolve()) if not Path(db).is_absolute() else db
        return sa.engine.URL.create("sqlite", database=db)
    return sa.engine.URL.create(
        dialect,
        username=_text(store.get("username")),
        password=_text(store.get("password")),
        host=_text(host),
        port=int(str(store["port"])) if store.get("port") else None,
        database=db,
    )


def _text(value: object) -> Optional[str]:
    return None if value is None else str(value)


def resolve_db_url(db_url: Union[str, sa.engine.URL, None] = None, endpoints: Optional[Path] = None) -> sa.engine.URL:
    """The tracker store's URL: ``db_url``, else TRACKER_DB_URL, else the endpoints file."""
    if db_url:
        return sa.engine.make_url(db_url)
    if os.environ.get(URL_ENV):
        return sa.engine.make_url(os.environ[URL_ENV])
    return url_from_endpoints(endpoints or DEFAULT_ENDPOINTS)
