"""The [program:*] sections of the production cluster's supervisord configuration
(deploy/cluster.py): one per service, each with only the environment it needs, so the
database passwords reach Rasa but not the action server, and no secret is on a command line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

from deploy.cluster_settings import DEPLOY, REPO, SECRET_KEYS, Settings, pg_bin, require
from deploy.supervise import program


class SupervisorPrograms:
    """Mixin of `Cluster`: needs `self.s`, `self.extra_env`, `self.secrets()`, `self.service_env()`."""

    s: Settings
    extra_env: Dict[str, str]

    def secrets(self) -> Dict[str, str]:  # pragma: no cover - provided by Cluster
        raise NotImplementedError

    def service_env(self) -> Dict[str, str]:  # pragma: no cover - provided by Cluster
        raise NotImplementedError

    def _python_env(self) -> Dict[str, str]:
        """What the action server and Rasa get on top of supervisord's (secret-free) environment."""
        env = {**self.extra_env, **self.service_env()}
        env.update(
            {
                "ACTION_SERVER_TOKEN": self.secrets()["ACTION_SERVER_TOKEN"],
                "SQL_POOL_SIZE": self.s.sql_pool_size,
                "SQL_MAX_OVERFLOW": self.s.sql_max_overflow,
            }
        )
        return env

    def _programs(self) -> str:
        s, py = self.s, self.s.python
        db_user = {"user": "postgres"} if os.geteuid() == 0 else {}
        sections = [
            program(
                "postgres",
                [
                    pg_bin("postgres"),
                    "-D",
                    str(s.pg_data),
                    "-p",
                    str(s.postgres_port),
                    "-k",
                    str(s.pg_socket_dir),
                    "-c",
                    f"listen_addresses={s.listen_host}",
                ],
                priority=10,
                autorestart="true",
                startsecs=2,
                stopsignal="INT",
                stopwaitsecs=60,
                **db_user,
            ),
            program(
                "redis",
                [require("redis-server", "redis-server"), str(s.redis_dir / "redis.conf")],
                priority=10,
                autorestart="true",
                directory=s.redis_dir,
            ),
        ]
        action_env = {k: v for k, v in self._python_env().items() if k not in {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}}
        action_env.update({"SANIC_HOST": s.listen_host, "SANIC_REQUEST_MAX_SIZE": s.actions_max_body})
        sections.append(
            program(
                "actions",
                [
                    py,
                    "-m",
                    "serving.action_server",
                    "--actions",
                    s.actions_package,
                    "--host",
                    s.listen_host,
                    "--port",
                    str(s.actions_port),
                ],
                priority=20,
                autorestart="true",
                directory=s.project_dir,
                environment=action_env,
            )
        )
        for name in s.rasa_names():
            sections.append(self._rasa_program(name))
        sections.append(
            program(
                "nginx",
                [
                    require("nginx", "nginx"),
                    "-p",
                    str(s.nginx_dir),
                    "-c",
                    str(s.nginx_dir / "nginx.conf"),
                    "-g",
                    "daemon off;",
                ],
                priority=40,
                autorestart="true",
                stopsignal="QUIT",
                directory=s.nginx_dir,
            )
        )
        sections.append(
            program(
                "logrotate",
                [py, str(DEPLOY / "logrotate.py"), "--watch", "--dir", str(s.log_dir), "--days", str(s.retention_days)],
                priority=50,
                autorestart="true",
            )
        )
        # Each program's output goes to LOG_DIR/<name>.log (deploy/logrotate.py rotates them).
        return "\n".join(
            sec + f"stdout_logfile = {s.log_dir}/{sec.split(']', 1)[0][len('[program:') :]}.log\n" for sec in sections
        )

    def _rasa_program(self, name: str) -> str:
        s = self.s
        if s.model is None or not Path(s.model).exists():
            raise SystemExit(
                f"no trained model in {s.project_dir / 'models'}: run `make train` first (or set MODEL=path.tar.gz)"
            )
        port = s.rasa_port(name)
        env = self._python_env()
        env["SANIC_REQUEST_MAX_SIZE"] = s.rasa_max_body
        # The same key on every instance: a socket.io session id survives a move between them.
        env["SOCKETIO_SESSION_SECRET"] = self.secrets()["SOCKETIO_SESSION_SECRET"]
        argv = [
            s.python,
            str(DEPLOY / "rasa_serve.py"),
            "run",
            "--model",
            str(s.model),
            "--endpoints",
            str(s.endpoints),
            "--credentials",
            str(s.credentials),
            "--interface",
            s.listen_host,
            "--port",
            str(port),
        ]
        if port in s.api_ports:
            argv.append("--enable-api")
            env["RASA_AUTH_TOKEN"] = self.secrets()["RASA_AUTH_TOKEN"]
        if s.cors_origins:
            argv += ["--cors", *s.cors_origins]
        return program(name, argv, priority=30, autorestart="true", directory=s.project_dir, environment=env)

    def _supervisord_env(self) -> Dict[str, str]:
        """supervisord's own environment, inherited by every program: no secret in it."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in SECRET_KEYS and k not in {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}
        }
        pythonpath = [str(self.s.project_dir), str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(pythonpath),
                "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
                "LOG_LEVEL_LIBRARIES": env.get("LOG_LEVEL_LIBRARIES", "ERROR"),
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                # A conversation's lock outlives an instance that dies holding it; Rasa's default
                # of 60 s would stall that conversation for a minute. A turn takes well under a
                # second, and the channel gives up on one after TURN_TIMEOUT_SECONDS (20).
                "TICKET_LOCK_LIFETIME": env.get("TICKET_LOCK_LIFETIME", "10"),
            }
        )
        return env
