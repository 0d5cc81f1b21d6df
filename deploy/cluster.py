#!/usr/bin/env python3
"""Run the production profile on one machine, from Debian's packages, on loopback.

    python deploy/cluster.py up        # PostgreSQL, Redis, action server, N x Rasa, nginx
    python deploy/cluster.py status
    python deploy/cluster.py down      # stops everything it started (data is kept)
    python deploy/cluster.py down --purge   # ... and deletes build/prod (database included)
    python deploy/cluster.py restart rasa-1 | kill actions | start nginx | ...
    python deploy/cluster.py env       # the variables a client or scripts/retention.py needs

Everything it creates lives under build/prod/ (PROD_DIR): the PostgreSQL data directory,
the rendered Redis and nginx configuration, a self-signed TLS certificate, pid files,
logs, and secrets.env (mode 0600) with the generated passwords. Every setting is an
environment variable (see `Settings` and docs/production.md); a secret given in the
environment wins over the generated one.

The tests in tests/production drive the same `Cluster` class (kill one Rasa instance,
restart PostgreSQL, ...). Only the standard library is used, so any Python can run it;
the Rasa processes run with the interpreter of the project's virtual env.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def _env_list(name: str, default: str) -> List[str]:
    return [item for item in os.environ.get(name, default).replace(",", " ").split() if item]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _newest_model(project_dir: Path) -> Optional[Path]:
    models = sorted((project_dir / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def _default_python() -> str:
    venv_python = REPO / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


@dataclass
class Settings:
    """Everything configurable, read from the environment once."""

    state_dir: Path = field(default_factory=lambda: Path(os.environ.get("PROD_DIR", REPO / "build" / "prod")))
    project_dir: Path = field(default_factory=lambda: Path(os.environ.get("RASA_PROJECT_DIR", REPO)))
    model: Optional[Path] = None
    credentials: Optional[Path] = None
    endpoints: Path = field(default_factory=lambda: Path(os.environ.get("RASA_ENDPOINTS", DEPLOY / "rasa" / "endpoints.yml")))
    python: str = field(default_factory=lambda: os.environ.get("RASA_PYTHON", _default_python()))
    listen_host: str = "127.0.0.1"
    rasa_ports: List[int] = field(default_factory=lambda: [int(p) for p in _env_list("RASA_PORTS", "5305 5306")])
    actions_port: int = field(default_factory=lambda: int(os.environ.get("ACTIONS_PORT", "5355")))
    actions_package: str = field(default_factory=lambda: os.environ.get("ACTIONS_PACKAGE", "actions"))
    http_port: int = field(default_factory=lambda: int(os.environ.get("NGINX_HTTP_PORT", "8300")))
    tls_port: int = field(default_factory=lambda: int(os.environ.get("NGINX_TLS_PORT", "8343")))
    postgres_port: int = field(default_factory=lambda: int(os.environ.get("POSTGRES_PORT", "5433")))
    postgres_db: str = field(default_factory=lambda: os.environ.get("POSTGRES_DB", "rasa"))
    postgres_user: str = field(default_factory=lambda: os.environ.get("POSTGRES_USER", "rasa"))
    redis_port: int = field(default_factory=lambda: int(os.environ.get("REDIS_PORT", "6380")))
    redis_db: int = field(default_factory=lambda: int(os.environ.get("REDIS_DB", "1")))
    cors_origins: List[str] = field(
        default_factory=lambda: _env_list("CORS_ORIGINS", "http://localhost:8080 http://127.0.0.1:8080")
    )
    # HTTP API: off unless RASA_ENABLE_API=1 (all instances) or RASA_API_PORTS lists instances.
    api_ports: List[int] = field(default_factory=list)
    rate_limit: str = field(default_factory=lambda: os.environ.get("RATE_LIMIT", "10r/s"))
    rate_burst: int = field(default_factory=lambda: int(os.environ.get("RATE_BURST", "20")))
    conn_limit: int = field(default_factory=lambda: int(os.environ.get("CONN_LIMIT", "20")))
    max_body: str = field(default_factory=lambda: os.environ.get("MAX_BODY", "16k"))
    sql_pool_size: str = field(default_factory=lambda: os.environ.get("SQL_POOL_SIZE", "5"))
    sql_max_overflow: str = field(default_factory=lambda: os.environ.get("SQL_MAX_OVERFLOW", "10"))
    start_timeout: float = field(default_factory=lambda: float(os.environ.get("CLUSTER_START_TIMEOUT", "420")))

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        self.project_dir = Path(self.project_dir).resolve()
        if self.model is None:
            model = os.environ.get("MODEL")
            self.model = Path(model).resolve() if model else _newest_model(self.project_dir)
        if self.credentials is None:
            self.credentials = Path(os.environ.get("RASA_CREDENTIALS", self.project_dir / "credentials.yml")).resolve()
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


def _pg_bin(tool: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), key=lambda p: int(p.parts[-3]))
    if found:
        return str(found[-1])
    path = shutil.which(tool)
    if path:
        return path
    raise SystemExit(f"PostgreSQL's {tool} was not found: run `make deploy-deps` (Debian package postgresql)")


def _require(binary: str, package: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if not path:
        raise SystemExit(f"{binary} was not found: run `make deploy-deps` (Debian package {package})")
    return path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
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


class Cluster:
    """The local production cluster. One object per state directory."""

    COMPONENTS_ORDER = ("postgres", "redis", "actions", "rasa", "nginx")

    def __init__(self, settings: Optional[Settings] = None, extra_env: Optional[Dict[str, str]] = None) -> None:
        self.s = settings or Settings()
        self.extra_env = dict(extra_env or {})
        self._children: Dict[str, subprocess.Popen] = {}
        self._log_offsets: Dict[str, int] = {}
        self._secrets: Dict[str, str] = {}

    # -- secrets ----------------------------------------------------------------------
    def secrets(self) -> Dict[str, str]:
        if self._secrets:
            return self._secrets
        stored: Dict[str, str] = {}
        if self.s.secrets_file.exists():
            for line in self.s.secrets_file.read_text().splitlines():
                if "=" in line and not line.startswith("#"):
                    key, value = line.split("=", 1)
                    stored[key] = value
        wanted = ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN"]
        changed = False
        for key in wanted:
            if os.environ.get(key):
                value = os.environ[key]
            elif stored.get(key):
                value = stored[key]
            else:
                value = secrets.token_urlsafe(24)
            if stored.get(key) != value:
                changed = True
            stored[key] = value
        if changed or not self.s.secrets_file.exists():
            self.s.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.s.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write("# Generated by deploy/cluster.py for the local cluster. Not for production.\n")
                out.writelines(f"{k}={stored[k]}\n" for k in wanted)
        self._secrets = stored
        return stored

    def service_env(self) -> Dict[str, str]:
        """What deploy/rasa/endpoints.yml and the clients need (secrets included)."""
        sec = self.secrets()
        return {
            "ACTION_SERVER_URL": f"http://{self.s.listen_host}:{self.s.actions_port}/webhook",
            "POSTGRES_HOST": self.s.listen_host,
            "POSTGRES_PORT": str(self.s.postgres_port),
            "POSTGRES_DB": self.s.postgres_db,
            "POSTGRES_USER": self.s.postgres_user,
            "POSTGRES_PASSWORD": sec["POSTGRES_PASSWORD"],
            "REDIS_HOST": self.s.listen_host,
            "REDIS_PORT": str(self.s.redis_port),
            "REDIS_DB": str(self.s.redis_db),
            "REDIS_PASSWORD": sec["REDIS_PASSWORD"],
        }

    def db_url(self) -> str:
        sec = self.secrets()
        return (
            f"postgresql://{self.s.postgres_user}:{sec['POSTGRES_PASSWORD']}"
            f"@{self.s.listen_host}:{self.s.postgres_port}/{self.s.postgres_db}"
        )

    @property
    def base_url(self) -> str:
        # HTTPS: plain HTTP on http_port only redirects (301), except /healthz.
        return f"https://{self.s.listen_host}:{self.s.tls_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.s.listen_host}:{self.s.http_port}"

    @property
    def tls_url(self) -> str:
        return f"https://localhost:{self.s.tls_port}"

    def rasa_url(self, name: str) -> str:
        return f"http://{self.s.listen_host}:{self.s.rasa_port(name)}"

    # -- process bookkeeping -----------------------------------------------------------
    def _pidfile(self, name: str) -> Path:
        return self.s.run_dir / f"{name}.pid"

    def pid(self, name: str) -> Optional[int]:
        if name == "postgres":
            pidfile = self.s.pg_data / "postmaster.pid"
        else:
            pidfile = self._pidfile(name)
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        child = self._children.get(name)
        if child is not None:
            child.poll()  # reap it if it died, so it does not linger as a zombie
        return pid if _alive(pid) else None

    def _spawn(self, name: str, argv: Sequence[str], env: Dict[str, str], cwd: Path) -> int:
        self.s.run_dir.mkdir(parents=True, exist_ok=True)
        self.s.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.s.log_dir / f"{name}.log", "ab")
        self._log_offsets[name] = log.tell()
        log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv), env=env, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._children[name] = proc
        self._pidfile(name).write_text(f"{proc.pid}\n")
        return proc.pid

    def _signal_group(self, name: str, sig: int) -> Optional[int]:
        pid = self.pid(name)
        if pid is None:
            return None
        try:
            os.killpg(os.getpgid(pid), sig)
        except ProcessLookupError:
            return None
        return pid

    def _wait_gone(self, name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(name) is None:
                return True
            time.sleep(0.1)
        return self.pid(name) is None

    def _as_db_owner(self) -> List[str]:
        """Prefix that runs a PostgreSQL server command as its (non-root) owner."""
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), check=True, text=True, capture_output=True, **kwargs)

    # -- PostgreSQL ---------------------------------------------------------------------
    def _pg_prepare(self) -> None:
        s = self.s
        s.pg_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise SystemExit("user 'postgres' is missing: run `make deploy-deps` (Debian package postgresql)") from None
            for path in (s.pg_dir,):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        if os.geteuid() == 0 and subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(s.pg_dir)]).returncode:
            raise SystemExit(
                f"the postgres user cannot reach {s.pg_dir}: a parent directory is not searchable by other users "
                f"(chmod o+x on it) - or set PROD_DIR to a directory under one that is"
            )
        s.pg_socket_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(s.pg_socket_dir, 0o700)
        if os.geteuid() == 0:
            os.chown(s.pg_socket_dir, pw.pw_uid, pw.pw_gid)
        if not (s.pg_data / "PG_VERSION").exists():
            self._run(
                self._as_db_owner() + [
                    _pg_bin("initdb"), "-D", str(s.pg_data), "-U", "postgres", "-E", "UTF8", "--no-locale",
                    "--auth-local=trust", "--auth-host=scram-sha-256",
                ]
            )
        # Our settings and access rules, refreshed on every start.
        conf = (DEPLOY / "postgres" / "postgresql.conf").read_text()
        hba = self._render((DEPLOY / "postgres" / "pg_hba.conf").read_text(), {
            "POSTGRES_DB": s.postgres_db, "POSTGRES_USER": s.postgres_user,
        })
        main_conf = s.pg_data / "postgresql.conf"
        text = main_conf.read_text()
        if "include_if_exists = 'production.conf'" not in text:
            text += "\n# deploy/postgres/postgresql.conf\ninclude_if_exists = 'production.conf'\n"
        for path, content in ((s.pg_data / "production.conf", conf), (s.pg_data / "pg_hba.conf", hba), (main_conf, text)):
            path.write_text(content)
            if os.geteuid() == 0:
                os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, 0o600)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        s = self.s
        s.log_dir.mkdir(parents=True, exist_ok=True)
        logfile = s.pg_dir / "postgres.log"  # written by the server's (non-root) user
        argv = self._as_db_owner() + [_pg_bin("pg_ctl"), "-D", str(s.pg_data), "-l", str(logfile), *args]
        return subprocess.run(argv, check=check, text=True, capture_output=True)

    def start_postgres(self) -> None:
        s = self.s
        if self.pid("postgres"):
            return
        self._pg_prepare()
        options = f"-p {s.postgres_port} -k {s.pg_socket_dir} -c listen_addresses={s.listen_host}"
        self._pg_ctl("-w", "-t", "60", "-o", options, "start")
        link = s.log_dir / "postgres.log"
        if not link.exists():
            link.symlink_to(s.pg_dir / "postgres.log")
        self._pg_bootstrap()

    def _psql_admin(self, sql: str, db: str = "postgres") -> str:
        argv = self._as_db_owner() + [
            _pg_bin("psql"), "-h", str(self.s.pg_socket_dir), "-p", str(self.s.postgres_port), "-U", "postgres",
            "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt",
        ]
        return self._run(argv, input=sql).stdout

    def _pg_bootstrap(self) -> None:
        """Create (or update) the Rasa role and database; the password comes in on stdin."""
        s = self.s
        password = self.secrets()["POSTGRES_PASSWORD"].replace("'", "''")
        user, db = s.postgres_user, s.postgres_db
        self._psql_admin(
            f"""
            SELECT 'CREATE ROLE "{user}" LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{user}')\\gexec
            ALTER ROLE "{user}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}';
            SELECT 'CREATE DATABASE "{db}" OWNER "{user}"' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{db}')\\gexec
            REVOKE ALL ON DATABASE "{db}" FROM PUBLIC;
            """
        )

    def stop_postgres(self, mode: str = "fast") -> None:
        if self.pid("postgres"):
            self._pg_ctl("-w", "-t", "60", "-m", mode, "stop", check=False)

    def restart_postgres(self, mode: str = "fast") -> None:
        """Restart the database server under running Rasa instances (fault test)."""
        self._pg_ctl("-w", "-t", "60", "-m", mode, "restart")

    # -- Redis --------------------------------------------------------------------------
    def start_redis(self) -> None:
        s = self.s
        if self.pid("redis"):
            return
        s.redis_dir.mkdir(parents=True, exist_ok=True)
        s.run_dir.mkdir(parents=True, exist_ok=True)
        s.log_dir.mkdir(parents=True, exist_ok=True)
        conf = self._render((DEPLOY / "redis" / "redis.conf.template").read_text(), {
            "LISTEN_HOST": s.listen_host, "REDIS_PORT": str(s.redis_port),
            "REDIS_PASSWORD": self.secrets()["REDIS_PASSWORD"], "RUN_DIR": str(s.redis_dir),
            "LOG_DIR": str(s.log_dir), "REDIS_DIR": str(s.redis_dir),
        })
        conf_path = s.redis_dir / "redis.conf"
        fd = os.open(conf_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(conf)
        self._spawn("redis", [_require("redis-server", "redis-server"), str(conf_path)], dict(os.environ), s.redis_dir)

    def redis_ping(self) -> bool:
        try:
            with socket.create_connection((self.s.listen_host, self.s.redis_port), timeout=1) as sock:
                password = self.secrets()["REDIS_PASSWORD"]
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

    # -- action server and Rasa ------------------------------------------------------------
    def _python_env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env.update(self.service_env())
        # The project (actions, channels, components) and this repository (deploy.tracker_store).
        pythonpath = [str(self.s.project_dir), str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env.update({
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
            "LOG_LEVEL_LIBRARIES": env.get("LOG_LEVEL_LIBRARIES", "ERROR"),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "SQL_POOL_SIZE": self.s.sql_pool_size,
            "SQL_MAX_OVERFLOW": self.s.sql_max_overflow,
            # A conversation's lock outlives an instance that dies holding it; Rasa's default
            # of 60 s would stall that conversation for a minute. A turn takes well under a
            # second, and the channel gives up on one after TURN_TIMEOUT_SECONDS (20).
            "TICKET_LOCK_LIFETIME": env.get("TICKET_LOCK_LIFETIME", "10"),
            "PYTHONUNBUFFERED": "1",
        })
        # Secrets that a process does not need are not handed to it. The action server and
        # Rasa share ACTION_SERVER_TOKEN (serving/action_server.py checks, Rasa sends it).
        env.pop("RASA_AUTH_TOKEN", None)
        env["ACTION_SERVER_TOKEN"] = self.secrets()["ACTION_SERVER_TOKEN"]
        return env

    def start_actions(self) -> None:
        if self.pid("actions"):
            return
        env = self._python_env()
        for key in ("POSTGRES_PASSWORD", "REDIS_PASSWORD"):
            env.pop(key, None)
        env["SANIC_HOST"] = self.s.listen_host
        # serving/action_server.py: rasa_sdk's executor without its body-echoing errors,
        # bounded inflate, ACTION_SERVER_TOKEN checked when set (Rasa then sends it).
        argv = [self.s.python, "-m", "serving.action_server", "--actions", self.s.actions_package,
                "--port", str(self.s.actions_port)]
        self._spawn("actions", argv, env, self.s.project_dir)

    def start_rasa(self, name: str) -> None:
        s = self.s
        if self.pid(name):
            return
        if s.model is None or not Path(s.model).exists():
            raise SystemExit(
                f"no trained model in {s.project_dir / 'models'}: run `make train` first (or set MODEL=path.tar.gz)"
            )
        port = s.rasa_port(name)
        env = self._python_env()
        argv = [
            s.python, str(DEPLOY / "rasa_serve.py"), "run",
            "--model", str(s.model), "--endpoints", str(s.endpoints), "--credentials", str(s.credentials),
            "--interface", s.listen_host, "--port", str(port),
        ]
        if port in s.api_ports:
            argv.append("--enable-api")
            env["RASA_AUTH_TOKEN"] = self.secrets()["RASA_AUTH_TOKEN"]
        if s.cors_origins:
            argv += ["--cors", *s.cors_origins]
        self._spawn(name, argv, env, s.project_dir)

    # -- nginx ------------------------------------------------------------------------------
    def _tls_files(self) -> tuple:
        cert, key = os.environ.get("TLS_CERT"), os.environ.get("TLS_KEY")
        if cert and key:
            return cert, key
        s = self.s
        s.tls_dir.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = s.tls_dir / "localhost.crt", s.tls_dir / "localhost.key"
        if not cert_path.exists() or not key_path.exists():
            self._run([
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", str(key_path), "-out", str(cert_path),
            ])
            os.chmod(key_path, 0o600)
        return str(cert_path), str(key_path)

    def render_nginx(self) -> Path:
        s = self.s
        tmp = s.nginx_dir / "tmp"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        s.run_dir.mkdir(parents=True, exist_ok=True)
        s.log_dir.mkdir(parents=True, exist_ok=True)
        user_line = ""
        if os.geteuid() == 0:
            user_line = "user www-data;"
            www = pwd.getpwnam("www-data")
            for path in [tmp, *tmp.iterdir()]:
                os.chown(path, www.pw_uid, www.pw_gid)
        cert, key = self._tls_files()
        for origin in s.cors_origins:
            if any(c in origin for c in " \t\"';{}\\"):
                raise SystemExit(f"CORS origin {origin!r} contains characters nginx cannot take")
        origin_map = "\n".join(f'        "{origin}" 1;' for origin in s.cors_origins)
        servers = "\n".join(
            f"        server {s.listen_host}:{port} max_fails=1 fail_timeout=5s;" for port in s.rasa_ports
        )
        values = {
            "USER_LINE": user_line, "RUN_DIR": str(s.run_dir), "LOG_DIR": str(s.log_dir),
            "NGINX_DIR": str(s.nginx_dir), "MAX_BODY": s.max_body, "RATE_LIMIT": s.rate_limit,
            "RATE_BURST": str(s.rate_burst), "CONN_LIMIT": str(s.conn_limit), "ORIGIN_MAP": origin_map,
            "REST_SERVERS": servers, "SOCKETIO_SERVERS": servers, "LISTEN_HOST": s.listen_host,
            "HTTP_PORT": str(s.http_port), "TLS_PORT": str(s.tls_port), "TLS_CERT": cert, "TLS_KEY": key,
        }
        (s.nginx_dir / "locations.conf").write_text(
            self._render((DEPLOY / "nginx" / "locations.conf.template").read_text(), values)
        )
        conf = s.nginx_dir / "nginx.conf"
        conf.write_text(self._render((DEPLOY / "nginx" / "nginx.conf.template").read_text(), values))
        return conf

    def start_nginx(self) -> None:
        if self.pid("nginx"):
            return
        nginx = _require("nginx", "nginx")
        conf = self.render_nginx()
        prefix = str(self.s.nginx_dir)
        check = subprocess.run([nginx, "-t", "-q", "-p", prefix, "-c", str(conf)], text=True, capture_output=True)
        if check.returncode != 0:
            raise SystemExit(f"nginx configuration is invalid:\n{check.stderr}")
        self._spawn("nginx", [nginx, "-p", prefix, "-c", str(conf), "-g", "daemon off;"], dict(os.environ), self.s.nginx_dir)

    # -- health -----------------------------------------------------------------------------
    def healthy(self, name: str) -> bool:
        s = self.s
        if name == "postgres":
            return self.pid("postgres") is not None and subprocess.run(
                [_pg_bin("pg_isready"), "-q", "-h", s.listen_host, "-p", str(s.postgres_port)]
            ).returncode == 0
        if name == "redis":
            return self.redis_ping()
        if name == "actions":
            return http_get(f"http://{s.listen_host}:{s.actions_port}/health") == 200
        if name.startswith("rasa-"):
            return http_get(self.rasa_url(name) + "/") == 200 and self.rasa_log_problem(name) is None
        if name == "nginx":
            return http_get(self.http_url + "/healthz") == 200
        raise ValueError(name)

    # Rasa falls back to an in-memory store with nothing but a warning when the configured
    # tracker store class cannot be imported; in a cluster that silently splits conversations.
    FATAL_LOG_LINES = ("Using `InMemoryTrackerStore` instead",)

    def rasa_log_problem(self, name: str) -> Optional[str]:
        log = self.s.log_dir / f"{name}.log"
        try:
            with open(log, "rb") as handle:
                handle.seek(self._log_offsets.get(name, 0))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return None
        text = text.rsplit("\n==== ", 1)[-1]  # this run only
        for line in self.FATAL_LOG_LINES:
            if line in text:
                return f"{name}: {line!r} in {log}: check deploy/rasa/endpoints.yml and PYTHONPATH"
        return None

    def wait_healthy(self, names: Sequence[str], timeout: Optional[float] = None) -> None:
        deadline = time.monotonic() + (timeout or self.s.start_timeout)
        pending = list(names)
        while pending:
            for name in list(pending):
                problem = self.rasa_log_problem(name) if name.startswith("rasa-") else None
                if problem:
                    raise RuntimeError(problem)
                if self.healthy(name):
                    pending.remove(name)
                elif name != "postgres" and self.pid(name) is None:
                    raise RuntimeError(f"{name} exited during start-up; see {self.s.log_dir / (name + '.log')}")
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout or self.s.start_timeout:.0f} s: {', '.join(pending)}")
            time.sleep(0.5)

    # -- whole cluster ------------------------------------------------------------------------
    def components(self) -> List[str]:
        return ["postgres", "redis", "actions", *self.s.rasa_names(), "nginx"]

    def busy_ports(self) -> List[int]:
        s = self.s
        ports = [s.postgres_port, s.redis_port, s.actions_port, *s.rasa_ports, s.http_port, s.tls_port]
        return [p for p in ports if _port_open(p)]

    def up(self) -> None:
        t0 = time.monotonic()
        self.start("postgres")
        self.start("redis")
        self.wait_healthy(["postgres", "redis"], timeout=60)
        self.start("actions")
        for name in self.s.rasa_names():
            self.start(name)
        self.wait_healthy(["actions", *self.s.rasa_names()])
        self.start("nginx")
        self.wait_healthy(["nginx"], timeout=30)
        print(f"cluster up in {time.monotonic() - t0:.0f} s")

    def down(self, purge: bool = False) -> None:
        for name in reversed(self.components()):
            self.stop(name)
        if purge and self.s.state_dir.exists():
            shutil.rmtree(self.s.state_dir)

    def start(self, name: str) -> None:
        if name == "postgres":
            self.start_postgres()
        elif name == "redis":
            self.start_redis()
        elif name == "actions":
            self.start_actions()
        elif name.startswith("rasa-"):
            self.start_rasa(name)
        elif name == "nginx":
            self.start_nginx()
        else:
            raise ValueError(f"unknown component {name!r}; one of {', '.join(self.components())}")

    def stop(self, name: str, timeout: float = 30) -> None:
        if name == "postgres":
            self.stop_postgres()
            return
        # nginx: SIGQUIT is its graceful shutdown; the Python servers take SIGTERM.
        sig = signal.SIGQUIT if name == "nginx" else signal.SIGTERM
        if self._signal_group(name, sig) is None:
            self._pidfile(name).unlink(missing_ok=True)
            return
        if not self._wait_gone(name, timeout):
            self._signal_group(name, signal.SIGKILL)
            self._wait_gone(name, 5)
        self._pidfile(name).unlink(missing_ok=True)

    def kill(self, name: str) -> None:
        """SIGKILL, no goodbye: the fault the tests inject."""
        if name == "postgres":
            pid = self.pid("postgres")
            if pid:
                os.kill(pid, signal.SIGKILL)
            return
        self._signal_group(name, signal.SIGKILL)
        self._wait_gone(name, 10)

    def restart(self, name: str, wait: bool = True) -> None:
        if name == "postgres":
            self.restart_postgres()
        else:
            self.stop(name)
            self.start(name)
        if wait:
            self.wait_healthy([name])

    def status(self) -> List[dict]:
        rows = []
        for name in self.components():
            rows.append({"name": name, "pid": self.pid(name), "healthy": self.healthy(name)})
        return rows

    @staticmethod
    def _render(template: str, values: Dict[str, str]) -> str:
        for key, value in values.items():
            template = template.replace(f"@@{key}@@", value)
        if "@@" in template:
            raise ValueError("unrendered placeholder: " + template[template.index("@@"):][:40])
        return template


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "start", "stop", "kill", "restart", "env", "render"])
    parser.add_argument("component", nargs="?", help="postgres, redis, actions, rasa-1, rasa-2, ..., nginx")
    parser.add_argument("--purge", action="store_true", help="with down: also delete build/prod (all data)")
    args = parser.parse_args(argv)
    cluster = Cluster()

    if args.command == "up":
        busy = [p for p in cluster.busy_ports() if not any(
            cluster.pid(n) for n in cluster.components())]
        if busy:
            print(f"ports already in use by something else: {busy}", file=sys.stderr)
            return 1
        try:
            cluster.up()
        except (RuntimeError, TimeoutError) as err:
            print(f"cluster-up failed: {err}", file=sys.stderr)
            return 1
        print(f"  REST     POST {cluster.base_url}/webhooks/rest/webhook")
        print(f"  socket.io     {cluster.base_url}/socket.io/")
        print(f"  TLS           {cluster.tls_url}/ (self-signed: {cluster.s.tls_dir / 'localhost.crt'})")
        print(f"  logs          {cluster.s.log_dir}")
        print("  stop with     make cluster-down")
        return 0
    if args.command == "down":
        cluster.down(purge=args.purge)
        print("cluster stopped" + (" and its data deleted" if args.purge else ""))
        return 0
    if args.command == "status":
        rows = cluster.status()
        for row in rows:
            print(f"  {row['name']:10} pid={row['pid'] or '-':<8} {'healthy' if row['healthy'] else 'DOWN'}")
        return 0 if all(r["healthy"] for r in rows) else 3
    if args.command == "env":
        for key, value in cluster.service_env().items():
            print(f"{key}={value}")
        print(f"TRACKER_DB_URL={cluster.db_url()}")
        return 0
    if args.command == "render":
        print(cluster.render_nginx())
        return 0
    if not args.component:
        parser.error(f"{args.command} needs a component")
    try:
        getattr(cluster, args.command)(args.component)
    except (RuntimeError, TimeoutError, ValueError) as err:
        print(f"{args.command} {args.component} failed: {err}", file=sys.stderr)
        return 1
    if args.command in {"start"}:
        cluster.wait_healthy([args.component])
    print(json.dumps({"component": args.component, "pid": cluster.pid(args.component)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
