"""Files the production cluster's services need before they start (deploy/cluster.py):
the PostgreSQL data directory and its settings, the Rasa role and database, the Redis and
nginx configuration and the TLS certificate. Each step is idempotent, so `make cluster-up`
can run again over an existing build/prod.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path
from typing import Dict, List

from deploy.cluster_settings import DEPLOY, Settings, pg_bin, require
from deploy.supervise import render, write_private


class ServiceFiles:
    """Mixin of `Cluster`: needs `self.s` (Settings) and `self.secrets()`."""

    s: Settings

    def secrets(self) -> Dict[str, str]:  # pragma: no cover - provided by Cluster
        raise NotImplementedError

    def _as_db_owner(self) -> List[str]:
        """Prefix that runs a PostgreSQL command as its (non-root) owner."""
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _chown_db(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise SystemExit(
                    "user 'postgres' is missing: run `make deploy-deps` (Debian package postgresql)"
                ) from None
            for path in paths:
                os.chown(path, pw.pw_uid, pw.pw_gid)

    def _pg_prepare(self) -> None:
        s = self.s
        s.pg_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(s.pg_dir, 0o755)  # the postgres user must reach its data below it
        self._chown_db(s.pg_dir)
        if (
            os.geteuid() == 0
            and subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(s.pg_dir)]).returncode
        ):
            raise SystemExit(
                f"the postgres user cannot reach {s.pg_dir}: a parent directory is not searchable by "
                "other users (chmod o+x on it) - or set PROD_DIR to a directory under one that is"
            )
        s.pg_socket_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(s.pg_socket_dir, 0o700)
        self._chown_db(s.pg_socket_dir)
        if not (s.pg_data / "PG_VERSION").exists():
            subprocess.run(
                self._as_db_owner()
                + [
                    pg_bin("initdb"),
                    "-D",
                    str(s.pg_data),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
        # Our settings and access rules, refreshed on every start.
        conf = (DEPLOY / "postgres" / "postgresql.conf").read_text()
        hba = render(
            (DEPLOY / "postgres" / "pg_hba.conf").read_text(),
            {"POSTGRES_DB": s.postgres_db, "POSTGRES_USER": s.postgres_user},
        )
        main_conf = s.pg_data / "postgresql.conf"
        text = main_conf.read_text()
        if "include_if_exists = 'production.conf'" not in text:
            text += "\n# deploy/postgres/postgresql.conf\ninclude_if_exists = 'production.conf'\n"
        for path, content in (
            (s.pg_data / "production.conf", conf),
            (s.pg_data / "pg_hba.conf", hba),
            (main_conf, text),
        ):
            path.write_text(content)
            self._chown_db(path)
            os.chmod(path, 0o600)
        old_link = s.log_dir / "postgres.log"  # deploy/cluster.py before supervisord linked it here
        if old_link.is_symlink():
            old_link.unlink()

    def _pg_bootstrap(self) -> None:
        """Create (or update) the Rasa role and database; the password comes in on stdin."""
        s = self.s
        password = self.secrets()["POSTGRES_PASSWORD"].replace("'", "''")
        user, db = s.postgres_user, s.postgres_db
        sql = f"""
            SELECT 'CREATE ROLE "{user}" LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{user}')\\gexec
            ALTER ROLE "{user}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}';
            SELECT 'CREATE DATABASE "{db}" OWNER "{user}"' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{db}')\\gexec
            REVOKE ALL ON DATABASE "{db}" FROM PUBLIC;
            """
        subprocess.run(
            self._as_db_owner()
            + [
                pg_bin("psql"),
                "-h",
                str(s.pg_socket_dir),
                "-p",
                str(s.postgres_port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
            ],
            input=sql,
            check=True,
            capture_output=True,
            text=True,
        )

    def _redis_conf(self) -> Path:
        s = self.s
        conf = render(
            (DEPLOY / "redis" / "redis.conf.template").read_text(),
            {
                "LISTEN_HOST": s.listen_host,
                "REDIS_PORT": str(s.redis_port),
                "REDIS_PASSWORD": self.secrets()["REDIS_PASSWORD"],
                "REDIS_DIR": str(s.redis_dir),
            },
        )
        path = s.redis_dir / "redis.conf"
        write_private(path, conf)
        return path

    def _tls_files(self) -> tuple:
        cert, key = os.environ.get("TLS_CERT"), os.environ.get("TLS_KEY")
        if cert and key:
            return cert, key
        s = self.s
        s.tls_dir.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = s.tls_dir / "localhost.crt", s.tls_dir / "localhost.key"
        if not cert_path.exists() or not key_path.exists():
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "30",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout",
                    str(key_path),
                    "-out",
                    str(cert_path),
                ],
                check=True,
                capture_output=True,
            )
            os.chmod(key_path, 0o600)
        os.chmod(cert_path, 0o644)  # public; nginx's workers and the clients read it
        return str(cert_path), str(key_path)

    def render_nginx(self) -> Path:
        s = self.s
        tmp = s.nginx_dir / "tmp"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        for path in (s.run_dir, s.log_dir):
            path.mkdir(parents=True, exist_ok=True)
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
        servers = "\n".join(
            f"        server {s.listen_host}:{port} max_fails=1 fail_timeout=5s;" for port in s.rasa_ports
        )
        values = {
            "USER_LINE": user_line,
            "RUN_DIR": str(s.run_dir),
            "LOG_DIR": str(s.log_dir),
            "NGINX_DIR": str(s.nginx_dir),
            "MAX_BODY": s.max_body,
            "RATE_LIMIT": s.rate_limit,
            "RATE_BURST": str(s.rate_burst),
            "CONN_LIMIT": str(s.conn_limit),
            "ORIGIN_MAP": "\n".join(f'        "{origin}" 1;' for origin in s.cors_origins),
            "REST_SERVERS": servers,
            "SOCKETIO_SERVERS": servers,
            "LISTEN_HOST": s.listen_host,
            "HTTP_PORT": str(s.http_port),
            "TLS_PORT": str(s.tls_port),
            "TLS_CERT": cert,
            "TLS_KEY": key,
        }
        (s.nginx_dir / "locations.conf").write_text(
            render((DEPLOY / "nginx" / "locations.conf.template").read_text(), values)
        )
        conf = s.nginx_dir / "nginx.conf"
        conf.write_text(render((DEPLOY / "nginx" / "nginx.conf.template").read_text(), values))
        check = subprocess.run(
            [require("nginx", "nginx"), "-t", "-q", "-p", str(s.nginx_dir), "-c", str(conf)],
            text=True,
            capture_output=True,
        )
        if check.returncode != 0:
            raise SystemExit(f"nginx configuration is invalid:\n{check.stderr}")
        return conf
