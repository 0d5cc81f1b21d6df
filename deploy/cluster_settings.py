"""Settings and small probes of the local production cluster (deploy/cluster.py).

Every setting is an environment variable read once (docs/production.md lists them); the
probes answer "is it up?" for the health waits without any third-party client.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
# Generated once into secrets.env (0600) unless given in the environment.
SECRET_KEYS = (
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "RASA_AUTH_TOKEN",
    "ACTION_SERVER_TOKEN",
    "SOCKETIO_SESSION_SECRET",
)


def _env_list(name: str, default: str) -> List[str]:
    return [item for item in os.environ.get(name, default).replace(",", " ").split() if item]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _newest_model(project_dir: Path) -> Optional[Path]:
    named = project_dir / "models" / "gluteus-assistant.tar.gz"
    if named.exists():
        return named
    models = sorted((project_dir / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def _default_python() -> str:
    venv_python = REPO / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass
class Settings:
    """Everything configurable, read from the environment once."""

    state_dir: Path = field(default_factory=lambda: Path(_env("PROD_DIR", str(REPO / "build" / "prod"))))
    project_dir: Path = field(default_factory=lambda: Path(_env("RASA_PROJECT_DIR", str(REPO))))
    model: Optional[Path] = None
    credentials: Optional[Path] = None
    endpoints: Path = field(
        default_factory=lambda: Path(_env("RASA_ENDPOINTS", str(DEPLOY / "rasa" / "endpoints.yml")))
    )
    python: str = field(default_factory=lambda: _env("RASA_PYTHON", _default_python()))
    listen_host: str = "127.0.0.1"
    rasa_ports: List[int] = field(default_factory=lambda: [int(p) for p in _env_list("RASA_PORTS", "5305 5306")])
    actions_port: int = field(default_factory=lambda: int(_env("ACTIONS_PORT", "5355")))
    actions_package: str = field(default_factory=lambda: _env("ACTIONS_PACKAGE", "actions"))
    http_port: int = field(default_factory=lambda: int(_env("NGINX_HTTP_PORT", "8300")))
    tls_port: int = field(default_factory=lambda: int(_env("NGINX_TLS_PORT", "8343")))
    postgres_port: int = field(default_factory=lambda: int(_env("POSTGRES_PORT", "5433")))
    postgres_db: str = field(default_factory=lambda: _env("POSTGRES_DB", "rasa"))
    postgres_user: str = field(default_factory=lambda: _env("POSTGRES_USER", "rasa"))
    redis_port: int = field(default_factory=lambda: int(_env("REDIS_PORT", "6380")))
    redis_db: int = field(default_factory=lambda: int(_env("REDIS_DB", "1")))
    # Empty: the one origins setting (assistant/origins.py) fills it in (deploy/cluster.py).
    cors_origins: List[str] = field(default_factory=list)
    # HTTP API: off unless RASA_ENABLE_API=1 (all instances) or RASA_API_PORTS lists instances.
    api_ports: List[int] = field(default_factory=list)
    rate_limit: str = field(default_factory=lambda: _env("RATE_LIMIT", "10r/s"))
    rate_burst: int = field(default_factory=lambda: int(_env("RATE_BURST", "20")))
    conn_limit: int = field(default_factory=lambda: int(_env("CONN_LIMIT", "20")))
    max_body: str = field(default_factory=lambda: _env("MAX_BODY", "16k"))
    # Sanic's own request limit behind nginx: Rasa's channel needs a few kB, an action
    # request carries the conversation's tracker.
    rasa_max_body: str = field(default_factory=lambda: _env("RASA_MAX_BODY", "1000000"))
    actions_max_body: str = field(default_factory=lambda: _env("ACTIONS_MAX_BODY", "1000000"))
    retention_days: int = field(default_factory=lambda: int(_env("RETENTION_DAYS", "30")))
    sql_pool_size: str = field(default_factory=lambda: _env("SQL_POOL_SIZE", "5"))
    sql_max_overflow: str = field(default_factory=lambda: _env("SQL_MAX_OVERFLOW", "10"))
    start_timeout: float = field(default_factory=lambda: float(_env("CLUSTER_START_TIMEOUT", "420")))

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        self.project_dir = Path(self.project_dir).resolve()
        if self.model is None:
            model = os.environ.get("MODEL")
            self.model = Path(model).resolve() if model else _newest_model(self.project_dir)
        if self.credentials is None:
            self.credentials = Path(_env("RASA_CREDENTIALS", str(self.project_dir / "credentials.yml"))).resolve()
        if not self.api_ports:
            if _truthy("RASA_ENABLE_API"):
                self.api_ports = list(self.rasa_ports)
            else:
                self.api_ports = [int(p) for p in _env_list("RASA_API_PORTS", "")]

    # -- paths ------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def supervisor_dir(self) -> Path:
        return self.state_dir / "supervisor"

    @property
    def pg_dir(self) -> Path:
        return self.state_dir / "postgres"

    @property
    def pg_data(self) -> Path:
        return self.pg_dir / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_dir / "socket"

    @property
    def redis_dir(self) -> Path:
        return self.state_dir / "redis"

    @property
    def nginx_dir(self) -> Path:
        return self.state_dir / "nginx"

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.env"

    def rasa_names(self) -> List[str]:
        return [f"rasa-{i}" for i in range(1, len(self.rasa_ports) + 1)]

    def rasa_port(self, name: str) -> int:
        return self.rasa_ports[int(name.split("-")[1]) - 1]


def pg_bin(tool: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), key=lambda p: int(p.parts[-3]))
    if found:
        return str(found[-1])
    path = shutil.which(tool)
    if path:
        return path
    raise SystemExit(f"PostgreSQL's {tool} was not found: run `make deploy-deps` (Debian package postgresql)")


def require(binary: str, package: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if not path:
        raise SystemExit(f"{binary} was not found: run `make deploy-deps` (Debian package {package})")
    return path


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_get(url: str, timeout: float = 3.0) -> Optional[int]:
    """Status code of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback only)
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError):
        return None


def redis_ping(host: str, port: int, password: str) -> bool:
    """AUTH + PING over a raw socket: the lock store's Redis answers both with +OK/+PONG."""
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            data = b""
            while data.count(b"\r\n") < 2:
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"+OK") and b"+PONG" in data
    except OSError:
        return False
