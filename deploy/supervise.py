#!/usr/bin/env python3
"""supervisord for both profiles: render its configuration, start it, and drive it.

One process manager that operators know replaces the project's own pid files and
process-group signalling. `scripts/run.sh --background` runs the Procfile's processes
under it (the same lines honcho runs in the foreground), and deploy/cluster.py runs the
production profile's services under it. Everything goes through supervisord's own
XML-RPC interface on a unix socket of mode 0700 (the same one `supervisorctl` uses).

    python deploy/supervise.py procfile-conf --procfile Procfile --dir run   # render
    .venv/bin/supervisorctl -c run/supervisord.conf status                   # operate

A fault is injected the way an operator would stop a process, plus a SIGKILL at once
(`Supervisor.kill`): supervisord then counts it as stopped and does not restart it,
while a process that crashes on its own is restarted where the program says so.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "deploy" / "supervisor" / "supervisord.conf.template"
STOPPED = {"STOPPED", "EXITED", "FATAL", "UNKNOWN"}
# supervisord's fault codes (supervisor.xmlrpc.Faults) that mean "already so".
ALREADY_STARTED, NOT_RUNNING = 60, 70


def tool(name: str) -> str:
    """supervisord / supervisorctl next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} was not found: run `make venv` (the pinned supervisor package)")
    return found


def render(template: str, values: Mapping[str, str]) -> str:
    """@@KEY@@ placeholders; a leftover one is an error, never a silent gap."""
    for key, value in values.items():
        template = template.replace(f"@@{key}@@", value)
    if "@@" in template:
        raise ValueError("unrendered placeholder: " + template[template.index("@@") :][:40])
    return template


def program(name: str, argv: Sequence[str], **options: object) -> str:
    """A [program:name] section. `argv` is quoted for supervisord's shlex parser and `%`
    is escaped (supervisord expands %(...)s); `environment` is a dict of extra variables."""
    env = dict(options.pop("environment", None) or {})  # type: ignore[call-overload]
    lines = [f"[program:{name}]", "command = " + " ".join(shlex.quote(a) for a in argv).replace("%", "%%")]
    defaults = {
        "autostart": "false",
        "startsecs": 1,
        "stopwaitsecs": 30,
        "redirect_stderr": "true",
        "stdout_logfile_maxbytes": 0,
        "stdout_logfile_backups": 0,
    }
    for key, value in {**defaults, **options}.items():
        lines.append(f"{key} = {value}")
    if env:
        pairs = ",".join(f'{k}="{_env_value(v)}"' for k, v in env.items())
        lines.append("environment = " + pairs)
    return "\n".join(lines) + "\n"


def _env_value(value: str) -> str:
    if any(c in value for c in '"\n\\'):
        raise ValueError("environment values for supervisord may not hold quotes, newlines or backslashes")
    return value.replace("%", "%%")


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


def read_procfile(path: Path) -> List[Tuple[str, str]]:
    """(name, command) per Procfile line, as honcho reads them."""
    entries = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip().replace("_", "").replace("-", "").isalnum():
            raise SystemExit(f"{path}: not a Procfile line: {line[:60]!r}")
        entries.append((name.strip(), command.strip()))
    return entries


def procfile_conf(procfile: Path, directory: Path, log_dir: Path, root: Path = REPO) -> str:
    """supervisord.conf for the Procfile's processes. Each line runs under /bin/sh (as in
    honcho) with the environment supervisord was started with (scripts/run.sh sets it);
    the lines write their own logs (`tee -a`), so supervisord keeps none."""
    sections = [
        program(
            name,
            ["/bin/sh", "-c", command],
            directory=root,
            autostart="true",
            autorestart="false",
            stopasgroup="true",
            killasgroup="true",
            stopwaitsecs=20,
            stdout_logfile="NONE",
        )
        for name, command in read_procfile(procfile)
    ]
    return render(
        TEMPLATE.read_text(),
        {
            "DIR": str(directory),
            "LOG_DIR": str(log_dir),
            "ROOT": str(root),
            "PROGRAMS": "\n".join(sections),
        },
    )


class Supervisor:
    """A supervisord whose configuration and socket live in one private directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.conf = self.dir / "supervisord.conf"
        self.socket = self.dir / "supervisor.sock"

    def _rpc(self):  # -> the `supervisor` namespace of the XML-RPC proxy
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return self._rpc().getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
            return False

    def launch(self, env: Optional[Dict[str, str]] = None, timeout: float = 20) -> None:
        """Start supervisord (it daemonizes) unless it already runs; else re-read the config."""
        if self.running():
            self.ctl("update")
            return
        self.socket.unlink(missing_ok=True)
        subprocess.run([tool("supervisord"), "-c", str(self.conf)], env=env, check=True)
        deadline = time.monotonic() + timeout
        while not self.running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not come up; see its log next to {self.conf}")
            time.sleep(0.2)

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([tool("supervisorctl"), "-c", str(self.conf), *args], text=True, capture_output=True)

    def info(self, name: str) -> Optional[dict]:
        if not self.running():
            return None
        try:
            return self._rpc().getProcessInfo(name)
        except xmlrpc.client.Fault:
            return None

    def state(self, name: str) -> str:
        info = self.info(name)
        return info["statename"] if info else "UNKNOWN"

    def pid(self, name: str) -> Optional[int]:
        info = self.info(name)
        return info["pid"] or None if info and info["statename"] in {"RUNNING", "STARTING", "STOPPING"} else None

    def start(self, name: str) -> None:
        try:
            self._rpc().startProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != ALREADY_STARTED:
                raise RuntimeError(f"{name} did not start ({fault.faultString}); see its log") from None

    def stop(self, name: str) -> None:
        try:
            self._rpc().stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != NOT_RUNNING:
                raise

    def stop_with(self, name: str, signal_name: str, timeout: float = 60) -> None:
        """Stop `name` with another signal than its stopsignal: KILL (a crash), or QUIT for
        PostgreSQL's immediate shutdown. supervisord marks it stopping first, so it is not
        restarted; then the signal goes out at once."""
        rpc = self._rpc()
        try:
            rpc.stopProcess(name, False)
            rpc.signalProcess(name, signal_name)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != NOT_RUNNING:
                raise
        deadline = time.monotonic() + timeout
        while self.state(name) not in STOPPED and time.monotonic() < deadline:
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        self.stop_with(name, "KILL", timeout=10)

    def shutdown(self, timeout: float = 120) -> None:
        """Stop every program (highest priority number first) and supervisord itself."""
        if not self.running():
            return
        self._rpc().shutdown()
        deadline = time.monotonic() + timeout
        while self.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.2)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Render supervisord configurations (see the module doc).")
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("procfile-conf", help="write DIR/supervisord.conf for a Procfile's processes")
    conf.add_argument("--procfile", type=Path, default=REPO / "Procfile")
    conf.add_argument("--dir", type=Path, required=True, help="where the config and the socket go")
    conf.add_argument("--log-dir", type=Path, help="supervisord's own log (default: --dir)")
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    text = procfile_conf(args.procfile.resolve(), directory, (args.log_dir or directory).resolve())
    write_private(directory / "supervisord.conf", text)
    print(directory / "supervisord.conf")
    return 0


if __name__ == "__main__":
    sys.exit(main())
